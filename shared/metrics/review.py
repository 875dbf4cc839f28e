"""The review score: the estimated probability that a cut-out needs a person to look at it.

A logistic regression over cheap signals of one run: the quality proxies of the final alpha
(shared/metrics/proxy.py) and statistics of the model's own maps, above all how far u2netp's
six decoder-stage maps disagree with its fused map (free: one inference returns all seven).
Its coefficients were fitted on the dev split by scripts/fit_review_score.py and ship in
review_score.json beside this module; numpy is all it needs at run time.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from shared.metrics.proxy import CUT_OFF_SIDES, ProxyMetrics

COEFFICIENTS_FILE = Path(__file__).with_name("review_score.json")
SIDE_LEVEL = 0.5  # a map pixel >= 0.5 is subject, for the stage maps' votes
STAGES = 6  # u2net-family decoder stages with a map of their own
_CLIP = 1e-4  # keeps the entropy's logarithms finite
# Each reason names the features whose pull towards "needs review" it stands for, and when it
# may be named at all (a reason must describe the result, whatever the fitted signs).
REASON_FEATURES: dict[str, tuple[str, ...]] = {
    "subject_lost": ("raw_gap", "raw_fg_fraction", "small_subject", "fg_fraction"),
    "background_kept": ("bbox_fraction", "fg_fraction"),
    "subject_cut_off": ("cut_off", "touches_bottom", "centre_offset"),
    "several_subjects": ("components", "fill_ratio", "largest_share"),
    "uncertain_mask": (
        "side_mae",
        "side_gap_min",
        "side_gap_mean",
        *(f"side_gap_{k}" for k in range(1, 7)),
        "side_split",
        "side_fg_spread",
        "entropy",
        "confidence_gap",
        "uncertain_fraction",
        "raw_uncertain",
    ),
    "uncertain_edges": ("boundary_sharpness", "edge_alignment"),
    "subject_like_background": ("colour_separation",),
}
LOST_FRACTION, KEPT_FRACTION = 0.05, 0.5  # subject share under/over which those reasons apply
REASON_MIN_PULL = 0.25  # a reason is named when its features add this much to the log-odds


def model_signals(maps: np.ndarray, image: np.ndarray | None = None) -> dict[str, float]:
    """Statistics of the model's raw maps ((k, H, W), the fused saliency map first) and of
    how the fused map sits on the model's input `image` ((3, H, W), any linear scale).
    """
    raw = maps[0]
    fused = raw >= SIDE_LEVEL
    p = np.clip(raw, _CLIP, 1 - _CLIP)
    entropy = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    signals = {
        "raw_max": float(raw.max()),
        "raw_fg_fraction": float(fused.mean()),
        "raw_uncertain": float(np.mean((raw > 0.1) & (raw < 0.9))),
        "entropy": float(entropy.mean()),
    }
    signals |= _side_disagreement(maps[1:], raw, fused) | _shape(fused)
    return signals | _image_fit(image if image is not None else maps[:1].repeat(3, 0), fused)


def _image_fit(image: np.ndarray, fused: np.ndarray) -> dict[str, float]:
    """Whether the subject's outline follows edges of the picture, and how far its colours
    stand apart from the background's (a subject like its background is hard to cut)."""
    grey = np.ascontiguousarray(image.mean(axis=0), np.float32)
    gradient = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    subject = fused.astype(np.uint8)
    outline = (subject - cv2.erode(subject, np.ones((3, 3), np.uint8))).astype(bool)
    if not outline.any() or subject.all():
        return {"edge_alignment": 0.0, "colour_separation": 0.0}
    inside, outside = image[:, fused], image[:, ~fused]
    spread = np.sqrt(inside.var(axis=1) + outside.var(axis=1)) + 1e-6
    separation = np.abs(inside.mean(axis=1) - outside.mean(axis=1)) / spread
    return {
        "edge_alignment": float(gradient[outline].mean() / (gradient.mean() + 1e-6)),
        "colour_separation": float(separation.mean()),
    }


