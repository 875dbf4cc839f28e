"""Output encoders: each format decodes back to the same size and mode family."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shared.errors import InvalidOption
from worker.pipeline.encode import encode


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
    picture = Image.effect_noise((256, 256), 20).convert("RGB")
    sizes = []
    for level in (0, 9):
        buffer = io.BytesIO()
        encode(picture, buffer, "png", png_compress_level=level)
        sizes.append(len(buffer.getvalue()))
    assert sizes[1] < sizes[0]


def test_jpeg_refuses_transparency() -> None:
    with pytest.raises(InvalidOption, match="transparency"):
        encode(Image.new("RGBA", (4, 4)), io.BytesIO(), "jpeg")
