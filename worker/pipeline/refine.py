"""Edge refinement (`best`): solve for alpha in the uncertain band with the photo's colours.

The model sees 320x320; stretched to a 2 MP photo its edge is a ramp many pixels wide and
often a few pixels off, and thin hair or small holes are lost. Here a trimap is made from
that mask (definite subject and background away from the 0.5 contour, unknown between and
wherever the mask is undecided), closed-form matting (Levin, Lischinski & Weiss 2008) is
solved for the unknown pixels only, on a working copy whose long side is `work_side`, with a
weak pull towards the model's alpha; the result returns to full resolution through a fast
guided filter (He & Sun 2015, `worker/pipeline/guided.py`): its coefficients are found on
the working copy, upsampled, and applied to the full-resolution colours tile by tile, in the
band only.

Images whose long side is under MIN_UPSCALE model sides are returned as they are.

Memory: the working copy is at most work_side^2 px, the sparse system holds only unknown
pixels (at most MAX_UNKNOWN), and at full resolution there are only uint8 maps plus one
tile's float32 temporaries. The solve's time is bounded by MAX_UNKNOWN and
CG_MAX_ITERATIONS, whatever the image size; only the last pass over the band's tiles grows
with it. Every constant below was chosen by measurement on the dev split (AIM-500 edges,
ECSSD and SOD as guards), never per image; those that shape the result (RefineParams) on one
half of AIM-500 dev, checked on the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from worker.pipeline.guided import guided_coefficients, upsample

MODEL_SIDE = 320  # u2netp's input side: the mask's detail is one model pixel
# A mask stretched less than this has little blur to undo, and on SOD (481 px, x1.5: cluttered
# scenes, faint subjects) refining lowered S by 0.017 and maxF by 0.012: such images are left
# alone. ECSSD (x1.25) is below it too; AIM-500 (x4.7-6) far above.
MIN_UPSCALE = 2.0
CG_TOLERANCE = 1e-4  # relative residual that stops conjugate gradients (1e-3)
CG_MAX_ITERATIONS = 400  # bounds time: most dev images stop after 50-220
# More unknown pixels shrink the working copy (bounds memory and time). 3 of 60 AIM-500 images
# exceed it; at 120_000 the largest (109k unknowns) did not converge in 400 iterations and
# scored worse (MAE .116 against .088) in 5x the time.
MAX_UNKNOWN = 25_000
_CHUNK = 8192  # matting windows handled at once: float64 temporaries of ~5 MB each
# The 3x3 window's pixel offsets, and the 5x5 stencil two pixels of a window can span.
_WINDOW = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
_STENCIL = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
_CENTRE = _STENCIL.index((0, 0))
# _SLOTS[a, b]: the stencil slot at which window pixel a meets window pixel b.
_SLOTS = np.array([[_STENCIL.index((b[0] - a[0], b[1] - a[1])) for b in _WINDOW] for a in _WINDOW])


@dataclass(frozen=True)
class RefineParams:
    """The constants that shape the result, as `best` ships them.

    Chosen on one half of the AIM-500 dev photos and checked on the other, both ways
    (`python -m bench.edges_unseen`, which varies them; docs/quality.md has the figures).
    """

    # In brackets the values tried. Both halves chose band 0.5 (earlier 1.0, chosen on all
    # of AIM-500 dev); on all 60 photos side 640 scored the same within 0.001 at 1.8x the
    # working pixels.
    work_side: int = 480  # long side of the working copy (640)
    band: float = 0.5  # unknown band half-width around the 0.5 contour, model pixels (1, 2)
    soft_low: int = 10  # alpha strictly between soft_low and soft_high is unknown too
    soft_high: int = 245  # (25-230)
    eps: float = 1e-5  # matting Laplacian regulariser, colours in [0, 1] (1e-6, 1e-4)
    prior_weight: float = 1e-5  # pull of an unknown pixel towards the model's alpha (1e-4, 1e-3)


DEFAULT = RefineParams()


def refine_alpha(
    rgb: Image.Image,
    alpha: Image.Image,
    params: RefineParams = DEFAULT,
    also_unknown: np.ndarray | None = None,
) -> Image.Image:
    """`alpha` (L, the size of `rgb`) re-solved in its uncertain band from `rgb`'s colours.

    `also_unknown` (a boolean map of any size, stretched to the working copy) adds pixels to
    the trimap's unknown set; `bench.edges_unseen` measures such trimaps.
    """
    if rgb.mode != "RGB" or alpha.mode != "L" or rgb.size != alpha.size:
        raise ValueError("refine_alpha needs an RGB image and an L alpha of one size")
    if max(rgb.size) < MIN_UPSCALE * MODEL_SIDE:
        return alpha.copy()
    side = params.work_side
    while True:
        guide, prior = working_copy(rgb, alpha, side)
        unknown = trimap(prior, band_radius(prior.shape, params.band), params)
        if also_unknown is not None:
            unknown |= cv2.resize(also_unknown.astype(np.uint8), unknown.shape[::-1]) > 0
        count = int(np.count_nonzero(unknown))
        if count <= MAX_UNKNOWN:
            break
        side = max(16, int(side * (MAX_UNKNOWN / count) ** 0.5 * 0.95))
    if count == 0:
        return alpha.copy()
    solved = solve_band(guide, prior, unknown, params)
    return upsample(rgb, alpha, guided_coefficients(guide.astype(np.float32), solved), unknown)


def band_radius(shape: tuple[int, ...], band: float = DEFAULT.band) -> int:
    """The unknown band's half-width in pixels of a map of `shape`: `band` model pixels."""
    return max(1, round(band * max(shape[:2]) / MODEL_SIDE))


