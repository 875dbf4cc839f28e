"""The optional mask clean-up at model resolution."""

from __future__ import annotations

import numpy as np

from worker.pipeline.cleanup import clean_mask, fill_holes, remove_specks, smooth_boundary


def _disc(size: int = 64, radius: int = 20) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return ((yy - size // 2) ** 2 + (xx - size // 2) ** 2 <= radius**2).astype(np.float32)


def test_specks_are_removed_and_the_subject_kept() -> None:
    probability = _disc()
    probability[2:4, 2:4] = 1.0
    cleaned = remove_specks(probability)
    assert cleaned[2:4, 2:4].max() == 0.0
    assert np.array_equal(cleaned >= 0.5, _disc() >= 0.5)


def test_a_second_subject_of_similar_size_stays() -> None:
    probability = np.zeros((64, 64), np.float32)
    probability[5:20, 5:20] = 1.0
    probability[40:55, 40:55] = 0.9
    assert np.array_equal(remove_specks(probability), probability)


def test_small_enclosed_holes_are_filled_big_ones_kept() -> None:
    probability = _disc(128, 50)
    probability[60:63, 60:63] = 0.0  # 9 px hole: filled
    probability[30:60, 70:100] = 0.0  # 900 px hole (> 1% of the subject): a real gap
    filled = fill_holes(probability)
    assert filled[60:63, 60:63].min() == 1.0
    assert filled[30:60, 70:100].max() == 0.0


def test_background_touching_the_border_is_never_filled() -> None:
    probability = np.ones((32, 32), np.float32)
    probability[0:3, 10:13] = 0.0
    assert np.array_equal(fill_holes(probability), probability)


def test_smoothing_removes_one_pixel_spurs_and_keeps_the_edge() -> None:
    probability = _disc()
    probability[32, 52:56] = 1.0  # a thin spur
    smoothed = smooth_boundary(probability)
    assert smoothed[32, 54] == 0.0
    assert abs(int((smoothed >= 0.5).sum()) - int((_disc() >= 0.5).sum())) < 30


def test_clean_mask_keeps_range_and_dtype() -> None:
    cleaned = clean_mask(np.random.default_rng(0).random((40, 40), dtype=np.float32))
    assert cleaned.dtype == np.float32 and cleaned.min() >= 0 and cleaned.max() <= 1
