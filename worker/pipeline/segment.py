"""From decoded pixels to a full-resolution mask: the model's steps, and the fallback's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from PIL import Image

from shared.metrics.review import model_signals
from worker.models.spec import ModelSpec
from worker.pipeline.cleanup import clean_mask
from worker.pipeline.mask import normalise, to_full_size, to_full_size_rembg
from worker.pipeline.preprocess import model_input
from worker.pipeline.timing import StageTimer


class Model(Protocol):
    """What the pipeline needs of an inference engine."""

    spec: ModelSpec

    @property
    def name(self) -> str: ...

    def predict(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray: ...


ModelLoader = Callable[[str], Model]


def model_tensor(
    rgb: Image.Image, model: Model, *, exact_rembg: bool, timer: StageTimer
) -> np.ndarray:
    """The model's input for `rgb`."""
    with timer.stage("preprocess"):
        return model_input(rgb, model.spec, exact_rembg=exact_rembg)


def probability(
    tensor: np.ndarray, model: Model, *, shrink_arena: bool, timer: StageTimer
) -> tuple[np.ndarray, dict[str, float]]:
    """The model's saliency map, stretched to [0, 1] as rembg does, and the review signals
    of all its output maps (the side maps are dropped here, at model size).
    """
    with timer.stage("inference"):
        # Engines with side outputs return them all; a model with `predict` only (a fake,
        # another engine) gives its one map, and the signals read no disagreement.
        predict_all = getattr(model, "predict_all", None)
        if predict_all is not None:
            maps = predict_all(tensor, shrink_arena=shrink_arena)
        else:
            maps = model.predict(tensor, shrink_arena=shrink_arena)[None]
    with timer.stage("review"):
        image = tensor[0] if tensor.shape[-2:] == maps.shape[-2:] else None
        signals = model_signals(maps, image)
    return normalise(maps[0]), signals


def full_size_mask(
    probability_map: np.ndarray,
    size: tuple[int, int],
    *,
    exact_rembg: bool,
    cleanup: bool,
    timer: StageTimer,
) -> Image.Image:
    """The 8-bit mask at the image's full size (after the optional clean-up)."""
    with timer.stage("upscale"):
        if cleanup:
            probability_map = clean_mask(probability_map)
        upscale = to_full_size_rembg if exact_rembg else to_full_size
        return upscale(probability_map, size)
