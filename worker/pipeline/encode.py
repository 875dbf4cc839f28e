"""Write the output picture as PNG, WebP or JPEG."""

from __future__ import annotations

from typing import BinaryIO

from PIL import Image

from shared.errors import InvalidOption
from shared.options import OutputFormat

MEDIA_TYPES: dict[str, str] = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
EXTENSIONS: dict[str, str] = {"png": "png", "webp": "webp", "jpeg": "jpg"}


def encode(
    picture: Image.Image,
    target: BinaryIO,
    fmt: OutputFormat,
    *,
    quality: int = 90,
    png_compress_level: int = 1,
) -> None:
    """Encode `picture` into the open binary file `target`."""
    if fmt == "png":
        # Level chosen from a measured size/time table (bench/encode_levels.py): higher
        # levels cost several times the time for a few percent of size.
        picture.save(target, "PNG", compress_level=png_compress_level)
    elif fmt == "webp":
        picture.save(target, "WEBP", quality=quality, method=4)
    elif fmt == "jpeg":
        if picture.mode not in ("RGB", "L"):
            raise InvalidOption("jpeg cannot hold transparency; choose png or webp")
        picture.save(target, "JPEG", quality=quality)
    else:
        raise InvalidOption(f"unknown output format {fmt!r}")
