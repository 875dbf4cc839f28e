"""Clean colours at soft edges: estimate the subject's own colour where alpha is partial.

A pixel with 0 < alpha < 255 was photographed as F*a + B*(1-a), subject over old background;
kept as is, it brings a halo of the old background onto the new one. Blur-fusion (Forte &
Pitie, "Approximate Fast Foreground Colour Estimation", ICIP 2021) estimates F from box
blurs of F*a, B*(1-a) and a, a large pass then small ones; it needs no solver and no numba
(pymatting's multi-level method costs a 33 s cold start).

Cheap enough to be on by default: the large pass (a 90 px box) only gathers smooth local
means, so it runs on a copy shrunk LOW_FACTOR times or more (block means of a*I, I and a,
built strip by strip in 8 bits) and is read back by bilinear interpolation; the small passes
run at full resolution on small tiles that hold soft alpha, which is a thin band. On AIM-500
composites the colour error matches the full-resolution passes (bench/edge_colour_error.py)
in about a third of the time; float32 temporaries exist only per tile and at low resolution.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

# Box sizes: the paper's large pass (gathers colours from beyond the band) and small pass
# (sharpens them), plus a second small pass: on AIM-500 dev composites it lowered the colour
# error 5% below the paper's two passes, and below pymatting's multi-level method, both for
# thin true mattes and for bands as wide as our upscaled masks'.
LARGE_PASS = 90
SMALL_PASSES = (6, 6)
PASSES = (LARGE_PASS, *SMALL_PASSES)
# How far (px) a tile's result depends on its neighbours at full resolution: the small passes.
REACH = sum(size // 2 for size in SMALL_PASSES)
# The large pass's copy: shrunk at least LOW_FACTOR times, more when it would exceed
# LOW_MAX_PIXELS (25 MP: 10x, 0.25 MP, 3 MB per float32 colour image).
LOW_FACTOR = 4
LOW_MAX_PIXELS = 250_000
LOW_STRIP = 16  # low-resolution rows built at once (25 MP: 112 full rows, ~20 MB in all)
# Full-resolution strips: short, so that a strip's span of columns follows the band, and at
# most STRIP_PIXELS, which bounds the float32 temporaries (~40 B a pixel) at any width.
MAX_STRIP_ROWS = 64
STRIP_PIXELS = 131_072
RUN_GAP = 8 * REACH  # columns without soft alpha that split a strip's work in two
# Alpha within UNSEEN of 0 or 255 keeps its photographed colour I = a F + (1-a) B: in any
# composite that pixel shows a I, off from a F by a (1-a) |B - F| < 3 grey levels. On 1024 px
# photos the balanced preset's soft band has many such pixels (the upscaled mask's tails), and
# leaving them out shrinks the area the small passes cover by 30-45%.
UNSEEN = 3
_EPS = np.float32(1e-5)  # keeps the blurred-weight divisions finite where a weight is 0

Box = tuple[int, int, int, int]


def estimate_foreground(rgb: Image.Image, alpha: Image.Image, *, rows: int = 0) -> Image.Image:
    """`rgb` (modified in place) with its soft-alpha pixels set to the estimated foreground.

    Opaque pixels keep their colour; transparent ones are left as they are (never shown).
    `rows` is the strip height (0: from STRIP_PIXELS; at least REACH, so that a strip reaches
    only into the ones beside it).
    """
    rows = rows or max(2 * REACH, min(MAX_STRIP_ROWS, STRIP_PIXELS // rgb.width))
    if rows < REACH:
        raise ValueError(f"strips must be at least {REACH} rows")
    if rgb.mode != "RGB" or alpha.mode != "L" or rgb.size != alpha.size:
        raise ValueError("estimate_foreground needs an RGB image and an L alpha of one size")
    # The alpha is read strip by strip too: a whole array of it (and numpy's copy from
    # Pillow) would cost 50 MB at 25 MP.
    if not any(
        _to_clean(_rows(alpha, top, top + rows)).any() for top in range(0, rgb.height, rows)
    ):
        return rgb
    factor = low_factor(rgb.size)
    means = large_pass_means(rgb, alpha, factor)
    # Strips run one after another: on threads they fought over the GIL (their many small
    # OpenCV calls) and took longer than alone. A strip reads up to REACH rows of the strips
    # beside it, so each is written only once the next one is computed.
    pending: list[tuple[Image.Image, tuple[int, int]]] = []
    for top in range(0, rgb.height, rows):
        bottom = min(top + rows, rgb.height)
        done = [
            _clean_run(rgb, alpha, (left, top, right, bottom), means, factor)
            for left, right in _runs(_rows(alpha, top, bottom))
        ]
        for patch, corner in pending:
            rgb.paste(patch, corner)
        pending = done
    for patch, corner in pending:
        rgb.paste(patch, corner)
    return rgb


def _runs(strip_alpha: np.ndarray) -> list[tuple[int, int]]:
    """The column ranges of a strip to clean: where its columns hold soft alpha, split at
    gaps wider than RUN_GAP (a subject's two outlines, not the opaque inside between them).
    """
    columns = np.flatnonzero(_to_clean(strip_alpha).any(axis=0))
    if columns.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(columns) > RUN_GAP)
    starts = np.concatenate([[columns[0]], columns[breaks + 1]])
    ends = np.concatenate([columns[breaks], [columns[-1]]]) + 1
    return [(int(start), int(end)) for start, end in zip(starts, ends, strict=True)]


def _to_clean(alpha: np.ndarray) -> np.ndarray:
    """The pixels whose colour is re-estimated: the partly transparent ones where the old
    background's share can show."""
    return (alpha > UNSEEN) & (alpha < 255 - UNSEEN)


def low_factor(size: tuple[int, int]) -> int:
    """How many times the large pass's copy is shrunk for an image of `size`."""
    width, height = size
    return max(LOW_FACTOR, math.ceil(math.sqrt(width * height / LOW_MAX_PIXELS)))


def _rows(image: Image.Image, top: int, bottom: int) -> np.ndarray:
    """Rows top..bottom of `image` as an array."""
    return np.asarray(image.crop((0, top, image.width, bottom)))


def large_pass_means(
    rgb: Image.Image, alpha: Image.Image, factor: int
) -> tuple[np.ndarray, np.ndarray]:
    """The large pass's local means of F (weighted by a) and B (by 1-a), shrunk `factor` x."""
    width, height = alpha.size
    low_h, low_w = -(-height // factor), -(-width // factor)
    coverage = np.empty((low_h, low_w), np.uint8)
    weighted = np.empty((low_h, low_w, 3), np.uint8)  # mean of a*I
    plain = np.empty((low_h, low_w, 3), np.uint8)  # mean of I
    for top in range(0, low_h, LOW_STRIP):
        bottom = min(low_h, top + LOW_STRIP)
        y0, y1 = top * factor, min(height, bottom * factor)
        image, strip_alpha = _rows(rgb, y0, y1), _rows(alpha, y0, y1)
        product = cv2.multiply(image, cv2.merge([strip_alpha] * 3), scale=1 / 255)
        pad = ((bottom - top) * factor - (y1 - y0), low_w * factor - width)
        shrink = (low_w, bottom - top)
        for target, full in ((coverage, strip_alpha), (weighted, product), (plain, image)):
            grown = cv2.copyMakeBorder(full, 0, pad[0], 0, pad[1], cv2.BORDER_REPLICATE)
            target[top:bottom] = cv2.resize(grown, shrink, interpolation=cv2.INTER_AREA)
    box = (max(1, round(LARGE_PASS / factor)),) * 2
    blurred_a = cv2.blur(coverage.astype(np.float32) * np.float32(1 / 255), box)
    a_part = cv2.blur(weighted.astype(np.float32), box)
    rest = cv2.blur(plain.astype(np.float32), box) - a_part
    fg_mean = a_part / cv2.merge([blurred_a + _EPS] * 3)
    bg_mean = rest / cv2.merge([1 + _EPS - blurred_a] * 3)
    return fg_mean, bg_mean


def _upsampled(field: np.ndarray, factor: int, box: Box) -> np.ndarray:
    """`field` (shrunk `factor` x) read back bilinearly at the full-resolution pixels of `box`.

    Enlarging a crop with one spare low-resolution pixel on each side by `factor` puts full
    pixel x at low-resolution (x + 0.5) / factor - 0.5, as enlarging the whole field would.
    """
    x0, y0, x1, y1 = box
    low_h, low_w = field.shape[:2]
    lx0, ly0 = max(0, x0 // factor - 1), max(0, y0 // factor - 1)
    lx1, ly1 = min(low_w, -(-x1 // factor) + 1), min(low_h, -(-y1 // factor) + 1)
    crop = field[ly0:ly1, lx0:lx1]
    size = ((lx1 - lx0) * factor, (ly1 - ly0) * factor)
    enlarged = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)
    dx, dy = x0 - lx0 * factor, y0 - ly0 * factor
    return enlarged[dy : dy + y1 - y0, dx : dx + x1 - x0]


def _clean_run(
    rgb: Image.Image,
    alpha: Image.Image,
    core: Box,
    means: tuple[np.ndarray, np.ndarray],
    factor: int,
) -> tuple[Image.Image, tuple[int, int]]:
    """The pixels of `core` with their soft ones set to the blur-fusion estimate, and the
    corner to paste them at."""
    left, top, right, bottom = core
    width, height = alpha.size
    padded = (
        max(0, left - REACH),
        max(0, top - REACH),
        min(width, right + REACH),
        min(height, bottom + REACH),
    )
    x0, y0 = padded[:2]
    tile_alpha = np.asarray(alpha.crop(padded))
    observed = np.asarray(rgb.crop(padded))
    large = (_upsampled(means[0], factor, padded), _upsampled(means[1], factor, padded))
    foreground = _fuse(observed, tile_alpha, SMALL_PASSES, large)
    inner = np.s_[top - y0 : bottom - y0, left - x0 : right - x0]
    result = observed[inner].copy()
    clean = _to_clean(tile_alpha[inner])
    cv2.copyTo(np.ascontiguousarray(foreground[inner]), clean.view(np.uint8), result)
    return Image.fromarray(result), (left, top)


def blur_fusion(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The foreground estimate (uint8 HxWx3) of a uint8 HxWx3 image under a uint8 HxW alpha,
    every pass at full resolution (the reference the tiled estimate is measured against).
    """
    return _fuse(image, alpha, PASSES)


def _fuse(
    image: np.ndarray,
    alpha: np.ndarray,
    passes: tuple[int, ...],
    first_means: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Blur-fusion passes over one image; `first_means` stand in for a pass already made."""
    observed = image.astype(np.float32)
    a = alpha.astype(np.float32)
    a *= np.float32(1 / 255)
    a3 = cv2.merge([a, a, a])  # equal shapes keep every product on OpenCV's fast path
    clear = 1 - a3
    # Each pass sets F = F_mean + a (I - a F_mean - (1-a) B_mean), so that the composite of
    # the estimate matches I, i.e. F = (1 - a^2) F_mean + a I - a (1-a) B_mean.
    weights = (1 - a3 * a3, cv2.multiply(a3, observed), cv2.multiply(a3, clear))
    foreground, background = observed, observed
    if first_means is not None:
        foreground, background = _recombine(first_means[0], first_means[1], weights), first_means[1]
    shares: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # passes of one size share them
    for size in passes:
        if size not in shares:
            shares[size] = _shares(a, size)
        fg_mean, background = _local_means(a3, clear, foreground, background, size, shares[size])
        foreground = _recombine(fg_mean, background, weights)
    return np.rint(foreground).astype(np.uint8)


def _shares(a: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """1 / the box means of a and of 1-a, three-channel, to multiply by."""
    coverage = cv2.blur(a, (size, size))
    fg_share = cv2.merge([1 / (coverage + _EPS)] * 3)
    bg_share = cv2.merge([1 / (1 + _EPS - coverage)] * 3)
    return fg_share, bg_share


def _local_means(
    a3: np.ndarray,
    clear: np.ndarray,
    fg: np.ndarray,
    bg: np.ndarray,
    size: int,
    shares: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Box means of F weighted by a and of B weighted by 1-a."""
    kernel = (size, size)
    fg_mean = cv2.multiply(cv2.blur(cv2.multiply(fg, a3), kernel), shares[0])
    bg_mean = cv2.multiply(cv2.blur(cv2.multiply(bg, clear), kernel), shares[1])
    return fg_mean, bg_mean


def _recombine(
    fg_mean: np.ndarray, bg_mean: np.ndarray, weights: tuple[np.ndarray, ...]
) -> np.ndarray:
    """(1 - a^2) F_mean + a I - a (1-a) B_mean, clipped to the colour range."""
    keep, observed_part, mixed = weights
    foreground: np.ndarray = cv2.multiply(fg_mean, keep)
    cv2.add(foreground, observed_part, dst=foreground)
    cv2.subtract(foreground, cv2.multiply(bg_mean, mixed), dst=foreground)
    return np.clip(foreground, 0, 255, out=foreground)