def _side_disagreement(sides: np.ndarray, raw: np.ndarray, fused: np.ndarray) -> dict[str, float]:
    """How far the stage maps stray from the fused one (none: no disagreement)."""
    if len(sides) == 0:
        sides = raw[None]
    sides = np.nan_to_num(sides[:STAGES])
    binary = sides >= SIDE_LEVEL
    inter = (binary & fused).sum(axis=(1, 2))
    union = (binary | fused).sum(axis=(1, 2))
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    stage_iou = np.concatenate([iou, np.ones(STAGES - len(iou))])
    votes = binary.sum(axis=0) + fused
    split = (votes > 0) & (votes < len(sides) + 1)
    subject = max(int(fused.sum()), 1)
    return {
        "side_mae": float(np.abs(sides - raw).mean()),
        "side_iou_min": float(iou.min()),
        "side_iou_mean": float(iou.mean()),
        # Pixels the maps do not agree on, against the subject's own size.
        "side_split": float(split.sum() / subject),
        "side_fg_spread": float(binary.sum(axis=(1, 2)).std() / subject),
        **{f"side_iou_{k + 1}": float(value) for k, value in enumerate(stage_iou)},
    }


def _shape(fused: np.ndarray) -> dict[str, float]:
    """The fused subject's largest part (share of the subject) and its centre's offset."""
    count, _, stats, centroids = cv2.connectedComponentsWithStats(
        fused.astype(np.uint8), connectivity=8
    )
    if count < 2:
        return {"largest_share": 0.0, "centre_offset": 1.0}
    areas = stats[1:, cv2.CC_STAT_AREA]
    largest = 1 + int(np.argmax(areas))
    height, width = fused.shape
    offset = (centroids[largest] - (width / 2, height / 2)) / (width / 2, height / 2)
    return {
        "largest_share": float(areas.max() / areas.sum()),
        "centre_offset": float(np.hypot(*offset)),
    }


def review_features(signals: dict[str, float], proxy: ProxyMetrics, size: tuple[int, int]) -> dict:
    """The score's inputs from the model's signals and the final alpha's proxies.

    Shares near 0 or 1 enter as logarithms of their distance from it, where differences that
    matter are small in absolute terms (an IoU of 0.99 against 0.9).
    """
    width, height = size
    bbox_fraction = proxy.bbox[2] * proxy.bbox[3] / (width * height) if proxy.bbox else 0.0
    fg = proxy.foreground_fraction
    features = {
        "fg_fraction": fg,
        "small_subject": math.log10(max(fg, 1e-4)),
        "bbox_fraction": bbox_fraction,
        "fill_ratio": fg / bbox_fraction if bbox_fraction > 0 else 0.0,
        "confidence_gap": _log(1 - proxy.mean_confidence),
        "uncertain_fraction": _log(proxy.uncertain_fraction),
        "boundary_sharpness": proxy.boundary_sharpness or 0.0,
        "components": math.log1p(proxy.components),
        "cut_off": float(sum(side in CUT_OFF_SIDES for side in proxy.touches_border)),
        "touches_bottom": float("bottom" in proxy.touches_border),
        "raw_gap": _log(1 - signals["raw_max"], 1e-4),
        "raw_fg_fraction": signals["raw_fg_fraction"],
        "raw_uncertain": _log(signals["raw_uncertain"]),
        "entropy": _log(signals["entropy"]),
        "side_mae": _log(signals["side_mae"]),
        "side_gap_min": _log(1 - signals["side_iou_min"]),
        "side_gap_mean": _log(1 - signals["side_iou_mean"]),
        "side_split": _log(signals["side_split"], 1e-2),
        "side_fg_spread": _log(signals["side_fg_spread"]),
        "largest_share": signals["largest_share"],
        "centre_offset": signals["centre_offset"],
        "edge_alignment": _log(signals["edge_alignment"], 1e-2),
        "colour_separation": _log(signals["colour_separation"], 1e-2),
    }
    for k in range(1, STAGES + 1):
        features[f"side_gap_{k}"] = _log(1 - signals[f"side_iou_{k}"])
    return features


