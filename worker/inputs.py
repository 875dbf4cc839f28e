"""A job's extra inputs (background image, ground-truth mask) through the guarded decoder.

The same checks as the main image: the format allow-list and megapixel limit read from the
header (shared.imageinfo), truncation and decompression bombs refused, EXIF orientation
applied. A bad file fails the job with a 4xx code (`invalid_image`, `image_too_large`,
`unsupported_media_type`), never `internal_error`.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from shared.errors import InvalidImage
from shared.imageinfo import open_image, probe
from shared.metrics.masks import load_ground_truth
from worker.pipeline.decode import decode, load_pixels

# What ImageOps.exif_transpose does for each EXIF orientation, applied to a mask array.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def background_image(data: bytes, *, max_megapixels: float) -> Image.Image:
    """The background as 8-bit sRGB, oriented (its ICC profile converted, its alpha dropped)."""
    try:
        return decode(data, max_megapixels=max_megapixels).rgb
    except InvalidImage as exc:
        raise InvalidImage(f"background: {exc.message}") from exc


def truth_mask(data: bytes, *, max_megapixels: float) -> np.ndarray:
    """The ground-truth mask as uint8 HxW (0..255), oriented as displayed.

    Checked and fully decoded once through the guard, then read by the metrics' own mask
    reader, which knows every way the benchmarks store masks. ICC profiles are ignored on
    purpose: a mask's values are data, not colours.
    """
    info = probe(data, max_megapixels=max_megapixels)
    with open_image(data, max_megapixels=max_megapixels) as im:
        load_pixels(im)
    try:
        truth = load_ground_truth(io.BytesIO(data))
    except (ValueError, OSError, SyntaxError, EOFError) as exc:
        raise InvalidImage(f"mask: {exc}") from exc
    # Pillow applies a TIFF's orientation while loading (see shared.imageinfo).
    method = None if info.format == "TIFF" else _TRANSPOSE.get(info.orientation)
    if method is None:
        return truth
    return np.asarray(Image.fromarray(truth, mode="L").transpose(method))
