"""The edge methods `bench.edges_unseen` compares, and their scores on one photo.

A candidate is a way to get the final alpha from u2netp: where its mask comes from (the
model's 320 px map as shipped; that map with its edge band taken from a second run at 448 or
512 px; the average with a mirrored run), which constants the refinement uses
(`worker.pipeline.refine.RefineParams`), and whether the trimap also leaves unknown every
pixel where u2netp's seven maps disagree by more than a threshold.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

from shared.metrics.masks import load_ground_truth
from shared.metrics.matting import score_matte
from shared.options import ProcessOptions
from shared.settings import Settings
from worker.models.spec import resolve_spec
from worker.pipeline.decode import decode
from worker.pipeline.mask import normalise, to_full_size
from worker.pipeline.preprocess import model_input
from worker.pipeline.refine import DEFAULT, MODEL_SIDE, RefineParams, refine_alpha
from worker.pipeline.run import mask_image
from worker.pipeline.timing import StageTimer


@dataclass(frozen=True)
class Candidate:
    """One way to make the final alpha."""

    source: str = "model"  # model | model448 | model512 | band448 | band512 | mirrored
    params: RefineParams = DEFAULT
    disagreement: float | None = None  # stage-map spread above which a pixel is unknown
    refine: bool = True

    @property
    def name(self) -> str:
        p = self.params
        if not self.refine:
            return f"{self.source} unrefined"
        extra = f" disagree>{self.disagreement}" if self.disagreement is not None else ""
        return (
            f"{self.source} band={p.band} prior={p.prior_weight:g} soft={p.soft_low}-"
            f"{p.soft_high} eps={p.eps:g} side={p.work_side}{extra}"
        )


def candidates() -> list[Candidate]:
    """The shipped constants' neighbourhood, then the other methods with shipped constants."""
    grid = itertools.product((0.5, 1.0, 2.0), (1e-5, 1e-4, 1e-3), ((10, 245), (25, 230)))
    found = [
        Candidate(params=RefineParams(band=b, prior_weight=w, soft_low=lo, soft_high=hi))
        for b, w, (lo, hi) in grid
    ]
    found += [Candidate(params=RefineParams(eps=e)) for e in (1e-6, 1e-4)]
    found += [Candidate(params=RefineParams(work_side=640))]
    found += [Candidate(source=s) for s in ("band448", "band512", "mirrored")]
    found += [Candidate(disagreement=t) for t in (0.3, 0.5)]
    sources = ("model", "model448", "model512", "band448", "band512", "mirrored")
    return found + [Candidate(source=s, refine=False) for s in sources]


class AnySizeModel:
    """u2netp on onnxruntime with its input side left free (the network is fully
    convolutional; only the file's declared shape fixes 320)."""

    def __init__(self, model_dir: Path):
        self.spec, path = resolve_spec("u2netp", model_dir)
        graph = onnx.load(str(path))
        for value in [*graph.graph.input, *graph.graph.output]:
            dims = value.type.tensor_type.shape.dim
            dims[2].dim_param, dims[3].dim_param = "height", "width"
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self._session = ort.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def maps(self, rgb: Image.Image, side: int, *, mirrored: bool = False) -> np.ndarray:
        """The seven output maps (7, side, side) for `rgb` resized to side x side."""
        tensor = model_input(rgb, replace(self.spec, input_size=(side, side)))
        if mirrored:
            tensor = np.ascontiguousarray(tensor[..., ::-1])
        outputs = self._session.run(None, {self._session.get_inputs()[0].name: tensor})
        maps = np.stack([o[0, 0] for o in outputs])
        return maps[..., ::-1] if mirrored else maps


def band_fused(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """`low` (the 320 px map) with its 0.5 contour's band, one model pixel either side,
    taken from `high` (a larger run), blended over a Gaussian ramp."""
    side = high.shape[0]
    up = cv2.resize(low, (side, side), interpolation=cv2.INTER_CUBIC)
    radius = max(1, round(side / MODEL_SIDE))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    subject = (up >= 0.5).astype(np.uint8)
    band = (cv2.dilate(subject, disc) > cv2.erode(subject, disc)).astype(np.float32)
    weight = cv2.GaussianBlur(band, (0, 0), radius / 2 + 0.5)
    return np.clip(up * (1 - weight) + high * weight, 0, 1)


def _masks(model: AnySizeModel, rgb: Image.Image, wanted: set[str]) -> dict[str, np.ndarray]:
    """Each wanted source's probability map, and the 320 px stage maps' spread."""
    maps = model.maps(rgb, MODEL_SIDE)
    base = normalise(maps[0])
    found = {"model": base, "spread": maps.max(axis=0) - maps.min(axis=0)}
    for side in (448, 512):
        if {f"band{side}", f"model{side}"} & wanted:
            larger = normalise(model.maps(rgb, side)[0])
            found[f"model{side}"] = larger
            found[f"band{side}"] = band_fused(base, larger)
    if "mirrored" in wanted:
        found["mirrored"] = (base + normalise(model.maps(rgb, MODEL_SIDE, mirrored=True)[0])) / 2
    return found


def score_photo(
    image: Path, mask_path: Path, model_dir: Path, chosen: list[Candidate]
) -> dict[str, tuple[float, float]]:
    """(edge-band MAE, MAE) of `--compat rembg` and of every candidate on one photo."""
    settings = Settings(model_dir=model_dir)
    truth = load_ground_truth(mask_path)
    exact = ProcessOptions(compat="rembg")
    compat = mask_image(image, exact, settings=settings, timer=StageTimer())
    scores = {"--compat rembg": _score(compat.alpha, truth)}
    rgb = decode(image, max_megapixels=settings.max_megapixels, convert_icc=True).rgb
    model = _model(model_dir)
    maps = _masks(model, rgb, {c.source for c in chosen})
    full = {k: to_full_size(v, rgb.size) for k, v in maps.items() if k != "spread"}
    for candidate in chosen:
        spread = None
        if candidate.disagreement is not None:
            spread = maps["spread"] > candidate.disagreement
        alpha = full[candidate.source]
        if candidate.refine:
            alpha = refine_alpha(rgb, alpha, candidate.params, spread)
        scores[candidate.name] = _score(alpha, truth)
    return scores


def _score(alpha: Image.Image, truth: np.ndarray) -> tuple[float, float]:
    scores = score_matte(np.asarray(alpha), truth)
    return float(scores.edge_band_mae or 0.0), scores.mae


_loaded: dict[Path, AnySizeModel] = {}


def _model(model_dir: Path) -> AnySizeModel:
    # One session per worker process, reused for its photos.
    if model_dir not in _loaded:
        _loaded[model_dir] = AnySizeModel(model_dir)
    return _loaded[model_dir]
