"""Read ground-truth masks and predicted masks from image files as uint8 HxW arrays (0..255).

The benchmarks store masks in several ways (see shared/eval/SOURCES.md): 0/255 greyscale
(ECSSD, DIS5K), 1-bit or 0/1 greyscale (SOD) and soft mattes saved as L, RGB with equal
channels or RGBA with an all-opaque alpha (AIM-500). Each form is normalised here, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

PathOrFile = str | Path | BinaryIO


def load_ground_truth(path_or_file: PathOrFile) -> np.ndarray:
    """Load a ground-truth mask or matte as uint8 HxW in 0..255 (0/1 masks become 0/255)."""
    with Image.open(path_or_file) as img:
        img.load()
        mode = img.mode
        if mode == "1":
            return _bool_to_u8(np.asarray(img))
        if mode in ("L", "P"):
            grey = np.asarray(img.convert("L"))
            return _scale_zero_one(grey)
        if mode in ("LA", "RGB", "RGBA"):
            return _grey_channel(np.asarray(img), colour_channels=1 if mode == "LA" else 3)
        if mode in ("I;16", "I;16B", "I;16L"):
            # 16-bit masks: keep the high byte, as an 8-bit export of the same matte would.
            return (np.asarray(img).astype(np.uint16) >> 8).astype(np.uint8)
    raise ValueError(f"unsupported ground-truth image mode {mode!r}")


def load_prediction(path_or_file: PathOrFile) -> np.ndarray:
    """Load a predicted mask (L image) or cutout (the alpha of an RGBA/LA image) as uint8 HxW."""
    with Image.open(path_or_file) as img:
        img.load()
        mode = img.mode
        if mode == "1":
            return _bool_to_u8(np.asarray(img))
        if mode == "L":
            return np.array(img)
        if mode in ("LA", "RGBA"):
            return np.array(img.getchannel("A"))
        if mode in ("P", "PA") and (mode == "PA" or "transparency" in img.info):
            return np.array(img.convert("RGBA").getchannel("A"))
    raise ValueError(f"a prediction must be an L mask or an image with alpha, not mode {mode!r}")


def _bool_to_u8(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, np.uint8(255), np.uint8(0))


def _scale_zero_one(grey: np.ndarray) -> np.ndarray:
    # SOD stores {0,1}; such a mask must become {0,255}, and ">0" (not ">127") is its rule.
    if grey.size and int(grey.max()) <= 1:
        return _bool_to_u8(grey > 0)
    return np.array(grey)


def _grey_channel(pixels: np.ndarray, *, colour_channels: int) -> np.ndarray:
    # AIM-500 mattes are grey RGB(A) with an opaque, meaningless A: the matte is channel 0.
    colour = pixels[..., :colour_channels]
    first = colour[..., 0]
    for c in range(1, colour_channels):
        if not np.array_equal(colour[..., c], first):
            raise ValueError("ground truth has unequal colour channels: not a grey mask")
    return _scale_zero_one(np.ascontiguousarray(first))
