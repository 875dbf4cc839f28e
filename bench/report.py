"""Markdown tables from bench/results/pipeline.json and cli_batch.json, for the README.

    .venv/bin/python -m bench.report [--results bench/results]

Only renders: every number comes from the JSON that bench/pipeline.py and bench/cli_batch.py
wrote, so the README's tables are reproduced by this one command.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
STAGE_COLUMNS = (
    "decode",
    "preprocess",
    "inference",
    "upscale",
    "refine",
    "metrics",
    "compose",
    "encode",
)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table; None shows as a dash."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join("-" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines)


def ms_spread(summary: dict | None) -> str | None:
    """'median (min-max)' in ms, or None."""
    if not summary:
        return None
    return f"{summary['median']:.0f} ({summary['min']:.0f}-{summary['max']:.0f})"


def times_x(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}x"


def percent(value: float | None) -> str | None:
    return None if value is None else f"{value:.0%}"


def verdict(passed: bool | None) -> str:
    return {True: "pass", False: "**fail**", None: "not measured"}[passed]


def machine_line(document: dict) -> str:
    """One line saying what the numbers were measured on and how busy it was."""
    machine = document["machine"]
    load = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    packages = ", ".join(f"{k} {v}" for k, v in machine.get("packages", {}).items())
    return (
        f"{machine['cpu_model']}, {machine['usable_cpus']} usable CPUs, Python "
        f"{machine['python']}; {packages}; load average at start/end {load[0]} / {load[1]}"
    )


def pipeline_rows(rows: list[dict]) -> list[list[Any]]:
    """The time/memory table's rows."""
    return [
        [
            row["size"],
            row["preset"],
            row["format"],
            row["method"] + (f" ({row['engine']})" if row.get("engine") else ""),
            ms_spread(row["end_to_end_ms"]),
            ms_spread((row.get("rembg") or {}).get("end_to_end_ms")),
            times_x(row["ratios"]["time"]),
            times_x(row["ratios"]["throughput"]),
            row.get("peak_rss_mb"),
            (row.get("rembg") or {}).get("peak_rss_mb"),
            times_x(row["ratios"]["peak_rss"]),
            percent(row["non_model_share"]),
        ]
        for row in rows
    ]


def stage_rows(rows: list[dict]) -> list[list[Any]]:
    """The stage breakdown's rows: medians per stage, and what no stage covers."""
    return [
        [row["size"], row["preset"], row["format"]]
        + [row["stages_ms"].get(stage) for stage in STAGE_COLUMNS]
        + [row["other_ms"], row["end_to_end_ms"]["median"]]
        for row in rows
    ]


def pipeline_tables(document: dict) -> str:
    """Time and memory vs rembg, the stage breakdown, and the targets."""
    rembg = document.get("rembg_versions") or {}
    parts = [
        f"`{document['command']}` on {machine_line(document)}; rembg "
        f"{rembg.get('rembg', 'not run')} (u2netp, remove + PNG save). "
        "ms: median (min-max) of steady-state calls, JPEG bytes in, encoded file out; "
        "ratios of medians; throughput = rembg time / ours; peak MB: a fresh process per row.",
        table(
            [
                "size",
                "preset",
                "format",
                "model",
                "ours ms",
                "rembg ms",
                "time ours/rembg",
                "throughput vs rembg",
                "peak MB ours",
                "peak MB rembg",
                "peak ours/rembg",
                "non-model",
            ],
            pipeline_rows(document["rows"]),
        ),
        "Stage medians (ms); other = end-to-end minus the stages (probe, option handling):",
        table(
            ["size", "preset", "format", *STAGE_COLUMNS, "other", "end-to-end"],
            stage_rows(document["rows"]),
        ),
        targets_table(document["targets"]),
    ]
    parts += [f"Note: {note}" for note in document.get("notes", [])]
    return "\n\n".join(parts)


def targets_table(targets: list[dict]) -> str:
    rows = []
    for target in targets:
        value = target["value"]
        shown = percent(value) if "share" in target["target"] else times_x(value)
        rows.append([target["target"], shown, target["needed"], verdict(target["pass"])])
    return table(["target", "measured", "needed", "result"], rows)


def cli_tables(document: dict) -> str:
    """Wall time of whole command lines over one folder, start-up included."""
    rows = [
        [
            f"`{run['command']}`",
            run["images"],
            f"{run['seconds']['median']:.1f} ({run['seconds']['min']:.1f}-"
            f"{run['seconds']['max']:.1f})",
            run["images_per_second"],
            times_x(run.get("speedup_vs_rembg")),
            ", ".join(f"{value:.2f}" for value in run.get("speedup_per_round", [])) or None,
            run.get("peak_rss_mb"),
        ]
        for run in document["runs"]
    ]
    return "\n\n".join(
        [
            f"`{document['command']}` on {machine_line(document)}. "
            "s: median (min-max) over rounds, each round all commands in turn, fresh outputs; "
            "speed-up: rembg's median over ours, then rembg's time over ours in each round.",
            table(
                [
                    "command",
                    "images",
                    "wall s",
                    "images/s",
                    "speed-up vs rembg",
                    "per round",
                    "peak MB",
                ],
                rows,
            ),
            targets_table(document["targets"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    renderers = {"pipeline.json": pipeline_tables, "cli_batch.json": cli_tables}
    for name, render in renderers.items():
        path = args.results / name
        if not path.exists():
            print(f"{path}: missing (run python -m bench.{name.removesuffix('.json')})\n")
            continue
        print(f"### {name.removesuffix('.json')}\n\n{render(json.loads(path.read_text()))}\n")


if __name__ == "__main__":
    main()
