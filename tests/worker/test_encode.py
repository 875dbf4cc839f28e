"""Output encoders: each format decodes back to the same size and mode family."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from shared.errors import InvalidOption
from worker.pipeline.encode import encode, encode_png


@pytest.mark.parametrize(
    ("fmt", "mode", "expected_mode"),
    [
        ("png", "RGBA", "RGBA"),
        ("png", "L", "L"),
        ("webp", "RGBA", "RGBA"),
        ("jpeg", "RGB", "RGB"),
        ("jpeg", "L", "L"),
        ("webp", "RGB", "RGB"),
    ],
)
def test_round_trip(fmt: str, mode: str, expected_mode: str) -> None:
    buffer = io.BytesIO()
    encode(Image.new(mode, (33, 17)), buffer, fmt, quality=80)  # type: ignore[arg-type]
    buffer.seek(0)
    decoded = Image.open(buffer)
    assert decoded.format == {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt]
    assert decoded.size == (33, 17) and decoded.mode == expected_mode


def test_png_level_trades_size_for_time() -> None:
    picture = Image.radial_gradient("L").resize((256, 256)).convert("RGB")
    sizes = []
    for level in (0, 2):
        buffer = io.BytesIO()
        encode(picture, buffer, "png", png_compress_level=level)
        sizes.append(len(buffer.getvalue()))
    assert sizes[1] < sizes[0]


def test_jpeg_refuses_transparency() -> None:
    with pytest.raises(InvalidOption, match="transparency"):
        encode(Image.new("RGBA", (4, 4)), io.BytesIO(), "jpeg")


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "LA", "P", "I;16"])
def test_png_keeps_every_pixel_on_either_encoder(mode: str) -> None:
    """The project's writer for 8-bit grey and colour, Pillow's for the other modes."""
    rng = np.random.default_rng(3)
    if mode in ("P", "I;16"):
        picture = Image.fromarray(rng.integers(0, 256, (23, 41), dtype=np.uint8)).convert(mode)
    else:
        bands = len(mode)
        pixels = rng.integers(0, 256, (23, 41, bands), dtype=np.uint8)
        picture = Image.fromarray(pixels[:, :, 0] if bands == 1 else pixels, mode)
    buffer = io.BytesIO()
    encode_png(picture, buffer, 1, threads=2)
    decoded = Image.open(io.BytesIO(buffer.getvalue()))
    assert decoded.mode == mode
    assert np.array_equal(np.asarray(decoded), np.asarray(picture))
