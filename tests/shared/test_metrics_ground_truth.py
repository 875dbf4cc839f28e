"""Hand-worked checks of shared.metrics scores, mask loading and dataset aggregation."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared.metrics.aggregate import DatasetScores
from shared.metrics.ground_truth import score_mask
from shared.metrics.masks import load_ground_truth, load_prediction

# 4x4 ground truth: a 2x2 square, 4 foreground pixels of 16.
GT = np.array(
    [[0, 0, 0, 0], [0, 255, 255, 0], [0, 255, 255, 0], [0, 0, 0, 0]],
    dtype=np.uint8,
)
# Prediction: one GT pixel missed at (2,2), one extra pixel at (1,3).
PRED = np.array(
    [[0, 0, 0, 0], [0, 255, 255, 255], [0, 255, 0, 0], [0, 0, 0, 0]],
    dtype=np.uint8,
)


def disk(h: int, w: int, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    inside = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < r * r
    return np.where(inside, np.uint8(255), np.uint8(0))


def test_hand_worked_binary_scores() -> None:
    # TP = 3, FP = 1 (1,3), FN = 1 (2,2), TN = 16 - 5 = 11.
    s = score_mask(PRED, GT)
    assert s.iou == pytest.approx(3 / 5)  # TP / (TP + FP + FN)
    assert s.dice == pytest.approx(6 / 8)  # 2TP / (2TP + FP + FN)
    assert s.precision == pytest.approx(3 / 4)  # TP / (TP + FP)
    assert s.recall == pytest.approx(3 / 4)  # TP / (TP + FN)
    assert s.accuracy == pytest.approx(14 / 16)  # (TP + TN) / 16
    # pred already spans 0..255, so normalisation changes nothing: 2 wrong pixels of 16.
    assert s.mae == pytest.approx(2 / 16)
    assert s.mae_soft == pytest.approx(2 / 16)


def test_mae_normalises_the_prediction_like_pysodmetrics() -> None:
    # pred is 150 on the GT square, 50 elsewhere: min-max normalised it equals the GT.
    pred = np.where(GT > 0, np.uint8(150), np.uint8(50))
    s = score_mask(pred, GT)
    assert s.mae == 0.0
    assert s.max_f == pytest.approx(1.0)
    # Raw maps: 12 pixels off by 50, 4 pixels off by 105 -> (600 + 420) / (16 * 255).
    assert s.mae_soft == pytest.approx(1020 / (16 * 255))
    assert s.iou == 1.0  # 150 >= 128 and 50 < 128


def test_constant_prediction_is_not_normalised() -> None:
    # max == min: PySODMetrics keeps pred / 255 = 100/255 everywhere.
    # 12 background pixels off by 100/255, 4 foreground pixels off by 155/255.
    s = score_mask(np.full((4, 4), 100, np.uint8), GT)
    assert s.mae == pytest.approx((12 * 100 + 4 * 155) / (16 * 255))


def test_perfect_prediction() -> None:
    gt = disk(60, 80, 20)
    s = score_mask(gt.copy(), gt)
    for name in ("iou", "dice", "precision", "recall", "accuracy", "max_f"):
        assert getattr(s, name) == 1.0, name
    assert s.mae == 0.0
    assert s.mae_soft == 0.0
    assert s.s_measure == pytest.approx(1.0)
    assert s.weighted_f == pytest.approx(1.0)
    # Threshold 0 marks every pixel foreground, so the E curve is low there; above it the
    # alignment is perfect and E = N / (N - 1) (PySODMetrics divides by N - 1).
    n = gt.size
    assert s.e_curve[1:] == pytest.approx(np.full(255, n / (n - 1)))
    assert 0.99 < s.mean_e < 1.0


def test_inverted_prediction() -> None:
    s = score_mask(255 - GT, GT)
    for name in ("iou", "dice", "precision", "recall", "accuracy"):
        assert getattr(s, name) == 0.0, name
    assert s.mae == 1.0
    # Only threshold 0 (everything foreground) has TP > 0: P = 4/16, R = 1.
    p = 4 / 16
    assert s.max_f == pytest.approx(1.3 * p / (0.3 * p + 1))


def test_inverted_prediction_structure_scores() -> None:
    # On a 4x4 image the 7x7 smoothing reaches the zero padding and lifts weighted F to
    # ~0.25 (PySODMetrics too), so use an image larger than the kernel.
    gt = disk(60, 80, 20)
    s = score_mask(255 - gt, gt)
    assert s.weighted_f == 0.0
    assert s.s_measure == 0.0


def test_both_empty_agree_perfectly() -> None:
    empty = np.zeros((5, 7), np.uint8)
    s = score_mask(empty, empty)
    for name in ("iou", "dice", "precision", "recall", "accuracy", "s_measure"):
        assert getattr(s, name) == 1.0, name
    assert s.mae == 0.0
    # PySODMetrics conventions: no GT foreground gives weighted F 0 and an F curve of 0.
    assert s.weighted_f == 0.0
    assert s.max_f == 0.0


def test_empty_prediction_on_a_subject() -> None:
    s = score_mask(np.zeros_like(GT), GT)
    # No predicted foreground: precision is 0/0, scored 0.0 since the GT is not empty.
    assert (s.iou, s.dice, s.precision, s.recall) == (0.0, 0.0, 0.0, 0.0)
    assert s.accuracy == pytest.approx(12 / 16)


def test_prediction_on_an_empty_ground_truth() -> None:
    s = score_mask(PRED, np.zeros_like(GT))
    # Recall is 0/0 but the maps disagree, so 0.0; 4 false positives of 16 pixels.
    assert (s.iou, s.dice, s.precision, s.recall) == (0.0, 0.0, 0.0, 0.0)
    assert s.accuracy == pytest.approx(12 / 16)


def test_soft_ground_truth_foreground_is_above_128() -> None:
    gt = np.array([[128, 129], [0, 255]], np.uint8)  # 128 is background (PySODMetrics rule)
    pred = np.array([[0, 255], [0, 255]], np.uint8)
    s = score_mask(pred, gt)
    assert s.iou == 1.0
    assert s.mae == 0.0
    # Against the soft GT: |0-128| + |255-129| = 254 over 4 pixels.
    assert s.mae_soft == pytest.approx(254 / (4 * 255))


def test_curves_are_indexed_by_threshold_and_read_only() -> None:
    s = score_mask(PRED, GT)
    for curve in (s.precision_curve, s.recall_curve, s.f_curve, s.e_curve):
        assert curve.shape == (256,)
        assert not curve.flags.writeable
    # Threshold 0: everything is foreground.
    assert s.precision_curve[0] == pytest.approx(4 / 16)
    assert s.recall_curve[0] == 1.0
    # Threshold 255 keeps the 4 predicted pixels: P = R = 3/4, so F = 3/4.
    assert s.f_curve[255] == pytest.approx(0.75)
    assert s.max_f == pytest.approx(0.75)


def test_s_measure_is_finite_when_the_centroid_is_on_the_last_row() -> None:
    gt = np.zeros((10, 12), np.uint8)
    gt[-1, 2:8] = 255  # PySODMetrics returns NaN here (empty lower blocks)
    s = score_mask(gt.copy(), gt)
    assert math.isfinite(s.s_measure)
    assert s.s_measure == pytest.approx(1.0)


def test_scalars_holds_every_scalar_score() -> None:
    scalars = score_mask(PRED, GT).scalars()
    assert set(scalars) == {
        "iou",
        "dice",
        "precision",
        "recall",
        "accuracy",
        "mae",
        "mae_soft",
        "max_f",
        "s_measure",
        "mean_e",
        "weighted_f",
    }


@pytest.mark.parametrize(
    ("pred", "gt"),
    [
        (np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8)),
        (np.zeros((4, 4), np.float32), np.zeros((4, 4), np.uint8)),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8)),
        (np.zeros((4, 4), np.uint8), (GT > 0).astype(np.uint8)),  # a raw 0/1 mask
    ],
)
def test_rejects_bad_inputs(pred: np.ndarray, gt: np.ndarray) -> None:
    with pytest.raises(ValueError):
        score_mask(pred, gt)


# --- dataset aggregation ---------------------------------------------------------------


def test_dataset_max_f_is_the_max_of_the_mean_curve() -> None:
    gt = disk(40, 40, 12)
    soft = (gt // 2 + 60).astype(np.uint8)  # a weak but well-ordered prediction
    a, b = score_mask(gt.copy(), gt), score_mask(255 - soft, gt)
    scores = DatasetScores()
    scores.add("a", a)
    scores.add("b", b)
    summary = scores.summary()
    mean_curve = (a.f_curve + b.f_curve) / 2
    assert summary.count == 2 == len(scores)
    assert summary.max_f == pytest.approx(mean_curve.max())
    assert summary.mean_e == pytest.approx(((a.e_curve + b.e_curve) / 2).mean())
    assert summary.mae == pytest.approx((a.mae + b.mae) / 2)
    assert summary.iou == pytest.approx((a.iou + b.iou) / 2)
    assert set(scores.per_image()) == {"a", "b"}
    assert summary.to_dict()["count"] == 2


def test_dataset_rejects_duplicates_and_empty_summaries() -> None:
    scores = DatasetScores()
    with pytest.raises(ValueError):
        scores.summary()
    scores.add("x", score_mask(PRED, GT))
    with pytest.raises(ValueError):
        scores.add("x", score_mask(PRED, GT))


# --- mask loading --------------------------------------------------------------------------

MASK01 = (GT > 0).astype(np.uint8)


def save(tmp_path: Path, img: Image.Image, name: str = "m.png") -> Path:
    path = tmp_path / name
    img.save(path)
    return path


@pytest.mark.parametrize(
    "image",
    [
        Image.fromarray(GT > 0).convert("1"),  # SOD: 1-bit
        Image.fromarray(MASK01),  # SOD-like: L with values {0, 1}
        Image.fromarray(GT),  # ECSSD, DIS5K
        Image.fromarray(np.dstack([GT] * 3)),  # AIM-500 RGB matte
    ],
    ids=["mode1", "L01", "L0255", "RGB"],
)
def test_load_ground_truth_binary_forms(tmp_path: Path, image: Image.Image) -> None:
    mask = load_ground_truth(save(tmp_path, image))
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, GT)


def test_load_ground_truth_rgba_reads_the_matte_not_the_alpha(tmp_path: Path) -> None:
    matte = np.array([[0, 64], [128, 255]], np.uint8)
    rgba = np.dstack([matte] * 3 + [np.full_like(matte, 255)])
    mask = load_ground_truth(save(tmp_path, Image.fromarray(rgba)))
    np.testing.assert_array_equal(mask, matte)


def test_load_ground_truth_keeps_soft_values_and_reads_file_objects() -> None:
    matte = np.array([[0, 1, 2], [100, 200, 255]], np.uint8)
    buf = io.BytesIO()
    Image.fromarray(matte).save(buf, format="PNG")
    buf.seek(0)
    np.testing.assert_array_equal(load_ground_truth(buf), matte)


def test_load_ground_truth_rejects_colour_images(tmp_path: Path) -> None:
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    with pytest.raises(ValueError):
        load_ground_truth(save(tmp_path, Image.fromarray(rgb)))


def test_load_prediction_forms(tmp_path: Path) -> None:
    alpha = np.array([[0, 90], [180, 255]], np.uint8)
    rgb = np.full((2, 2, 3), 77, np.uint8)
    rgba = Image.fromarray(np.dstack([rgb, alpha]))
    la = Image.fromarray(np.dstack([np.full_like(alpha, 9), alpha]))
    for img in (Image.fromarray(alpha), rgba, la):
        np.testing.assert_array_equal(load_prediction(save(tmp_path, img)), alpha)
    with pytest.raises(ValueError):
        load_prediction(save(tmp_path, Image.fromarray(rgb)))
