"""Write the output picture as PNG, WebP or JPEG."""

from __future__ import annotations

from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image

from shared.errors import InvalidOption
from shared.options import OutputFormat

MEDIA_TYPES: dict[str, str] = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
EXTENSIONS: dict[str, str] = {"png": "png", "webp": "webp", "jpeg": "jpg"}

# libpng through OpenCV with the SUB filter and zlib's RLE strategy writes a cutout 2.3-2.5x
# faster than Pillow's encoder (which tries every filter on every row) for 1-2% more bytes
# (bench/encode_levels.py). It needs the pixels as one BGR(A) array: a full copy beside the
# picture. Above this size the copy would break the 25 MP memory budget, so Pillow encodes
# those in place.
OPENCV_PNG_MAX_PIXELS = 12_500_000
_CV2_PNG_TO_BGR = {"RGBA": cv2.COLOR_RGBA2BGRA, "RGB": cv2.COLOR_RGB2BGR}


def _encode_png_opencv(picture: Image.Image, target: BinaryIO, level: int) -> None:
    pixels = np.array(picture)
    if picture.mode in _CV2_PNG_TO_BGR:
        cv2.cvtColor(pixels, _CV2_PNG_TO_BGR[picture.mode], dst=pixels)  # in place: no 2nd copy
    params = [
        cv2.IMWRITE_PNG_COMPRESSION,
        level,
        cv2.IMWRITE_PNG_FILTER,
        cv2.IMWRITE_PNG_FILTER_SUB,
        cv2.IMWRITE_PNG_STRATEGY,
        cv2.IMWRITE_PNG_STRATEGY_RLE,
    ]
    ok, encoded = cv2.imencode(".png", pixels, params)
    if not ok:  # never seen; Pillow is always there to do it
        picture.save(target, "PNG", compress_level=level)
        return
    target.write(encoded.tobytes())


def encode_png(picture: Image.Image, target: BinaryIO, level: int) -> None:
    """PNG with the faster encoder the picture's size allows (same pixels either way)."""
    fits = picture.width * picture.height <= OPENCV_PNG_MAX_PIXELS
    if fits and picture.mode in ("RGBA", "RGB", "L"):
        _encode_png_opencv(picture, target, level)
    else:
        picture.save(target, "PNG", compress_level=level)


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
        encode_png(picture, target, png_compress_level)
    elif fmt == "webp":
        picture.save(target, "WEBP", quality=quality, method=4)
    elif fmt == "jpeg":
        if picture.mode not in ("RGB", "L"):
            raise InvalidOption("jpeg cannot hold transparency; choose png or webp")
        picture.save(target, "JPEG", quality=quality)
    else:
        raise InvalidOption(f"unknown output format {fmt!r}")
