"""Clean colours at soft edges: estimate the subject's own colour where alpha is partial.

A pixel with 0 < alpha < 255 was photographed as F*a + B*(1-a), subject over old background;
kept as is, it brings a halo of the old background onto the new one. Blur-fusion (Forte &
Pitie, "Approximate Fast Foreground Colour Estimation", ICIP 2021) estimates F from box
blurs of F*a, B*(1-a) and a, a large pass then a small one; it needs no solver and no numba
(pymatting's multi-level method costs a 33 s cold start), and it is local, so it runs tile by
tile: float32 only per tile, results written back into the 8-bit image.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image

# Box sizes: the paper's large pass (gathers colours from beyond the band) and small pass
# (sharpens them), plus a second small pass: on AIM-500 dev composites it lowered the colour
# error 5% below the paper's two passes, and below pymatting's multi-level method, both for
# thin true mattes and for bands as wide as our upscaled masks'.
PASSES = (90, 6, 6)
# How far (px) a result depends on the input: half of each box, added over the passes.
REACH = sum(size // 2 for size in PASSES)
# Core tile side: with its REACH border a tile's float32 temporaries peak near 50 MB (512 px:
# 80 MB, for 10% less CPU time).
TILE = 384
_EPS = np.float32(1e-5)  # keeps the blurred-weight divisions finite where a weight is 0

Box = tuple[int, int, int, int]


def estimate_foreground(rgb: Image.Image, alpha: Image.Image, *, tile: int = TILE) -> Image.Image:
    """`rgb` (modified in place) with its soft-alpha pixels set to the estimated foreground.

    Opaque pixels keep their colour; transparent ones are left as they are (they never show).
    `tile` is the core tile side (at least REACH, so a strip reaches only the one before it).
    """
    if tile < REACH:
        raise ValueError(f"tile must be at least {REACH} px")
    if rgb.mode != "RGB" or alpha.mode != "L" or rgb.size != alpha.size:
        raise ValueError("estimate_foreground needs an RGB image and an L alpha of one size")
    a = np.asarray(alpha)
    pending: list[tuple[Box, Image.Image]] = []
    for row in range(0, rgb.height, tile):
        # Each strip reads up to REACH rows of the previous one, so that strip's results are
        # written only after this one is computed: every tile sees the original colours.
        done = [
            (core, _clean_tile(rgb, a, core, padded)) for core, padded in _soft_tiles(a, row, tile)
        ]
        for core, patch in pending:
            rgb.paste(patch, core[:2])
        pending = done
    for core, patch in pending:
        rgb.paste(patch, core[:2])
    return rgb


def _soft_tiles(a: np.ndarray, row: int, tile: int) -> Iterator[tuple[Box, Box]]:
    """The (core, core grown by REACH) boxes of the strip at `row` whose core has soft alpha."""
    height, width = a.shape
    bottom = min(row + tile, height)
    for left in range(0, width, tile):
        right = min(left + tile, width)
        core_alpha = a[row:bottom, left:right]
        if not np.any((core_alpha > 0) & (core_alpha < 255)):
            continue
        padded = (
            max(0, left - REACH),
            max(0, row - REACH),
            min(width, right + REACH),
            min(height, bottom + REACH),
        )
        yield (left, row, right, bottom), padded


def _clean_tile(rgb: Image.Image, a: np.ndarray, core: Box, padded: Box) -> Image.Image:
    """The core of one tile with its soft pixels replaced by the blur-fusion estimate."""
    x0, y0, x1, y1 = padded
    tile_alpha = a[y0:y1, x0:x1]
    foreground = blur_fusion(np.asarray(rgb.crop(padded)), tile_alpha)
    inner = np.s_[core[1] - y0 : core[3] - y0, core[0] - x0 : core[2] - x0]
    observed = np.array(rgb.crop(core))
    core_alpha = tile_alpha[inner]
    soft = (core_alpha > 0) & (core_alpha < 255)
    observed[soft] = foreground[inner][soft]
    return Image.fromarray(observed)


def blur_fusion(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The foreground estimate (uint8 HxWx3) of a uint8 HxWx3 image under a uint8 HxW alpha."""
    observed = image.astype(np.float32)
    a = alpha.astype(np.float32)
    a *= np.float32(1 / 255)
    a3 = cv2.merge([a, a, a])  # equal shapes keep every product on OpenCV's fast path
    clear = 1 - a3
    # Each pass sets F = F_mean + a (I - a F_mean - (1-a) B_mean), so that the composite of
    # the estimate matches I, i.e. F = (1 - a^2) F_mean + a I - a (1-a) B_mean.
    weights = (1 - a3 * a3, a3 * observed, a3 * clear)
    foreground, background = observed, observed
    for size in PASSES:
        fg_mean, background = _local_means(a, a3, clear, foreground, background, size)
        foreground = _recombine(fg_mean, background, weights)
    return np.rint(foreground).astype(np.uint8)


def _local_means(
    a: np.ndarray, a3: np.ndarray, clear: np.ndarray, fg: np.ndarray, bg: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Box means of F weighted by a and of B weighted by 1-a."""
    kernel = (size, size)
    coverage = cv2.blur(a, kernel)
    fg_weight = cv2.merge([coverage + _EPS] * 3)
    bg_weight = cv2.merge([1 + _EPS - coverage] * 3)
    fg_mean = cv2.divide(cv2.blur(cv2.multiply(fg, a3), kernel), fg_weight)
    bg_mean = cv2.divide(cv2.blur(cv2.multiply(bg, clear), kernel), bg_weight)
    return fg_mean, bg_mean


def _recombine(
    fg_mean: np.ndarray, bg_mean: np.ndarray, weights: tuple[np.ndarray, ...]
) -> np.ndarray:
    """(1 - a^2) F_mean + a I - a (1-a) B_mean, clipped to the colour range."""
    keep, observed_part, mixed = weights
    foreground: np.ndarray = cv2.multiply(fg_mean, keep)
    foreground += observed_part
    foreground -= cv2.multiply(bg_mean, mixed)
    return np.clip(foreground, 0, 255, out=foreground)
