"""`cutout remove`: one image in, one file out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cutout.cli.options import build_options, fail, load_background, processing_options
from cutout.files import atomic_output
from shared.errors import CutoutError
from shared.settings import get_settings
from worker.pipeline.encode import EXTENSIONS
from worker.pipeline.run import process

FORMAT_BY_SUFFIX = {".png": "png", ".webp": "webp", ".jpg": "jpeg", ".jpeg": "jpeg"}


def _output_path(source: Path, output: Path | None, mode: str, fmt: str) -> Path:
    return output or Path(f"{source.stem}.{mode}.{EXTENSIONS[fmt]}")


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: <input stem>.<mode>.<ext> here); its suffix sets the format.",
)
@processing_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print the run's metrics and timings as JSON."
)
def remove(
    source: Path,
    output: Path | None,
    fmt: str | None,
    bg_image: Path | None,
    as_json: bool,
    **values: Any,
) -> None:
    """Cut the subject out of SOURCE."""
    if fmt is None and output is not None:
        fmt = FORMAT_BY_SUFFIX.get(output.suffix.lower())
    options = build_options(values, fmt)
    background = load_background(bg_image, options)
    target = _output_path(source, output, options.mode, options.output_format)
    try:
        with atomic_output(target) as handle:
            outcome = process(
                source, handle, options, settings=get_settings(), background=background
            )
    except CutoutError as exc:
        raise fail(exc, source) from exc
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps({"path": str(target), **outcome.to_dict()}, indent=2))
    else:
        width, height = outcome.output_size
        total = sum(outcome.timings_ms.values())
        click.echo(
            f"{target}: {width}x{height} {outcome.output_format}, {outcome.method}, {total:.0f} ms"
        )
