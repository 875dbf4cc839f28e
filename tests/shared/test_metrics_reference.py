"""shared.metrics against PySODMetrics 1.6.2, run in its own venv (.venv-reference).

Tolerances:
- MAE, F curve / maxF, E curve / meanE, S-measure and the binary scores: 1e-9. They are
  computed from exact integer histograms with PySODMetrics' own float64 formulas, so they
  differ only by summation order (~1e-15 measured); 1e-9 still catches any real change.
- Weighted F: 1e-6. Its full-resolution maps are float32 here (memory at 25 MP) against
  float64 there; measured differences are below 1e-7.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from shared.metrics.aggregate import DatasetScores
from shared.metrics.ground_truth import MaskScores, score_mask
from shared.metrics.masks import load_ground_truth
from shared.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
REF_PYTHON = REPO_ROOT / ".venv-reference" / "bin" / "python"
REF_SCRIPT = REPO_ROOT / "tests" / "reference" / "pysod_reference.py"
EXACT_TOL = 1e-9
WF_TOL = 1e-6
BINARY = ("iou", "dice", "precision", "recall", "accuracy")
# Real masks used from each benchmark (first N by name), with a degraded copy as prediction.
REAL_SAMPLES = {"ECSSD": 4, "SOD": 3, "AIM-500": 3}

Pair = tuple[str, np.ndarray, np.ndarray]

pytestmark = pytest.mark.skipif(
    not REF_PYTHON.exists(),
    reason="no .venv-reference with pysodmetrics: run make test / make reference-env",
)


def run_reference(pairs: list[Pair], tmp_path: Path) -> dict:
    arrays = {"names": np.array([name for name, _, _ in pairs])}
    for i, (_, pred, gt) in enumerate(pairs):
        arrays[f"pred_{i}"], arrays[f"gt_{i}"] = pred, gt
    np.savez_compressed(tmp_path / "in.npz", **arrays)
    cmd = [str(REF_PYTHON), str(REF_SCRIPT), str(tmp_path / "in.npz"), str(tmp_path / "out.json")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads((tmp_path / "out.json").read_text())


def blob_field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    coarse = rng.integers(0, 256, (max(2, h // 20), max(2, w // 20)), dtype=np.uint8)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def degrade(gt: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """A plausible soft prediction: blurred, shifted, rescaled, noisy, clipped."""
    dy, dx = rng.integers(-8, 9, 2)
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    moved = cv2.warpAffine(gt, shift, (gt.shape[1], gt.shape[0]), flags=cv2.INTER_NEAREST)
    soft = cv2.GaussianBlur(moved, (0, 0), sigma).astype(np.float32) * rng.uniform(0.6, 1.0)
    soft += rng.normal(0, rng.uniform(0, 25), soft.shape) + rng.uniform(0, 30)
    return np.clip(soft, 0, 255).astype(np.uint8)


def synthetic_pairs() -> list[Pair]:
    rng = np.random.default_rng(20240601)
    pairs: list[Pair] = []
    for i, (h, w) in enumerate([(64, 96), (120, 160), (97, 131), (200, 150), (33, 250)] * 3):
        gt = np.where(blob_field(rng, h, w) > rng.integers(100, 180), np.uint8(255), np.uint8(0))
        pairs.append((f"blob{i}", degrade(gt, rng, rng.uniform(0.5, 6)), gt))
    gt = pairs[1][2]
    h, w = gt.shape
    noise = rng.integers(0, 256, (h, w), dtype=np.uint8)
    zeros, full = np.zeros_like(gt), np.full_like(gt, 255)
    soft_gt = blob_field(rng, h, w)  # a matte: PySODMetrics binarises it at > 128
    pairs += [
        ("perfect", gt.copy(), gt),
        ("inverted", 255 - gt, gt),
        ("empty_pred", zeros, gt),
        ("noise", noise, gt),
        ("constant", np.full_like(gt, 77), gt),
        ("empty_gt", noise, zeros),
        ("both_empty", zeros, zeros),
        ("full_gt", noise, full),
        ("full_both", full, full),
        ("soft_gt", degrade(soft_gt, rng, 2), soft_gt),
        ("narrow_range", (gt // 8 + 100).astype(np.uint8), gt),
    ]
    return pairs


def real_pairs() -> list[Pair]:
    dev = get_settings().eval_dir / "dev"
    rng = np.random.default_rng(7)
    pairs: list[Pair] = []
    for bench, count in REAL_SAMPLES.items():
        for path in sorted((dev / bench / "masks").glob("*.png"))[:count]:
            gt = load_ground_truth(path)
            pairs.append((f"{bench}/{path.stem}", degrade(gt, rng, rng.uniform(2, 8)), gt))
    return pairs


def assert_matches_reference(pairs: list[Pair], ref: dict) -> None:
    scores = DatasetScores()
    for (name, pred, gt), want in zip(pairs, ref["images"], strict=True):
        got = score_mask(pred, gt)
        scores.add(name, got)
        assert_image_matches(name, got, want, pred, gt)
    summary, ref_sum = scores.summary(), ref["dataset"]
    assert summary.count == ref_sum["count"]
    for key in ("max_f", "mean_e", "mae", "s_measure"):
        assert getattr(summary, key) == pytest.approx(ref_sum[key], abs=EXACT_TOL), key
    assert summary.weighted_f == pytest.approx(ref_sum["weighted_f"], abs=WF_TOL)


def assert_image_matches(
    name: str, got: MaskScores, want: dict, pred: np.ndarray, gt: np.ndarray
) -> None:
    for key in ("mae", "max_f", "mean_e", "s_measure"):
        assert getattr(got, key) == pytest.approx(want[key], abs=EXACT_TOL), (name, key)
    assert got.weighted_f == pytest.approx(want["weighted_f"], abs=WF_TOL), name
    # PySODMetrics stores the curves from threshold 255 down to 0.
    np.testing.assert_allclose(got.f_curve, want["f_curve"][::-1], rtol=0, atol=EXACT_TOL)
    np.testing.assert_allclose(got.e_curve, want["e_curve"][::-1], rtol=0, atol=EXACT_TOL)
    # Its binary scores use normalised pred > 0.5, which is our raw pred >= 128 only when
    # pred spans 0..255; both-empty scores 1.0 here and 0/0 -> 0 there.
    both_empty = not (pred >= 128).any() and not (gt > 128).any()
    if pred.min() == 0 and pred.max() == 255 and not both_empty:
        for key in BINARY:
            assert getattr(got, key) == pytest.approx(want[key], abs=EXACT_TOL), (name, key)


def test_synthetic_pairs_match_pysodmetrics(tmp_path: Path) -> None:
    pairs = synthetic_pairs()
    assert_matches_reference(pairs, run_reference(pairs, tmp_path))


@pytest.mark.eval
def test_real_masks_match_pysodmetrics(tmp_path: Path) -> None:
    if not (get_settings().eval_dir / "dev").is_dir():
        pytest.skip(f"no evaluation data in {get_settings().eval_dir}")
    pairs = real_pairs()
    assert len(pairs) == sum(REAL_SAMPLES.values())
    assert_matches_reference(pairs, run_reference(pairs, tmp_path))


def test_known_difference_s_measure_with_centroid_on_the_last_row(tmp_path: Path) -> None:
    # The GT centroid rounds to the last row, so the lower S-measure blocks are empty:
    # PySODMetrics averages empty slices and returns NaN; here they carry weight 0.
    gt = np.zeros((40, 50), np.uint8)
    gt[-1, 10:30] = 255
    pred = cv2.GaussianBlur(gt, (5, 5), 0)
    ref = run_reference([("last_row", pred, gt)], tmp_path)["images"][0]
    assert math.isnan(ref["s_measure"])
    got = score_mask(pred, gt)
    assert 0 < got.s_measure <= 1
    assert got.mae == pytest.approx(ref["mae"], abs=EXACT_TOL)
    assert got.max_f == pytest.approx(ref["max_f"], abs=EXACT_TOL)
