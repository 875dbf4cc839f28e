"""The model's input tensor: the image resized to the model's square, normalised, NCHW float32."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from worker.models.spec import ModelSpec

# Pillow first shrinks by an integer factor with a box filter, then resamples the rest with
# LANCZOS; at a gap of 3 its docs call the result indistinguishable from a plain LANCZOS
# resize, and a 25 MP image shrinks about 10x faster.
REDUCING_GAP = 3.0
# An image at least this many times the model's side in both directions is shrunk with
# OpenCV's area averaging instead: the proper filter for a large reduction, 3-6x faster than
# Pillow's at 1024 px. Smaller ones (the 300-400 px of ECSSD and SOD) keep LANCZOS, which
# also handles the mixed shrink-one-side, stretch-the-other case.
AREA_MIN_FACTOR = 2.0


def _resized(rgb: Image.Image, size: tuple[int, int]) -> np.ndarray:
    if rgb.width >= AREA_MIN_FACTOR * size[0] and rgb.height >= AREA_MIN_FACTOR * size[1]:
        return cv2.resize(np.asarray(rgb), size, interpolation=cv2.INTER_AREA)
    return np.asarray(rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP))


def model_input(rgb: Image.Image, spec: ModelSpec, *, exact_rembg: bool = False) -> np.ndarray:
    """The (1, 3, H, W) float32 tensor for `rgb`.

    Both paths follow rembg's normalisation (divide by the image maximum, then mean/std);
    `exact_rembg` also reproduces its plain LANCZOS resize and float64 arithmetic bit for bit.
    """
    if exact_rembg:
        small = np.asarray(rgb.resize(spec.input_size, Image.Resampling.LANCZOS))
        scaled = small / max(np.max(small), 1e-6)
        normalised = (scaled - np.array(spec.mean)) / np.array(spec.std)
        return np.ascontiguousarray(normalised.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
    small = _resized(rgb, spec.input_size)
    # (x / max - mean) / std as one multiply and one subtract per channel, written straight
    # into the NCHW tensor: no float HWC temporaries.
    std = np.array(spec.std, dtype=np.float32)
    gain = 1.0 / (max(float(small.max()), 1e-6) * std)
    offset = np.array(spec.mean, dtype=np.float32) / std
    width, height = spec.input_size
    tensor = np.empty((1, 3, height, width), dtype=np.float32)
    for channel in range(3):
        np.multiply(small[:, :, channel], gain[channel], out=tensor[0, channel], casting="unsafe")
        tensor[0, channel] -= offset[channel]
    return tensor