def _log(value: float, floor: float = 1e-3) -> float:
    return math.log(max(value, 0.0) + floor)


def alpha_signals(alpha: np.ndarray, image: np.ndarray | None = None) -> dict[str, float]:
    """Signals for a mask no model made (the fallback): the alpha stands for the map;
    `image` is the picture at the alpha's size (H, W, 3), when there is one."""
    planes = None if image is None else np.moveaxis(image, -1, 0).astype(np.float32)
    return model_signals(alpha[None].astype(np.float32) / 255, planes)


@dataclass(frozen=True)
class ReviewModel:
    """Standardised logistic regression: score = sigmoid(b + w . (x - mean) / scale)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: float
    threshold: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReviewModel:
        """The model as review_score.json stores it."""
        return cls(
            features=tuple(data["features"]),
            mean=np.asarray(data["mean"], float),
            scale=np.asarray(data["scale"], float),
            weights=np.asarray(data["weights"], float),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
        )

    def pulls(self, features: dict[str, float]) -> np.ndarray:
        """Each feature's term in the log-odds."""
        x = np.array([features[name] for name in self.features], float)
        return np.asarray(self.weights * (x - self.mean) / self.scale)

    def score(self, features: dict[str, float]) -> float:
        """The probability that this result needs review."""
        logit = self.intercept + float(self.pulls(features).sum())
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, logit))))


@functools.cache
def shipped_model() -> ReviewModel:
    """The fitted model shipped beside this module."""
    return ReviewModel.from_dict(json.loads(COEFFICIENTS_FILE.read_text()))


@dataclass(frozen=True)
class Quality:
    """The review verdict of one result."""

    score: float
    needs_review: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {score, needs_review, reasons}."""
        return {
            "score": round(self.score, 4),
            "needs_review": self.needs_review,
            "reasons": list(self.reasons),
        }


def assess(
    features: dict[str, float],
    *,
    threshold: float | None = None,
    model: ReviewModel | None = None,
    forced: tuple[str, ...] = (),
) -> Quality:
    """Score `features`; flag at `threshold` (default: the model's operating point).

    `forced` reasons (e.g. the mask came from the fallback) flag the result whatever its
    score. A flagged result always names at least one reason.
    """
    model = model or shipped_model()
    score = model.score(features)
    needs_review = score >= (model.threshold if threshold is None else threshold) or bool(forced)
    reasons = forced + (_reasons(model, features) if needs_review else ())
    return Quality(score, needs_review, tuple(dict.fromkeys(reasons)))


def _reasons(model: ReviewModel, features: dict[str, float]) -> tuple[str, ...]:
    """The reasons whose features pull the score up most, strongest first."""
    pulls = dict(zip(model.features, model.pulls(features), strict=True))
    totals = {
        reason: sum(pulls.get(name, 0.0) for name in names)
        for reason, names in REASON_FEATURES.items()
        if _applies(reason, features)
    }
    ranked = sorted(totals, key=lambda reason: -totals[reason])
    named = [reason for reason in ranked if totals[reason] >= REASON_MIN_PULL]
    return tuple(named or ranked[:1])


def _applies(reason: str, features: dict[str, float]) -> bool:
    """Whether `reason` describes this result at all."""
    fg = features["fg_fraction"]
    checks = {
        "subject_lost": fg < LOST_FRACTION or features["raw_gap"] > math.log(0.1),
        "background_kept": fg > KEPT_FRACTION,
        "subject_cut_off": features["cut_off"] > 0,
        "several_subjects": features["components"] > math.log1p(1),
    }
    return checks.get(reason, True)
