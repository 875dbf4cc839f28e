"""Composition modes, cropping and size limits on small synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shared.errors import InvalidOption
from shared.options import ProcessOptions
from worker.pipeline.compose import combine_alpha, render, subject_box


def _scene() -> tuple[Image.Image, Image.Image]:
    """40x20: red left, blue right; alpha 255 on the left, 128 in a middle band, 0 right."""
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :20] = (200, 30, 30)
    rgb[:, 20:] = (20, 40, 220)
    alpha = np.zeros((20, 40), np.uint8)
    alpha[:, :18] = 255
    alpha[:, 18:22] = 128
    return Image.fromarray(rgb), Image.fromarray(alpha)


def test_cutout_keeps_straight_colour_at_soft_edges() -> None:
    rgb, alpha = _scene()
    out = np.asarray(render(rgb, alpha, ProcessOptions()))
    assert out.shape == (20, 40, 4)
    # A half-transparent pixel keeps its full colour (rembg would store it darkened by alpha).
    assert tuple(out[5, 19]) == (200, 30, 30, 128)
    assert tuple(out[5, 21]) == (20, 40, 220, 128)
    # Fully transparent pixels carry no old background colour.
    assert tuple(out[5, 30]) == (0, 0, 0, 0)


def test_mask_mode_returns_the_alpha() -> None:
    rgb, alpha = _scene()
    out = render(rgb, alpha, ProcessOptions(mode="mask"))
    assert out.mode == "L" and np.array_equal(np.asarray(out), np.asarray(alpha))


def test_colour_background_blends_by_alpha() -> None:
    rgb, alpha = _scene()
    out = np.asarray(
        render(rgb, alpha, ProcessOptions.parse({"mode": "color", "bg_color": "#00ff00"}))
    )
    assert out.shape == (20, 40, 3)
    assert tuple(out[0, 0]) == (200, 30, 30)
    assert tuple(out[0, 39]) == (0, 255, 0)
    # 128/255 of red over green: 200*0.502 = 100, 30*0.502 + 255*0.498 = 142.
    assert np.allclose(out[0, 19], (100, 142, 15), atol=2)


def test_translucent_colour_gives_rgba() -> None:
    rgb, alpha = _scene()
    options = ProcessOptions.parse({"mode": "color", "bg_color": "0,255,0,128"})
    out = np.asarray(render(rgb, alpha, options))
    assert out.shape == (20, 40, 4)
    assert tuple(out[0, 39]) == (0, 255, 0, 128) and out[0, 0, 3] == 255


def test_image_background_covers_the_frame() -> None:
    rgb, alpha = _scene()
    background = Image.new("RGB", (10, 10), (9, 99, 199))
    out = np.asarray(render(rgb, alpha, ProcessOptions(mode="image"), background))
    assert out.shape == (20, 40, 3)
    assert tuple(out[0, 39]) == (9, 99, 199) and tuple(out[0, 0]) == (200, 30, 30)


def test_image_mode_without_a_background_is_refused() -> None:
    rgb, alpha = _scene()
    with pytest.raises(InvalidOption, match="background image"):
        render(rgb, alpha, ProcessOptions(mode="image"))


def test_crop_keeps_the_subject_and_its_margin() -> None:
    alpha = np.zeros((100, 100), np.uint8)
    alpha[40:60, 30:50] = 255
    box = subject_box(Image.fromarray(alpha), margin=0.1)
    assert box == (28, 38, 52, 62)
    out = render(
        Image.new("RGB", (100, 100)),
        Image.fromarray(alpha),
        ProcessOptions(crop=True, crop_margin=0.1),
    )
    assert out.size == (24, 24)


def test_crop_margin_is_clamped_to_the_image() -> None:
    alpha = np.zeros((50, 50), np.uint8)
    alpha[0:10, 0:10] = 255
    assert subject_box(Image.fromarray(alpha), margin=0.5) == (0, 0, 15, 15)


def test_crop_of_an_empty_mask_keeps_the_whole_frame() -> None:
    out = render(Image.new("RGB", (30, 20)), Image.new("L", (30, 20)), ProcessOptions(crop=True))
    assert out.size == (30, 20)


def test_max_size_shrinks_the_longer_side() -> None:
    rgb, alpha = _scene()
    out = render(rgb, alpha, ProcessOptions(max_size=20))
    assert out.size == (20, 10)


def test_input_transparency_survives() -> None:
    mask = Image.new("L", (4, 4), 255)
    input_alpha = Image.new("L", (4, 4), 0)
    assert np.asarray(combine_alpha(mask, input_alpha)).max() == 0
    assert combine_alpha(mask, None) is mask
