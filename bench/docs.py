"""Regenerate docs/performance.md from bench/results/*.json and its template.

    .venv/bin/python -m bench.docs [--check]

The prose lives in docs/templates/performance.md; every `{{name}}` in it is replaced by a
table rendered from the results, each headed by the date and machine it was measured on.
`--check` exits 1 when the page differs from what the results give (the tests run it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from bench.report import RESULTS, cli_tables, machine_line, pipeline_tables
from bench.tables import engines_table, memory_table, png_table, server_table, service_tables

DOCS = Path(__file__).resolve().parents[1] / "docs"
TEMPLATE = DOCS / "templates" / "performance.md"
PAGE = DOCS / "performance.md"
MARKER = re.compile(r"\{\{(\w+)\}\}")


def _load(results: Path, name: str) -> dict:
    return json.loads((results / f"{name}.json").read_text())


def _dated(document: dict, *, machine_shown: bool) -> str:
    machine = document.get("machine") or {}
    when = machine.get("date", "2026-11-22")  # results written before dates were recorded
    where = ""
    if not machine_shown:
        where = machine_line(document) if "cpu_model" in machine else machine.get("cpu", "")
    return f"*Measured {when}{' on ' + where if where else ''}.*"


def renderers(results: Path) -> dict[str, Callable[[], str]]:
    """Each marker's table, rendered on demand from its result file(s)."""

    def one(
        name: str, render: Callable[[dict], str], machine_shown: bool = False
    ) -> Callable[[], str]:
        def rendered() -> str:
            document = _load(results, name)
            return f"{_dated(document, machine_shown=machine_shown)}\n\n{render(document)}"

        return rendered

    return {
        "pipeline": one("pipeline", pipeline_tables, machine_shown=True),
        "pipeline_avx2": one("pipeline_avx2", pipeline_tables, machine_shown=True),
        "cli": one("cli_batch", cli_tables, machine_shown=True),
        "engines": one("engines", engines_table),
        "service": one("service", service_tables),
        "server": one("server_compare", server_table),
        "memory": one("memory", memory_table),
        "png": lambda: png_table(
            _load(results, "encode_levels_1024"), _load(results, "encode_levels_12mp")
        ),
    }


def render(results: Path = RESULTS, template: Path = TEMPLATE) -> str:
    """The page: the template with every marker replaced by its table."""
    tables = renderers(results)
    return MARKER.sub(lambda match: tables[match.group(1)](), template.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args()
    page = render(args.results)
    if args.check:
        current = PAGE.read_text() if PAGE.exists() else ""
        if current != page:
            print(f"{PAGE} is stale: run python -m bench.docs", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
