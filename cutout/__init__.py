"""Cutout as a library: the same pipeline as the service and the `cutout` command.

    from cutout import remove_background, change_background_color, cut_out
    remove_background("photo.jpg", "photo.png")
    change_background_color("photo.jpg", "white.jpg", "#ffffff")
    result = cut_out("photo.jpg"); result.mask, result.metrics.needs_review

The first two mirror the original service's functions; `cut_out` returns objects instead of
writing files. Options are the `ProcessOptions` fields (mode, bg_color, format, quality, crop,
crop_margin, max_size, cleanup, compat, model, and the framing and shadow ones: canvas,
padding, scale, horizontal_alignment, vertical_alignment, shadow, shadow_opacity, shadow_blur,
shadow_offset; docs/output.md); bad ones raise `shared.errors.InvalidOption`.
Every failure is a `shared.errors.CutoutError` with a stable `code`: a missing input file is
`input_not_found`, an output whose folder is missing or read-only `output_not_writable`, an
output suffix that names no format we write `invalid_option`. A model asked for by name
never falls back to GrabCut: if it cannot run, the call raises `model_unavailable`.

    remove_background("shoe.jpg", "shoe.webp", canvas="2000x2000", padding="10%",
                      vertical_alignment="bottom", shadow="contact")
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

from cutout.files import atomic_output, check_input, check_model, check_output, format_for
from shared.imageinfo import ImageInfo
from shared.metrics.proxy import ProxyMetrics
from shared.options import ProcessOptions
from shared.settings import Settings, get_settings
from worker.pipeline.run import Outcome, Source, make_picture, process

__all__ = ["Cutout", "change_background_color", "cut_out", "remove_background"]

Input = str | os.PathLike[str] | bytes | BinaryIO
Output = str | os.PathLike[str] | BinaryIO


@dataclass
class Cutout:
    """The result of `cut_out`: the output picture, the full-size mask and the quality proxies."""

    image: Image.Image
    mask: Image.Image
    metrics: ProxyMetrics
    method: str
    info: ImageInfo
    timings_ms: dict[str, float]
    # The subject's box in `image` (left, top, width, height); None when none was found.
    foreground: dict[str, int] | None = None


def _source(value: Input) -> Source:
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        check_input(path)
        return path
    return value


def _options(output: Output | None, options: dict[str, Any]) -> ProcessOptions:
    check_model(options.get("model"))
    if isinstance(output, str | os.PathLike):
        path = Path(output)
        check_output(path)
        options = {**options, "format": format_for(path, options.get("format"))}
    return ProcessOptions.parse(options)


def _settings(settings: Settings | None, options: dict[str, Any]) -> Settings:
    """The settings to run with: a model asked for by name must run, never the fallback."""
    settings = settings or get_settings()
    if options.get("model") is not None:
        return settings.model_copy(update={"fallback": False})
    return settings


def remove_background(
    input: Input, output: Output, *, settings: Settings | None = None, **options: Any
) -> Outcome:
    """Write `input` with its background removed to `output` (format from its suffix)."""
    background = options.pop("background", None)
    parsed = _options(output, options)
    run = functools.partial(
        process,
        _source(input),
        options=parsed,
        settings=_settings(settings, options),
        background=background,
    )
    if isinstance(output, str | os.PathLike):
        with atomic_output(Path(output)) as handle:
            return run(target=handle)
    return run(target=output)


def change_background_color(
    input: Input, output: Output, bg_color: str | tuple[int, ...], **options: Any
) -> Outcome:
    """Write `input` with its subject placed on a solid `bg_color`."""
    return remove_background(input, output, mode="color", bg_color=bg_color, **options)


def cut_out(input: Input, *, settings: Settings | None = None, **options: Any) -> Cutout:
    """Process `input` in memory and return the picture, mask and metrics as objects."""
    background = options.pop("background", None)
    picture, outcome = make_picture(
        _source(input),
        _options(None, options),
        settings=_settings(settings, options),
        background=background,
    )
    return Cutout(
        picture,
        outcome.mask,
        outcome.proxy,
        outcome.method,
        outcome.info,
        outcome.timings_ms,
        outcome.foreground,
    )
