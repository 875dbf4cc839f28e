"""Quality proxies of a predicted alpha matte when no ground truth exists.

Everything except the bounding box is computed on a copy whose long side is at most
WORK_MAX_SIDE (every n-th pixel), so the cost stays flat up to 25 MP inputs. The review
thresholds here are generic heuristics chosen by reasoning about what a plausible cutout
looks like; none was tuned on a data set. On the dev split they flagged failures no better
than chance, so the pipeline replaces their `needs_review` and `review_reasons` with the
fitted review score's verdict (shared/metrics/review.py, docs/quality.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# The model decides at 320 px; sampling the mask at that scale keeps the proxies flat in cost
# (1.2 ms at 1024 px against 3.1 at 512) and they describe what the model decided.
WORK_MAX_SIDE = 320
FG_LEVEL = 128  # alpha >= 128 (a >= ~0.5) counts as subject
UNCERTAIN_LOW, UNCERTAIN_HIGH = 0.1, 0.9  # 0.1 < a < 0.9 is neither clearly in nor out
MIN_COMPONENT_FRACTION = 0.001  # smaller specks (0.1% of the image) are noise, not subjects
# Review heuristics:
EMPTY_MAX_FRACTION = 0.001  # under 0.1% subject the cutout has, in effect, removed everything
FULL_MIN_FRACTION = 0.98  # over 98% subject it has, in effect, removed nothing
LOW_CONFIDENCE_MEAN = 0.75  # clean masks sit near 0/1 (~0.95); broad grey areas pull this down
LARGE_UNCERTAIN_FRACTION = 0.2  # a fifth of the image undecided is more than soft edges
MAX_COMPONENTS = 4  # a few separate subjects are normal; more suggests clutter or noise
# Subjects are often cropped at the bottom of the frame (portraits, people standing), so
# only contact with these sides suggests a subject that was cut off.
CUT_OFF_SIDES = ("top", "left", "right")


@dataclass(frozen=True)
class ProxyMetrics:
    """Ground-truth-free indicators of a predicted alpha; bbox is (x, y, w, h) at full res."""

    foreground_fraction: float
    bbox: tuple[int, int, int, int] | None
    mean_confidence: float
    uncertain_fraction: float
    boundary_sharpness: float | None
    components: int
    touches_border: tuple[str, ...]
    needs_review: bool
    review_reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The metrics as a JSON-ready dict (tuples become lists)."""
        return {
            "foreground_fraction": self.foreground_fraction,
            "bbox": list(self.bbox) if self.bbox else None,
            "mean_confidence": self.mean_confidence,
            "uncertain_fraction": self.uncertain_fraction,
            "boundary_sharpness": self.boundary_sharpness,
            "components": self.components,
            "touches_border": list(self.touches_border),
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
        }


def compute_proxy_metrics(alpha: np.ndarray) -> ProxyMetrics:
    """Proxies of cutout quality from a uint8 HxW alpha matte, without ground truth."""
    if alpha.dtype != np.uint8 or alpha.ndim != 2 or alpha.size == 0:
        raise ValueError("alpha must be a non-empty 2-D uint8 array")
    bbox = _bbox(alpha)
    touches = _touched_sides(bbox, alpha.shape)
    small = work_copy(alpha)
    fg_fraction, confidence, uncertain = _level_stats(small)
    components = _count_components(small)
    reasons = _review_reasons(fg_fraction, confidence, uncertain, components, touches)
    return ProxyMetrics(
        foreground_fraction=fg_fraction,
        bbox=bbox,
        mean_confidence=confidence,
        uncertain_fraction=uncertain,
        boundary_sharpness=_boundary_sharpness(small),
        components=components,
        touches_border=touches,
        needs_review=bool(reasons),
        review_reasons=reasons,
    )


def _bbox(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    fg = alpha >= FG_LEVEL
    rows = np.flatnonzero(fg.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(fg.any(axis=0))
    x, y = int(cols[0]), int(rows[0])
    return x, y, int(cols[-1]) - x + 1, int(rows[-1]) - y + 1


def _touched_sides(bbox: tuple[int, int, int, int] | None, shape: tuple[int, ...]) -> tuple:
    if bbox is None:
        return ()
    x, y, w, h = bbox
    height, width = shape
    touched = {"top": y == 0, "bottom": y + h == height, "left": x == 0, "right": x + w == width}
    return tuple(side for side, hit in touched.items() if hit)


def work_copy(alpha: np.ndarray) -> np.ndarray:
    """Every n-th pixel of `alpha`, so that its long side is at most WORK_MAX_SIDE."""
    # Every step-th pixel (a view, no copy): sampling keeps the alpha values as they are, so
    # a hard mask stays hard and noise stays noise; an area-averaging resize would invent
    # intermediate values and change what the confidence figures mean.
    step = math.ceil(max(alpha.shape) / WORK_MAX_SIDE)
    return alpha[::step, ::step] if step > 1 else alpha


def _level_stats(small: np.ndarray) -> tuple[float, float, float]:
    """Foreground fraction, mean |2a-1| and the 0.1 < a < 0.9 fraction, from one histogram."""
    hist = np.bincount(small.ravel(), minlength=256) / small.size
    a = np.arange(256) / 255
    fg = float(hist[FG_LEVEL:].sum())
    confidence = float(hist @ np.abs(2 * a - 1))
    uncertain = float(hist[(a > UNCERTAIN_LOW) & (a < UNCERTAIN_HIGH)].sum())
    return fg, confidence, uncertain


def _count_components(small: np.ndarray) -> int:
    fg = (small >= FG_LEVEL).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    areas = stats[1:n, cv2.CC_STAT_AREA]  # label 0 is the background
    return int(np.count_nonzero(areas >= MIN_COMPONENT_FRACTION * small.size))


def _boundary_sharpness(small: np.ndarray) -> float | None:
    """Mean alpha step between 4-neighbours on opposite sides of the 0.5 contour.

    1.0 is a hard binary edge; an edge ramping over k pixels scores about 1/k. Measured on
    the working copy, so it describes the mask at <= WORK_MAX_SIDE px. None when there is no
    contour (an empty or full mask).
    """
    a = small.astype(np.int16)
    fg = small >= FG_LEVEL
    steps = []
    for axis in (0, 1):
        crossing = np.diff(fg, axis=axis)  # True where the neighbours disagree
        steps.append(np.abs(np.diff(a, axis=axis))[crossing])
    step = np.concatenate(steps)
    return float(step.mean() / 255) if step.size else None


def _review_reasons(
    fg_fraction: float, confidence: float, uncertain: float, components: int, touches: tuple
) -> tuple[str, ...]:
    checks = {
        "empty_mask": fg_fraction < EMPTY_MAX_FRACTION,
        "mask_covers_almost_everything": fg_fraction > FULL_MIN_FRACTION,
        "low_confidence": confidence < LOW_CONFIDENCE_MEAN,
        "large_uncertain_area": uncertain > LARGE_UNCERTAIN_FRACTION,
        "many_components": components > MAX_COMPONENTS,
        "subject_cut_off": any(side in CUT_OFF_SIDES for side in touches),
    }
    return tuple(code for code, failed in checks.items() if failed)
