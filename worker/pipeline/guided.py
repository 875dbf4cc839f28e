"""The fast guided filter (He & Sun 2015) that carries a working-copy alpha to full size.

Its coefficients are found on the small working copy, resampled to full resolution and applied
to the full-resolution colours tile by tile, only where the band needs them: no full-size
float buffer is ever made.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image

GUIDE_RADIUS = 1  # window radius, working-copy pixels (2: same scores on AIM-500 dev)
GUIDE_EPS = 1e-4  # its regulariser, colours in [0, 1] (1e-3, 1e-5: same)
TILE = 512  # full-resolution tile side


def _box(values: np.ndarray) -> np.ndarray:
    size = 2 * GUIDE_RADIUS + 1
    return cv2.blur(values, (size, size), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, alpha: np.ndarray) -> list[np.ndarray]:
    """Mean guided-filter coefficients [a_r, a_g, a_b, b] of `alpha` under the colour guide."""
    channels = [guide[..., c] for c in range(3)]
    means = [_box(c) for c in channels]
    mean_alpha = _box(alpha)
    cov = [_box(c * alpha) - m * mean_alpha for c, m in zip(channels, means, strict=True)]
    var = {
        (i, j): _box(channels[i] * channels[j]) - means[i] * means[j] + (GUIDE_EPS if i == j else 0)
        for i in range(3)
        for j in range(i, 3)
    }
    inverse = _symmetric_inverse(var)
    slopes = [sum(inverse[min(i, j), max(i, j)] * cov[j] for j in range(3)) for i in range(3)]
    offset = mean_alpha - sum(s * m for s, m in zip(slopes, means, strict=True))
    return [_box(s) for s in slopes] + [_box(offset)]


def _symmetric_inverse(m: dict[tuple[int, int], np.ndarray]) -> dict[tuple[int, int], np.ndarray]:
    """Element-wise inverse of 3x3 symmetric matrices given by their upper triangle."""
    a, b, c, d, e, f = (m[k] for k in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)))
    cof = {(0, 0): d * f - e * e, (0, 1): c * e - b * f, (0, 2): b * e - c * d}
    cof |= {(1, 1): a * f - c * c, (1, 2): b * c - a * e, (2, 2): a * d - b * b}
    det = a * cof[0, 0] + b * cof[0, 1] + c * cof[0, 2]
    return {key: value / det for key, value in cof.items()}


def _tiles(unknown: np.ndarray, size: tuple[int, int]) -> Iterator[tuple[int, int, int, int]]:
    """Full-resolution tiles (left, top, right, bottom) that hold some of the unknown band."""
    width, height = size
    sy, sx = unknown.shape[0] / height, unknown.shape[1] / width
    for top in range(0, height, TILE):
        for left in range(0, width, TILE):
            right, bottom = min(left + TILE, width), min(top + TILE, height)
            rows = slice(int(top * sy), int(np.ceil(bottom * sy)) + 1)
            cols = slice(int(left * sx), int(np.ceil(right * sx)) + 1)
            if unknown[rows, cols].any():
                yield left, top, right, bottom


def upsample(
    rgb: Image.Image, alpha: Image.Image, coefficients: list[np.ndarray], unknown: np.ndarray
) -> Image.Image:
    """The full-resolution alpha: guided-filter output in the band, `alpha` elsewhere."""
    out = alpha.copy()  # written tile by tile: no second full-size buffer in numpy
    band = unknown.astype(np.uint8)
    sx, sy = unknown.shape[1] / rgb.width, unknown.shape[0] / rgb.height
    for box in _tiles(unknown, rgb.size):
        left, top, right, bottom = box
        # Pixel centres of the tile in working-copy coordinates.
        xs = ((np.arange(left, right, dtype=np.float32) + 0.5) * sx - 0.5)[None, :]
        ys = ((np.arange(top, bottom, dtype=np.float32) + 0.5) * sy - 0.5)[:, None]
        map_x, map_y = np.broadcast_arrays(xs, ys)
        map_x, map_y = np.ascontiguousarray(map_x), np.ascontiguousarray(map_y)
        inside = cv2.remap(band, map_x, map_y, cv2.INTER_NEAREST).astype(bool)
        colours = np.asarray(rgb.crop(box), dtype=np.float32)
        colours *= np.float32(1 / 255)
        value = _resample(coefficients[3], map_x, map_y)
        for c in range(3):
            value += _resample(coefficients[c], map_x, map_y) * colours[..., c]
        patch = np.array(alpha.crop(box))
        patch[inside] = _to_u8(value[inside])
        out.paste(Image.fromarray(patch, "L"), box[:2])
    return out


def _resample(plane: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    return cv2.remap(plane, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _to_u8(values: np.ndarray) -> np.ndarray:
    return np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
