"""`cutout batch`: a folder in, a folder out, a progress bar and a CSV report.

A bad file becomes a failed row in the report; the batch goes on past it. The report is
merged with an earlier one in the same place (cutout/cli/report.py), never overwritten.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cutout.cli.options import build_options, load_background, processing_options, usage
from cutout.cli.report import REPORT_FIELDS, merge_rows, read_report, write_report
from cutout.files import atomic_output, check_output
from shared.errors import CutoutError, OutputNotWritable
from shared.options import ProcessOptions
from shared.settings import get_settings
from worker.models.cpu import usable_cpus
from worker.pipeline.encode import EXTENSIONS
from worker.pipeline.run import process

IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".webp",
    ".heic",
    ".heif",
    ".avif",
    ".gif",
    ".bmp",
    ".tif",
    ".tiff",
}


def find_images(folder: Path) -> list[Path]:
    """The image files directly in `folder` (by suffix; hidden files skipped), sorted."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in IMAGE_SUFFIXES
    )


def plan_outputs(sources: list[Path], out_dir: Path, fmt: str) -> list[tuple[Path, Path]]:
    """`OUT_DIR/<stem>.<ext>`; a stem seen twice (a.jpg, a.png) keeps its old suffix too."""
    seen: set[str] = set()
    pairs = []
    for source in sources:
        stem = source.stem if source.stem not in seen else f"{source.stem}-{source.suffix[1:]}"
        seen.add(source.stem)
        pairs.append((source, out_dir / f"{stem}.{EXTENSIONS[fmt]}"))
    return pairs


def _row(source: Path, status: str, **fields: Any) -> dict[str, Any]:
    return {"input": str(source), "status": status, **fields}


def process_one(
    source: Path, target: Path, options: ProcessOptions, background: Any, strict: bool = False
) -> dict:
    """Process one file into `target` (written whole or not at all) and return its report row.

    `strict`: the model was named (--model), so it must run; no fallback to GrabCut.
    """
    settings = get_settings()
    if strict:
        settings = settings.model_copy(update={"fallback": False})
    try:
        with atomic_output(target) as handle:
            outcome = process(source, handle, options, settings=settings, background=background)
    except CutoutError as exc:
        return _row(source, "failed", error_code=exc.code, error=exc.message)
    metrics = outcome.proxy.to_dict()
    return _row(
        source,
        "succeeded",
        output=str(target),
        method=outcome.method,
        width=outcome.info.width,
        height=outcome.info.height,
        megapixels=outcome.info.megapixels,
        **{key: metrics.get(key) for key in REPORT_FIELDS if key in metrics},
        decode_ms=outcome.timings_ms.get("decode"),
        inference_ms=outcome.timings_ms.get("inference"),
        total_ms=round(sum(outcome.timings_ms.values()), 1),
    )


def _init_worker(threads: int) -> None:
    # Each worker process holds its own model session; split the CPUs between them.
    os.environ["CUTOUT_INFERENCE_THREADS"] = str(threads)
    get_settings.cache_clear()


def run_all(
    jobs: list[tuple[Path, Path]],
    options: ProcessOptions,
    background: Any,
    workers: int,
    strict: bool = False,
) -> Iterator[dict]:
    """Rows in completion order; with several workers, each is its own process."""
    if workers == 1:
        for source, target in jobs:
            yield process_one(source, target, options, background, strict)
        return
    threads = max(1, usable_cpus() // workers)
    count = len(jobs)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(threads,)) as pool:
        yield from pool.map(
            process_one,
            *zip(*jobs, strict=True),
            [options] * count,
            [background] * count,
            [strict] * count,
        )


def _prepare_out_dir(out_dir: Path, report_path: Path) -> dict[str, dict[str, Any]]:
    """Create OUT_DIR and check the report can be written; the earlier report's rows."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputNotWritable(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
    check_output(report_path)
    return read_report(report_path)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
    )


@click.command()
@click.argument("in_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@processing_options
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes, each with its own model session.",
)
@click.option("--skip-existing", is_flag=True, help="Leave inputs whose output already exists.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV report path (default: OUT_DIR/report.csv).",
)
def batch(
    in_dir: Path,
    out_dir: Path,
    fmt: str | None,
    bg_image: Path | None,
    workers: int,
    skip_existing: bool,
    report: Path | None,
    **values: Any,
) -> None:
    """Process every image in IN_DIR into OUT_DIR/<stem>.<ext>."""
    options = build_options(values, fmt)
    background = load_background(bg_image, options)
    report_path = report or out_dir / "report.csv"
    earlier = usage(lambda: _prepare_out_dir(out_dir, report_path), "OUT_DIR/--report")
    planned = plan_outputs(find_images(in_dir), out_dir, options.output_format)
    skipped = [pair for pair in planned if skip_existing and pair[1].exists()]
    todo = [pair for pair in planned if pair not in skipped]
    rows = [_row(source, "skipped", output=str(target)) for source, target in skipped]
    strict = values.get("model") is not None
    with _progress() as progress:
        task = progress.add_task("cutting out", total=len(todo))
        for row in run_all(todo, options, background, workers, strict):
            rows.append(row)
            if row["status"] == "failed":
                progress.console.print(f"[red]{row['input']}: {row['error_code']}: {row['error']}")
            progress.advance(task)
    usage(lambda: write_report(report_path, merge_rows(earlier, rows)), "--report")
    failed = sum(row["status"] == "failed" for row in rows)
    click.echo(
        f"{len(todo) - failed} done, {failed} failed, {len(skipped)} skipped; report: {report_path}"
    )
    if failed:
        raise SystemExit(1)
