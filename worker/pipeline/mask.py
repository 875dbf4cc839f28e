"""From the model's saliency map to a full-resolution 8-bit mask."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image


def normalise(saliency: np.ndarray) -> np.ndarray:
    """Min-max stretch to [0, 1], as rembg does (a flat map becomes all zeros)."""
    low, high = float(saliency.min()), float(saliency.max())
    if high - low < 1e-12:
        return np.zeros_like(saliency, dtype=np.float32)
    return ((saliency - low) / (high - low)).astype(np.float32)


def to_full_size_rembg(probability: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """rembg's exact path: truncate to uint8 at model size, then LANCZOS up to `size`."""
    small = Image.fromarray((probability * 255).astype(np.uint8), mode="L")
    return small.resize(size, Image.Resampling.LANCZOS)


def to_full_size(probability: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """Our default: round (not truncate) to uint8, then bicubic up to `size` in 8 bits.

    Resizing the 8-bit map keeps the full-resolution buffer at 1 byte a pixel (a float32 map
    at 25 MP would be 100 MB).
    """
    small = np.rint(probability * 255).astype(np.uint8)
    full = cv2.resize(small, size, interpolation=cv2.INTER_CUBIC)
    return Image.fromarray(full, mode="L")