def trimap(alpha: np.ndarray, radius: int, params: RefineParams = DEFAULT) -> np.ndarray:
    """Unknown pixels: within `radius` of the 0.5 contour, or undecided (soft) in `alpha`."""
    subject = (alpha >= 128).astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    unknown = cv2.dilate(subject, disc) > cv2.erode(subject, disc)
    return unknown | ((alpha > params.soft_low) & (alpha < params.soft_high))


def working_copy(rgb: Image.Image, alpha: Image.Image, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The colours (float64 in [0, 1]) and uint8 alpha at long side <= `side`."""
    scale = min(1.0, side / max(rgb.size))
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.BOX)
        alpha = alpha.resize(size, Image.Resampling.BOX)
    return np.asarray(rgb, dtype=np.float64) / 255.0, np.asarray(alpha)


def solve_band(
    guide: np.ndarray, prior: np.ndarray, unknown: np.ndarray, params: RefineParams = DEFAULT
) -> np.ndarray:
    """Alpha in [0, 1] (float32): the matting solve on `unknown`, 0/1 by the mask elsewhere.

    Minimises a' L a + prior_weight |a_u - prior_u|^2 over the unknown pixels a_u, the known
    ones fixed to 0 or 1 (L: the matting Laplacian of `guide`, 3x3 windows). The weak prior
    keeps the system well posed where a region has no known pixel around it.
    """
    known = (prior >= 128).astype(np.float64)
    system = _band_system(guide, unknown, known, prior.astype(np.float64) / 255.0, params)
    start = prior.ravel()[system.index].astype(np.float64) / 255.0
    known.ravel()[system.index] = np.clip(_conjugate_gradients(system, start), 0.0, 1.0)
    return known.astype(np.float32)


@dataclass
class _System:
    """A symmetric system over the unknown pixels in stencil form: row i is
    sum_s coefficients[i, s] * x[columns[i, s]] = rhs[i]."""

    index: np.ndarray  # flat pixel index of each unknown
    coefficients: np.ndarray  # (n, 25)
    columns: np.ndarray  # (n, 25)
    rhs: np.ndarray

    def times(self, x: np.ndarray) -> np.ndarray:
        """The matrix times `x` (no scipy: it would cost the worker ~20 MB resident)."""
        return np.einsum("ij,ij->i", self.coefficients, x[self.columns])


def _band_system(
    guide: np.ndarray,
    unknown: np.ndarray,
    known: np.ndarray,
    prior: np.ndarray,
    params: RefineParams,
) -> _System:
    """The unknown pixels' equations; known neighbours move to the right-hand side."""
    height, width = unknown.shape
    index = np.flatnonzero(unknown)
    ids = np.full(height * width, -1, np.intp)
    ids[index] = np.arange(index.size)
    coefficients = _laplacian_rows(guide, unknown, ids, params.eps)
    offsets = np.array([dy * width + dx for dy, dx in _STENCIL])
    # Stencil entries off the image have coefficient 0; clipping keeps their index valid.
    neighbours = np.clip(index[:, None] + offsets, 0, height * width - 1)
    columns = ids[neighbours]
    is_known = columns < 0
    rhs = -np.einsum("ij,ij->i", coefficients, np.where(is_known, known.ravel()[neighbours], 0.0))
    rhs += params.prior_weight * prior.ravel()[index]
    coefficients[is_known] = 0.0
    coefficients[:, _CENTRE] += params.prior_weight
    columns[is_known] = 0  # any valid index: its coefficient is 0
    return _System(index, coefficients, columns, rhs)


def _laplacian_rows(
    guide: np.ndarray, unknown: np.ndarray, ids: np.ndarray, eps: float
) -> np.ndarray:
    """Matting Laplacian rows of the unknown pixels as (n, 25) stencil coefficients."""
    height, width = unknown.shape
    centres = cv2.dilate(unknown.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    centres[[0, -1], :] = False  # windows lie inside the image
    centres[:, [0, -1]] = False
    window = np.array([dy * width + dx for dy, dx in _WINDOW])
    flat = guide.reshape(-1, 3)
    rows = np.zeros((int(ids.max()) + 1, len(_STENCIL)))
    flat_rows = rows.reshape(-1)
    # For one window pixel a, the windows' a-pixels are distinct and so are their 9 slots:
    # one fancy-index add per a is exact (no repeated index within it).
    all_centres = np.flatnonzero(centres)
    for start in range(0, all_centres.size, _CHUNK):
        pixels = all_centres[start : start + _CHUNK, None] + window  # (n, 9)
        weights = _window_affinities(flat[pixels], eps)  # (n, 9, 9)
        for a in range(len(_WINDOW)):
            row = ids[pixels[:, a]]
            inside = row >= 0
            flat_rows[row[inside, None] * len(_STENCIL) + _SLOTS[a]] += weights[inside, a]
    return rows


def _window_affinities(colours: np.ndarray, eps: float) -> np.ndarray:
    """delta_ij - (1 + (I_i - mu)' (Sigma + eps/9)^-1 (I_j - mu)) / 9 for each 3x3 window."""
    centred = colours - colours.mean(axis=1, keepdims=True)
    covariance = np.einsum("nki,nkj->nij", centred, centred) / 9 + (eps / 9) * np.eye(3)
    whitened = np.einsum("nki,nij->nkj", centred, np.linalg.inv(covariance))
    affinity = (1.0 + np.einsum("nki,nli->nkl", whitened, centred)) / 9
    return np.eye(9) - affinity


def _conjugate_gradients(system: _System, x: np.ndarray) -> np.ndarray:
    """Jacobi-preconditioned conjugate gradients from `x` (the model's alpha)."""
    inverse_diagonal = 1.0 / system.coefficients[:, _CENTRE]
    residual = system.rhs - system.times(x)
    direction = inverse_diagonal * residual
    rz = _dot(residual, direction)
    limit = CG_TOLERANCE**2 * (_dot(system.rhs, system.rhs) or 1.0)
    for _ in range(CG_MAX_ITERATIONS):
        if _dot(residual, residual) < limit:
            break
        product = system.times(direction)
        step = rz / _dot(direction, product)
        x += step * direction
        residual -= step * product
        preconditioned = inverse_diagonal * residual
        rz, previous = _dot(residual, preconditioned), rz
        direction = preconditioned + (rz / previous) * direction
    return x


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum's own loop, not BLAS: a threaded BLAS dot of these short vectors cost 5 ms a
    # call on a busy 2-core machine (more than the whole matrix product).
    return float(np.einsum("i,i->", a, b))
