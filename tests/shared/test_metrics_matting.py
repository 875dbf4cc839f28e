"""Hand-worked checks of shared.metrics.matting, and its gradient error against the DIM code."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from shared.metrics.matting import (
    EDGE_BAND_RADIUS,
    MattingScores,
    edge_band,
    gradient_error,
    gradient_kernels,
    score_matte,
    summarise_mattes,
)


def step(h: int = 40, w: int = 40, at: int = 20) -> np.ndarray:
    """A GT whose columns >= `at` are foreground."""
    gt = np.zeros((h, w), np.uint8)
    gt[:, at:] = 255
    return gt


def test_hand_worked_mae_mse_sad() -> None:
    gt = np.array([[0, 255], [51, 102]], np.uint8)
    s = score_matte(np.zeros_like(gt), gt)
    # |diff| = 0, 1, 0.2, 0.4 in alpha units.
    assert s.mae == pytest.approx(1.6 / 4)
    assert s.mse == pytest.approx((1 + 0.04 + 0.16) / 4)
    assert s.sad == pytest.approx(1.6 / 1000)
    assert s.soft_fraction == 0.5  # 51 and 102


def test_a_perfect_prediction_scores_zero() -> None:
    gt = np.tile(np.arange(0, 250, 5, dtype=np.uint8), (30, 1))
    s = score_matte(gt.copy(), gt)
    assert (s.mae, s.mse, s.sad, s.grad, s.edge_band_mae) == (0, 0, 0, 0, 0)


def test_edge_band_of_a_step_is_the_boundary_dilated_by_the_radius() -> None:
    band = edge_band(step())
    # Boundary pixels: columns 19 and 20 (both classes in their 3x3); +-10 px: columns 9..30.
    assert np.array_equal(np.flatnonzero(band.any(axis=0)), np.arange(9, 31))
    assert band[:, 9:31].all()
    assert EDGE_BAND_RADIUS == 10


def test_edge_band_mae_counts_only_the_band() -> None:
    gt = step()
    pred = np.zeros_like(gt)
    # In the band (22 columns), columns 20..30 are wrong by 1; columns 31..39 are wrong too
    # but outside the band.
    s = score_matte(pred, gt)
    assert s.edge_band_mae == pytest.approx(11 / 22)
    assert s.mae == pytest.approx(20 / 40)


def test_soft_pixels_belong_to_the_edge() -> None:
    gt = np.zeros((30, 30), np.uint8)
    gt[15, 15] = 100  # a lone soft pixel: no binary boundary at all
    band = edge_band(gt)
    assert band[15, 15] and band[15, 5] and band[5, 15] and not band[15, 4]
    assert not band[0, 0]  # the disc does not reach the corner (distance > 10)


def test_no_edge_means_no_edge_band_score() -> None:
    gt = np.zeros((20, 20), np.uint8)
    assert score_matte(np.full_like(gt, 10), gt).edge_band_mae is None
    assert score_matte(np.zeros_like(gt), np.full_like(gt, 255)).edge_band_mae is None


def _dim_gradient_error(pred: np.ndarray, gt: np.ndarray, sigma: float = 1.4) -> float:
    """A direct port of the DIM/GCA evaluation code (2-D kernel, scipy convolve, float64)."""
    half = int(np.ceil(sigma * np.sqrt(-2 * np.log(np.sqrt(2 * np.pi) * sigma * 0.01))))
    u = np.arange(-half, half + 1)
    g = np.exp(-(u**2) / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi))
    hx = np.outer(g, -u * g / sigma**2)
    hx /= np.sqrt(np.sum(hx * hx))

    def amplitude(a: np.ndarray) -> np.ndarray:
        a = a / 255.0
        gx = ndimage.convolve(a, hx, mode="nearest")
        gy = ndimage.convolve(a, hx.T, mode="nearest")
        return np.sqrt(gx**2 + gy**2)

    return float(np.sum((amplitude(pred) - amplitude(gt)) ** 2) / 1000)


def test_gradient_error_matches_the_dim_code() -> None:
    rng = np.random.default_rng(3)
    pred = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    gt = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    assert gradient_error(pred, gt) == pytest.approx(_dim_gradient_error(pred, gt), rel=1e-5)
    assert gradient_error(step(), np.zeros((40, 40), np.uint8)) == pytest.approx(
        _dim_gradient_error(step(), np.zeros((40, 40), np.uint8)), rel=1e-5
    )


def test_gradient_kernel_is_nine_taps_for_sigma_1_4() -> None:
    smooth, derivative = gradient_kernels()
    assert smooth.shape == derivative.shape == (9,)
    assert derivative[4] == 0 and derivative[0] == -derivative[8]


def test_gradient_error_of_a_constant_shift_is_zero() -> None:
    gt = np.full((20, 20), 100, np.uint8)
    assert gradient_error(gt + 50, gt) == pytest.approx(0.0, abs=1e-12)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        score_matte(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError):
        score_matte(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))


def test_summary_is_the_plain_mean_and_skips_missing_bands() -> None:
    a = MattingScores(mae=0.1, mse=0.01, sad=2.0, grad=4.0, edge_band_mae=0.3, soft_fraction=0)
    b = MattingScores(mae=0.3, mse=0.03, sad=4.0, grad=6.0, edge_band_mae=None, soft_fraction=0.1)
    summary = summarise_mattes([a, b])
    assert summary.count == 2
    assert summary.mae == pytest.approx(0.2) and summary.sad == pytest.approx(3.0)
    assert summary.grad == pytest.approx(5.0) and summary.mse == pytest.approx(0.02)
    assert summary.edge_band_mae == pytest.approx(0.3)
    assert summary.soft_ground_truth and summary.to_dict()["count"] == 2
    assert not summarise_mattes([a]).soft_ground_truth
    with pytest.raises(ValueError):
        summarise_mattes([])
