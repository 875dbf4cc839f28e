"""`cutout remove`: one image in, one file out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cutout.cli.options import (
    build_options,
    fail,
    load_background,
    processing_options,
    run_settings,
    usage,
)
from cutout.files import atomic_output, check_output, format_for
from shared.errors import CutoutError
from shared.imageinfo import input_warnings
from worker.pipeline.encode import EXTENSIONS
from worker.pipeline.run import process


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
    if output is not None and fmt is None:
        fmt = usage(lambda: format_for(output, None), "-o")
    options = build_options(values, fmt)
    if output is not None:  # a --format given with -o must match its suffix
        usage(lambda: format_for(output, options.output_format), "-o")
    background = load_background(bg_image, options)
    target = _output_path(source, output, options.mode, options.output_format)
    usage(lambda: check_output(target), "-o")
    try:
        with atomic_output(target) as handle:
            outcome = process(
                source, handle, options, settings=run_settings(values), background=background
            )
    except CutoutError as exc:
        raise fail(exc, source) from exc
    for warning in [*input_warnings(outcome.info), *outcome.warnings]:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps({"path": str(target), **outcome.to_dict()}, indent=2))
    else:
        width, height = outcome.output_size
        total = sum(outcome.timings_ms.values())
        click.echo(
            f"{target}: {width}x{height} {outcome.output_format}, {outcome.method}, {total:.0f} ms"
        )
