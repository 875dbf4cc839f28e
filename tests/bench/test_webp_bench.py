"""bench/webp.py's quality measure and tables on a small synthetic cut-out (not speed)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bench.webp import GRID, encode, encode_table, markdown, visual_quality


def _cutout() -> Image.Image:
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (48, 64, 4), dtype=np.uint8)
    rgba[..., 3] = 0
    rgba[8:40, 8:56, 3] = 255
    rgba[2:8, :, 3] = np.linspace(0, 255, 64).astype(np.uint8)  # a soft edge: every level
    rgba[rgba[..., 3] == 0, :3] = 0
    return Image.fromarray(rgba, "RGBA")


def test_lossless_outputs_are_exact_and_lossy_ones_are_not() -> None:
    picture = _cutout()
    reference = np.asarray(picture)
    exact = visual_quality(reference, encode(picture, {"format": "png"}))
    assert exact == {"psnr_db": 99.0, "max_alpha_error": 0}
    lossy = visual_quality(reference, encode(picture, {"quality": 50, "method": 2}))
    assert 10 < lossy["psnr_db"] < 99
    coarse = visual_quality(reference, encode(picture, {"quality": 90, "alpha_quality": 10}))
    assert coarse["max_alpha_error"] > 0


def test_table_has_a_row_per_setting_and_renders() -> None:
    rows = encode_table([("synthetic", _cutout())], repeat=1)
    assert len(rows) == len(GRID) + 1 and all(row["bytes"] > 0 for row in rows)
    text = markdown(rows, [])
    assert text.count("\n") == len(GRID) + 2 and '"method": 4' in text
