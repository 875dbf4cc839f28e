"""Per-image matte scores of a predicted alpha against a soft ground truth, and their means.

Conventions (alphas are uint8 0..255 read as a = v / 255; every score covers the whole image,
as AIM-500 evaluates automatic matting, not only a trimap's unknown region):
- ``mae``: mean |a_pred - a_gt|; ``mse``: mean (a_pred - a_gt)^2.
- ``sad``: sum |a_pred - a_gt| / 1000, the matting benchmarks' unit (Rhemann et al. 2009).
- ``grad``: Rhemann et al.'s gradient error as the DIM/AIM evaluation code computes it: each
  alpha (in [0, 1]) is filtered with first-derivative-of-Gaussian kernels, sigma 1.4, 9x9
  (half size ceil(sigma * sqrt(-2 ln(sqrt(2 pi) sigma 0.01))) = 4), the 2-D kernel
  g(y) g'(x) scaled to unit L2 norm, borders replicated; the error is
  sum over pixels of (|grad a_pred| - |grad a_gt|)^2, divided by 1000.
- ``edge_band_mae``: mean |a_pred - a_gt| over the pixels within EDGE_BAND_RADIUS px of the GT
  edge. The edge is the boundary of ``gt >= 128`` (pixels whose 3x3 neighbourhood holds both
  classes) together with every soft GT pixel (0 < gt < 255); it is dilated by a disc of
  radius EDGE_BAND_RADIUS. None when the GT has no edge (an all-0 or all-255 matte).

Only uint8 maps and float32 temporaries are made; sums are taken in int64 or float64.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import cv2
import numpy as np

EDGE_BAND_RADIUS = 10  # px either side of the GT edge (the "within 10 px")
GRAD_SIGMA = 1.4  # Rhemann et al.'s sigma, as in every matting benchmark's code
_GRAD_EPSILON = 0.01  # the DIM code's kernel truncation: the tail below 1% is dropped
SOFT_LOW, SOFT_HIGH = 0, 255  # strictly between these, a GT pixel is soft


@dataclass(frozen=True)
class MattingScores:
    """Matte scores of one prediction; edge_band_mae is None when the GT has no edge."""

    mae: float
    mse: float
    sad: float
    grad: float
    edge_band_mae: float | None
    soft_fraction: float  # share of GT pixels strictly between 0 and 255

    def to_dict(self) -> dict[str, float | None]:
        """The scores as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class MattingSummary:
    """Mean matte scores over a dataset (edge_band_mae over the images that have an edge)."""

    count: int
    mae: float
    mse: float
    sad: float
    grad: float
    edge_band_mae: float | None
    soft_fraction: float

    @property
    def soft_ground_truth(self) -> bool:
        """Whether the set's GT is a soft matte rather than a binary mask."""
        return self.soft_fraction > 0

    def to_dict(self) -> dict[str, float | int | None]:
        """The summary as a JSON-ready dict."""
        return asdict(self)


def score_matte(pred: np.ndarray, gt: np.ndarray) -> MattingScores:
    """Score a uint8 HxW alpha against a uint8 HxW soft ground truth."""
    if pred.dtype != np.uint8 or gt.dtype != np.uint8 or pred.ndim != 2:
        raise ValueError("pred and gt must be 2-D uint8 arrays")
    if pred.shape != gt.shape or pred.size == 0:
        raise ValueError(f"shape mismatch or empty: pred {pred.shape}, gt {gt.shape}")
    diff = cv2.absdiff(pred, gt)
    abs_sum = int(diff.sum(dtype=np.int64))
    # Squares of 0..255 fit int32 per pixel; the histogram keeps the sum exact and small.
    counts = np.bincount(diff.ravel(), minlength=256)
    sq_sum = float(counts @ (np.arange(256, dtype=np.float64) ** 2))
    band = edge_band(gt)
    band_pixels = int(np.count_nonzero(band))
    soft = int(np.count_nonzero((gt > SOFT_LOW) & (gt < SOFT_HIGH)))
    return MattingScores(
        mae=abs_sum / (255.0 * pred.size),
        mse=sq_sum / (255.0**2 * pred.size),
        sad=abs_sum / 255.0 / 1000.0,
        grad=gradient_error(pred, gt),
        edge_band_mae=_masked_mean(diff, band) / 255.0 if band_pixels else None,
        soft_fraction=soft / pred.size,
    )


def edge_band(gt: np.ndarray) -> np.ndarray:
    """uint8 map (1 inside) of the pixels within EDGE_BAND_RADIUS px of the GT edge."""
    fg = (gt >= 128).astype(np.uint8)
    square = np.ones((3, 3), np.uint8)
    meet = cv2.dilate(fg, square) - cv2.erode(fg, square)  # 1 where both classes meet
    edge = cv2.bitwise_or(meet, ((gt > SOFT_LOW) & (gt < SOFT_HIGH)).astype(np.uint8))
    size = 2 * EDGE_BAND_RADIUS + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(edge, disc)


def _masked_mean(values: np.ndarray, where: np.ndarray) -> float:
    return float(values.sum(where=where.astype(bool), dtype=np.int64)) / np.count_nonzero(where)


def gradient_kernels(sigma: float = GRAD_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """The separable parts (Gaussian, derivative of Gaussian) of the DIM gradient kernel."""
    half = math.ceil(
        sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * _GRAD_EPSILON))
    )
    x = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(x**2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
    dgauss = -x * gauss / sigma**2
    # The 2-D kernel g(y) g'(x) has L2 norm |g| |g'|; the DIM code divides by exactly that.
    norm = float(np.linalg.norm(gauss) * np.linalg.norm(dgauss))
    return gauss.astype(np.float32), (dgauss / norm).astype(np.float32)


def _gradient_magnitude(alpha: np.ndarray) -> np.ndarray:
    smooth, derivative = gradient_kernels()
    a = alpha.astype(np.float32)
    a *= np.float32(1 / 255)
    gx = cv2.sepFilter2D(a, cv2.CV_32F, derivative, smooth, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(a, cv2.CV_32F, smooth, derivative, borderType=cv2.BORDER_REPLICATE)
    del a
    return cv2.magnitude(gx, gy)


def gradient_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Rhemann et al.'s gradient error (sum of squared magnitude differences / 1000)."""
    diff = _gradient_magnitude(pred)
    diff -= _gradient_magnitude(gt)
    np.multiply(diff, diff, out=diff)
    return float(diff.sum(dtype=np.float64)) / 1000.0


def summarise_mattes(scores: Iterable[MattingScores]) -> MattingSummary:
    """Plain means over images; edge_band_mae over the images whose GT has an edge."""
    items = list(scores)
    if not items:
        raise ValueError("no images were scored")
    bands = [s.edge_band_mae for s in items if s.edge_band_mae is not None]
    return MattingSummary(
        count=len(items),
        mae=float(np.mean([s.mae for s in items])),
        mse=float(np.mean([s.mse for s in items])),
        sad=float(np.mean([s.sad for s in items])),
        grad=float(np.mean([s.grad for s in items])),
        edge_band_mae=float(np.mean(bands)) if bands else None,
        soft_fraction=float(np.mean([s.soft_fraction for s in items])),
    )
