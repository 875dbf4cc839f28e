"""docs/performance.md is the template filled from bench/results: regenerated, never edited."""

from __future__ import annotations

from bench.docs import MARKER, PAGE, TEMPLATE, render, renderers
from bench.report import RESULTS


def test_every_marker_has_a_table() -> None:
    names = set(MARKER.findall(TEMPLATE.read_text()))
    assert names and names <= set(renderers(RESULTS))


def test_the_page_is_current() -> None:
    assert PAGE.read_text() == render(), "regenerate it: .venv/bin/python -m bench.docs"


def test_tables_carry_their_numbers_and_dates() -> None:
    page = render()
    assert "{{" not in page and page.count("*Measured ") == len(renderers(RESULTS)) - 1
    assert "| rembg s (u2netp) |" in page and "| 25mp | best |" in page
