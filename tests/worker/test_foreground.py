"""Foreground colour estimation at soft edges, on composites with a known foreground."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shared.options import ProcessOptions
from worker.pipeline.compose import render
from worker.pipeline.foreground import REACH, UNSEEN, blur_fusion, estimate_foreground


def _composite(width: int = 300, height: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observed, alpha, true foreground): warm F over a cool B, a wavy 20 px soft band."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    fg = np.stack([200 + 30 * np.sin(yy / 37), 120 + 40 * np.cos(xx / 53), 40 + 0 * xx], axis=-1)
    bg = np.stack([20 + 0 * xx, 90 + 60 * np.sin(xx / 29), 230 - 30 * np.cos(yy / 41)], axis=-1)
    edge = width / 2 + 25 * np.sin(yy / 23)  # the band wanders across tile boundaries
    a = np.clip((edge + 10 - xx) / 20, 0, 1)
    alpha = np.rint(a * 255).astype(np.uint8)
    a = alpha[..., None] / 255
    observed = np.rint(fg * a + bg * (1 - a)).astype(np.uint8)
    return observed, alpha, np.rint(fg).astype(np.uint8)


def _band_error(rgb: np.ndarray, fg: np.ndarray, alpha: np.ndarray) -> float:
    """Alpha-weighted mean |colour - true F| over the soft band, in grey levels."""
    soft = (alpha > 0) & (alpha < 255)
    weights = alpha[soft] / 255
    diff = np.abs(rgb[soft].astype(np.float64) - fg[soft]).mean(axis=1)
    return float((diff * weights).sum() / weights.sum())


def test_estimate_is_much_closer_to_the_foreground_than_the_observed_colour() -> None:
    observed, alpha, fg = _composite()
    out = estimate_foreground(Image.fromarray(observed), Image.fromarray(alpha))
    before, after = _band_error(observed, fg, alpha), _band_error(np.asarray(out), fg, alpha)
    # Observed: 46 grey levels off (the old blue shows through); the estimate: 14.
    assert before > 40
    assert after < before / 3


def test_only_soft_pixels_change_and_the_image_keeps_mode_and_size() -> None:
    observed, alpha, _ = _composite()
    rgb = Image.fromarray(observed)
    out = estimate_foreground(rgb, Image.fromarray(alpha))
    assert out is rgb  # written in place: no second full-size image
    assert out.mode == "RGB" and out.size == (300, 200)
    changed = np.any(np.asarray(out) != observed, axis=-1)
    soft = (alpha > 0) & (alpha < 255)
    assert not changed[~soft].any()
    assert changed[soft].mean() > 0.5


def test_strips_of_any_height_give_the_same_estimate() -> None:
    observed, alpha, _ = _composite()
    default = estimate_foreground(Image.fromarray(observed), Image.fromarray(alpha))
    # REACH-row strips: the band crosses a strip boundary every few pixels.
    tiny = estimate_foreground(Image.fromarray(observed), Image.fromarray(alpha), rows=REACH)
    assert np.array_equal(np.asarray(tiny), np.asarray(default))


def test_the_shrunk_large_pass_is_as_good_as_the_full_resolution_one() -> None:
    observed, alpha, fg = _composite(600, 400)
    whole = blur_fusion(observed, alpha)
    soft = (alpha > 0) & (alpha < 255)
    reference = observed.copy()
    reference[soft] = whole[soft]
    cheap = np.asarray(estimate_foreground(Image.fromarray(observed), Image.fromarray(alpha)))
    assert _band_error(cheap, fg, alpha) <= 1.05 * _band_error(reference, fg, alpha)
    cleaned = (alpha > UNSEEN) & (alpha < 255 - UNSEEN)
    assert np.abs(cheap.astype(int) - reference)[cleaned].mean() < 2


def test_alpha_near_0_or_255_keeps_its_colour_and_shows_under_3_levels_off() -> None:
    observed, alpha, fg = _composite()
    out = np.asarray(estimate_foreground(Image.fromarray(observed), Image.fromarray(alpha)))
    faint = ((alpha > 0) & (alpha <= UNSEEN)) | ((alpha < 255) & (alpha >= 255 - UNSEEN))
    assert faint.sum() > 50
    assert np.array_equal(out[faint], observed[faint])
    # What a composite shows of such a pixel, a * colour, is within 3 levels of a * F.
    a = alpha[faint, None] / 255
    assert np.abs(a * observed[faint] - a * fg[faint]).max() < 3


def test_an_image_without_soft_alpha_is_left_alone() -> None:
    observed, _, _ = _composite()
    hard = np.where(np.arange(300) < 150, 255, 0).astype(np.uint8)[None, :].repeat(200, 0)
    out = estimate_foreground(Image.fromarray(observed), Image.fromarray(hard))
    assert np.array_equal(np.asarray(out), observed)


def test_bad_inputs_are_refused() -> None:
    rgb, alpha = Image.new("RGB", (8, 8)), Image.new("L", (8, 8))
    with pytest.raises(ValueError, match="RGB image and an L alpha"):
        estimate_foreground(rgb.convert("RGBA"), alpha)
    with pytest.raises(ValueError, match="at least"):
        estimate_foreground(rgb, alpha, rows=REACH - 1)


def test_render_cleans_colours_when_asked() -> None:
    observed, alpha, fg = _composite()
    options = ProcessOptions.parse({"mode": "color", "bg_color": "white", "clean_colors": True})
    plain = ProcessOptions.parse({"mode": "color", "bg_color": "white", "clean_colors": False})
    clean = np.asarray(render(Image.fromarray(observed), Image.fromarray(alpha), options))
    dirty = np.asarray(render(Image.fromarray(observed), Image.fromarray(alpha), plain))
    a = alpha[..., None] / 255
    truth = fg * a + 255 * (1 - a)  # the subject as it would look on white
    soft = (alpha > 0) & (alpha < 255)
    assert np.abs(clean[soft] - truth[soft]).mean() < np.abs(dirty[soft] - truth[soft]).mean() / 2
