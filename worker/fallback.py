"""The OpenCV fallback: GrabCut seeded from a centre prior, for when the model cannot run.

Worse than the model on every benchmark, but a usable mask; results made this way say
`method: "opencv-grabcut"` so nobody mistakes them for the model's.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

METHOD = "opencv-grabcut"
# GrabCut is iterative over every pixel; at 512 px it takes well under a second.
WORK_SIDE = 512
ITERATIONS = 5
# The outer 3% is taken as sure background, the central 50% box as probable foreground:
# product photos and portraits put the subject in the middle.
BORDER = 0.03
CENTRE = 0.25


def _seed_mask(height: int, width: int) -> np.ndarray:
    seeds = np.full((height, width), cv2.GC_PR_BGD, dtype=np.uint8)
    band_y, band_x = max(1, round(BORDER * height)), max(1, round(BORDER * width))
    seeds[:band_y], seeds[-band_y:] = cv2.GC_BGD, cv2.GC_BGD
    seeds[:, :band_x], seeds[:, -band_x:] = cv2.GC_BGD, cv2.GC_BGD
    top, left = round(CENTRE * height), round(CENTRE * width)
    seeds[top : height - top, left : width - left] = cv2.GC_PR_FGD
    return seeds


def grabcut_mask(rgb: Image.Image) -> Image.Image:
    """A full-size 8-bit mask of the central subject of `rgb`."""
    small = rgb.copy()
    small.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR)
    bgr = cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2BGR)
    seeds = _seed_mask(*bgr.shape[:2])
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.grabCut(
        bgr,
        seeds,
        (0, 0, 0, 0),
        background_model,
        foreground_model,
        ITERATIONS,
        cv2.GC_INIT_WITH_MASK,
    )
    foreground = np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8) * 255
    # A light blur gives the upscaled edge a pixel or two of transition instead of stairs.
    softened = cv2.GaussianBlur(foreground, (5, 5), 0)
    return Image.fromarray(cv2.resize(softened, rgb.size, interpolation=cv2.INTER_LINEAR), mode="L")
