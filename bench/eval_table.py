"""Render `cutout eval --json` results as the README's markdown table, beside published u2netp.

    .venv/bin/python -m bench.eval_table default=bench/results/eval_dev_default.json \\
        rembg=bench/results/eval_dev_compat_rembg.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = [
    ("max_f", "maxF"),
    ("mae", "MAE"),
    ("mae_soft", "MAE (soft GT)"),
    ("s_measure", "S"),
    ("mean_e", "mean E"),
    ("weighted_f", "wF"),
    ("iou", "IoU"),
    ("dice", "Dice"),
]


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    return "" if value is None else f"{value:.4f}"


def render(runs: dict[str, dict]) -> str:
    """One table: for each benchmark, a row per run and the published u2netp row."""
    lines = [
        f"| set | setting | n | {' | '.join(label for _, label in COLUMNS)} |",
        "| --- " * (len(COLUMNS) + 3) + "|",
    ]
    first = next(iter(runs.values()))
    for benchmark in first["benchmarks"]:
        for label, run in runs.items():
            row = run["benchmarks"][benchmark]
            cells = " | ".join(_cell(row, key) for key, _ in COLUMNS)
            lines.append(f"| {benchmark} | {label} | {row['count']} | {cells} |")
        published = first.get("published_u2netp", {}).get(benchmark)
        if published:
            cells = " | ".join(_cell(published, key) for key, _ in COLUMNS)
            lines.append(f"| {benchmark} | published u2netp (full set) | | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":
    pairs = [argument.split("=", 1) for argument in sys.argv[1:]]
    print(render({label: json.loads(Path(path).read_text()) for label, path in pairs}))
