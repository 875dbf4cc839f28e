"""`cutout eval`: score the pipeline on benchmark folders, beside the published u2netp numbers."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cutout.cli.options import PRESET_OPTION, REFINE_EDGES_OPTION, build_options
from cutout.evaluation import BenchmarkResult, evaluate, find_benchmarks, peak_rss_mb
from cutout.published import find_reference_file, published_u2netp
from shared.settings import get_settings

COLUMNS = [
    ("max_f", "maxF"),
    ("mae", "MAE"),
    ("s_measure", "S"),
    ("mean_e", "meanE"),
    ("weighted_f", "wF"),
    ("iou", "IoU"),
    ("dice", "Dice"),
    ("precision", "P"),
    ("recall", "R"),
    ("accuracy", "Acc"),
    ("edge_band_mae", "edgeMAE"),
]
# Matting scores that mean something only against a soft matte (AIM-500), shown when a
# benchmark in the run has one.
SOFT_COLUMNS = [("mae_soft", "MAE soft"), ("sad", "SAD"), ("grad", "Grad")]


def _cell(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _table(results: list[BenchmarkResult], published: dict[str, dict[str, float]]) -> Table:
    table = Table(title="cutout eval")
    soft = [c for c in SOFT_COLUMNS if any(r.matting().soft_ground_truth for r in results)]
    labels = [label for _, label in COLUMNS + soft]
    for header in ["benchmark", "n", *labels, "s/img", "RSS MB"]:
        table.add_column(header, justify="left" if header == "benchmark" else "right")
    for result in results:
        summary = result.to_dict()
        is_soft = result.matting().soft_ground_truth
        table.add_row(
            result.name,
            str(summary["count"]),
            *(_cell(summary[key], 4) for key, _ in COLUMNS),
            *(
                _cell(summary[key] if is_soft else None, 4 if key == "mae_soft" else 1)
                for key, _ in soft
            ),
            f"{result.seconds_per_image:.3f}",
            _cell(result.peak_rss_mb, 0),
        )
        if result.name in published:
            row = published[result.name]
            cells = [_cell(row.get(key), 3) for key, _ in COLUMNS + soft]
            table.add_row("  published u2netp", "", *cells, "", "", style="dim")
    return table


@click.command(name="eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--compat", type=click.Choice(["rembg"]), help="Score rembg's exact u2netp mask.")
@PRESET_OPTION
@click.option("--model", help="Model name or ONNX path (default: the preset's).")
@REFINE_EDGES_OPTION
@click.option("--cleanup", is_flag=True, help="Apply the mask clean-up before scoring.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N images per benchmark.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def evaluate_command(
    folder: Path,
    compat: str | None,
    preset: str | None,
    model: str | None,
    refine_edges: bool | None,
    cleanup: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """Score the pipeline on FOLDER (images/ + masks/, or one such folder per benchmark)."""
    options = build_options(
        {
            "mode": "mask",
            "compat": compat,
            "preset": preset,
            "model": model,
            "refine_edges": refine_edges,
            "cleanup": cleanup,
        }
    )
    benchmarks = [b for b in find_benchmarks(folder, limit) if b.pairs]
    if not benchmarks:
        raise click.UsageError(f"{folder} holds no images/ + masks/ pairs")
    settings = get_settings()
    results = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        for benchmark in benchmarks:
            task = progress.add_task(benchmark.name, total=len(benchmark.pairs))
            results.append(evaluate(benchmark, options, settings, partial(progress.advance, task)))
    reference = find_reference_file(folder, settings.eval_dir)
    published = published_u2netp(reference) if reference else {}
    if as_json:
        click.echo(
            json.dumps(
                {
                    "options": options.model_dump(exclude_none=True),
                    "benchmarks": {r.name: r.to_dict() for r in results},
                    "published_u2netp": {
                        r.name: published[r.name] for r in results if r.name in published
                    },
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                },
                indent=2,
            )
        )
        return
    # Up to twenty columns do not fit 80; a pipe or CI log gets the full width, not "0.…".
    Console(width=max(Console().width, 200)).print(_table(results, published))
    click.echo(f"peak resident memory: {peak_rss_mb():.0f} MB")
