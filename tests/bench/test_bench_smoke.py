"""bench/pipeline.py's core on a small photo with the tiny model: the JSON's shape, not speed.

rembg is left out (it lives in .venv-bench); the tables must still render without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.machine import machine_info
from bench.pipeline import (
    STAGES,
    Config,
    RecordingLoader,
    bench_image,
    plan,
    probe_ours,
    results_document,
)
from bench.report import pipeline_tables
from shared.settings import Settings

# The tiny model is the default, also for the fresh `probe` process (it reads the environment).
pytestmark = pytest.mark.usefixtures("tiny_default_model")


def test_rows_have_times_stages_and_ratios(photo: Path, tiny_settings: Settings) -> None:
    configs = plan({"tiny": 2}, best_rounds=1, extra_formats_at="tiny")
    loader = RecordingLoader(tiny_settings)
    rows = bench_image(
        "tiny", photo, configs, settings=tiny_settings, loader=loader, rembg=None, probe=False
    )
    document = json.loads(
        json.dumps(
            results_document(
                rows,
                machine=machine_info(),
                settings=tiny_settings,
                engines=loader.engines,
                rembg_versions=None,
                notes=["no rembg in tests"],
            )
        )
    )
    assert {(row["preset"], row["format"]) for row in document["rows"]} == {
        (preset, fmt) for preset in ("fast", "balanced", "best") for fmt in ("png", "webp", "jpeg")
    }
    for row in document["rows"]:
        assert row["method"] == "tiny" and row["rembg"] is None
        assert set(row["end_to_end_ms"]) == {"median", "min", "max", "n"}
        assert (
            {"decode", "preprocess", "inference", "upscale", "compose", "encode"}
            <= set(row["stages_ms"])
            <= set(STAGES)
        )
        assert 0 <= row["non_model_share"] <= 1
        assert row["ratios"] == {"time": None, "throughput": None, "peak_rss": None}
    best = [row for row in document["rows"] if row["preset"] == "best"]
    assert all("refine" in row["stages_ms"] and row["end_to_end_ms"]["n"] == 1 for row in best)
    assert {"cpu_model", "usable_cpus", "python", "packages"} <= set(document["machine"])
    assert "engine" in document["settings"] and "tiny" in document["engines"]
    # No 1024 px or 12 MP rows here: every target is reported as not measured.
    assert {target["pass"] for target in document["targets"]} == {None}
    assert "| tiny | fast | png |" in pipeline_tables(document)


def test_probe_reports_a_fresh_process_peak(photo: Path) -> None:
    peak = probe_ours(photo, Config("tiny", "fast", "png", 1), runs=1)
    assert peak is not None and peak > 0
