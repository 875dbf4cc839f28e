"""Write the output picture as PNG, WebP or JPEG."""

from __future__ import annotations

from typing import Any, BinaryIO

from PIL import Image

from shared.errors import InvalidOption
from shared.options import OutputFormat
from worker.pipeline import png

MEDIA_TYPES: dict[str, str] = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
EXTENSIONS: dict[str, str] = {"png": "png", "webp": "webp", "jpeg": "jpg"}
# libwebp's settings for lossy WebP besides the quality, from the size/quality/time table of
# `python -m bench.webp` (docs/output.md): effort 2 instead of Pillow's 4, and the alpha plane
# quantised (alpha_quality 80: at most 1/255 off) instead of lossless, whose encoder was
# most of the time. About a quarter of the old time at a file no larger.
WEBP_SETTINGS: dict[str, Any] = {"method": 2, "alpha_quality": 80}


def encode_png(picture: Image.Image, target: BinaryIO, level: int, threads: int = 1) -> None:
    """PNG through the project's band-wise writer (worker/pipeline/png.py: 5-10x faster than
    libpng or Pillow here, no full-size copy), Pillow for modes it does not take."""
    if png.supports(picture):
        png.write_png(picture, target, level, threads)
    else:
        picture.save(target, "PNG", compress_level=level)


def encode(
    picture: Image.Image,
    target: BinaryIO,
    fmt: OutputFormat,
    *,
    quality: int = 90,
    png_compress_level: int = 1,
    threads: int = 1,
) -> None:
    """Encode `picture` into the open binary file `target` (`threads` for large PNGs)."""
    if fmt == "png":
        # Level chosen from a measured size/time table (bench/encode_levels.py): higher
        # levels cost several times the time for a few percent of size.
        encode_png(picture, target, png_compress_level, threads)
    elif fmt == "webp":
        picture.save(target, "WEBP", **{"quality": quality, **WEBP_SETTINGS})
    elif fmt == "jpeg":
        if picture.mode not in ("RGB", "L"):
            raise InvalidOption("jpeg cannot hold transparency; choose png or webp")
        picture.save(target, "JPEG", quality=quality)
    else:
        raise InvalidOption(f"unknown output format {fmt!r}")
