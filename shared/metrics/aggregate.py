"""Dataset-level numbers from per-image scores, aggregated the way PySODMetrics reports them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from shared.metrics.ground_truth import MaskScores

# Scores reported as the plain mean over images.
_MEAN_FIELDS = (
    "mae",
    "mae_soft",
    "s_measure",
    "weighted_f",
    "iou",
    "dice",
    "precision",
    "recall",
    "accuracy",
)


@dataclass(frozen=True)
class DatasetSummary:
    """Dataset-level scores; max_f and mean_e come from the per-threshold mean curves."""

    count: int
    max_f: float
    mean_f: float
    mean_e: float
    mae: float
    mae_soft: float
    s_measure: float
    weighted_f: float
    iou: float
    dice: float
    precision: float
    recall: float
    accuracy: float

    def to_dict(self) -> dict[str, float | int]:
        """The summary as a JSON-ready dict."""
        return asdict(self)


class DatasetScores:
    """Collects per-image MaskScores by name and summarises them."""

    def __init__(self) -> None:
        self._scores: dict[str, MaskScores] = {}

    def __len__(self) -> int:
        return len(self._scores)

    def add(self, name: str, scores: MaskScores) -> None:
        """Record one image's scores; a name may be added once."""
        if name in self._scores:
            raise ValueError(f"image {name!r} was already added")
        self._scores[name] = scores

    def per_image(self) -> dict[str, dict[str, float]]:
        """The scalar scores of each image, by name, in the order they were added."""
        return {name: s.scalars() for name, s in self._scores.items()}

    def summary(self) -> DatasetSummary:
        """maxF/meanF over the mean F curve, meanE over the mean E curve, the rest plain means."""
        if not self._scores:
            raise ValueError("no images were added")
        scores = list(self._scores.values())
        # PySODMetrics averages the per-image curves first, then reduces over thresholds.
        f_curve = np.mean([s.f_curve for s in scores], axis=0)
        e_curve = np.mean([s.e_curve for s in scores], axis=0)
        means = {k: float(np.mean([getattr(s, k) for s in scores])) for k in _MEAN_FIELDS}
        return DatasetSummary(
            count=len(scores),
            max_f=float(f_curve.max()),
            mean_f=float(f_curve.mean()),
            mean_e=float(e_curve.mean()),
            **means,
        )
