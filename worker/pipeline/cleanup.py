"""The optional mask clean-up of the original service: drop specks, fill holes, smooth edges.

It runs on the model-resolution probability map (320x320 for u2netp): the model's detail lives
at that scale, and connected-component labels of a 25 MP mask would cost 100 MB of int32.
"""

from __future__ import annotations

import cv2
import numpy as np

# A blob smaller than this fraction of the largest one is a speck, not a second subject.
SPECK_FRACTION = 0.02
# An enclosed background region smaller than this fraction of the subject is a hole to fill;
# bigger ones (a mug's handle, the gap under an arm) are real.
HOLE_FRACTION = 0.01
# A 5-pixel median at model resolution removes stair-steps and one-pixel spurs while keeping
# the boundary where it was, unlike a blur.
MEDIAN_KERNEL = 5


def _components(binary: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        binary.astype(np.uint8), connectivity=8
    )
    return count, labels, stats[:, cv2.CC_STAT_AREA]


def remove_specks(probability: np.ndarray) -> np.ndarray:
    """Zero every foreground blob much smaller than the largest."""
    count, labels, areas = _components(probability >= 0.5)
    if count <= 2:
        return probability
    largest = areas[1:].max()
    specks = np.flatnonzero(areas < SPECK_FRACTION * largest)
    specks = specks[specks > 0]
    return np.where(np.isin(labels, specks), 0.0, probability).astype(np.float32)


def fill_holes(probability: np.ndarray) -> np.ndarray:
    """Set small background regions fully enclosed by the subject to foreground."""
    subject_area = int((probability >= 0.5).sum())
    count, labels, areas = _components(probability < 0.5)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    holes = [
        label
        for label in range(1, count)
        if label not in border and areas[label] < HOLE_FRACTION * subject_area
    ]
    if not holes:
        return probability
    return np.where(np.isin(labels, holes), 1.0, probability).astype(np.float32)


def smooth_boundary(probability: np.ndarray) -> np.ndarray:
    """Median-filter the map (8-bit, as cv2.medianBlur needs for a 5x5 kernel)."""
    as_bytes = np.rint(probability * 255).astype(np.uint8)
    return cv2.medianBlur(as_bytes, MEDIAN_KERNEL).astype(np.float32) / 255.0


def clean_mask(probability: np.ndarray) -> np.ndarray:
    """All three steps, in the order that keeps each from undoing another."""
    return smooth_boundary(fill_holes(remove_specks(probability)))
