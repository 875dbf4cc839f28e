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

from cutout.files import atomic_output
from shared.imageinfo import ImageInfo
from shared.metrics.proxy import ProxyMetrics
from shared.options import ProcessOptions
from shared.settings import Settings, get_settings
from worker.pipeline.run import Outcome, Source, make_picture, process

__all__ = ["Cutout", "change_background_color", "cut_out", "remove_background"]

Input = str | os.PathLike[str] | bytes | BinaryIO
Output = str | os.PathLike[str] | BinaryIO
SUFFIX_FORMATS = {".png": "png", ".webp": "webp", ".jpg": "jpeg", ".jpeg": "jpeg"}


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
    return Path(value) if isinstance(value, str | os.PathLike) else value


def _options(output: Output | None, options: dict[str, Any]) -> ProcessOptions:
    if isinstance(output, str | os.PathLike) and "format" not in options:
        options = {**options, "format": SUFFIX_FORMATS.get(Path(output).suffix.lower())}
    return ProcessOptions.parse(options)


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
        settings=settings or get_settings(),
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
        ProcessOptions.parse(options),
        settings=settings or get_settings(),
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
