"""The onnxruntime engine, and the process-wide cache of loaded models of either engine."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from shared.errors import InferenceFailed, ModelUnavailable
from shared.settings import Settings
from worker.models.cpu import thread_count
from worker.models.failures import NOT_MODEL_FAILURES, model_failure
from worker.models.engine_choice import Engine, choose_engine, cuda_wanted
from worker.models.maps import checked_maps
from worker.models.modelfile import FETCH_HINT, check_file
from worker.models.openvino_engine import OpenVinoModel
from worker.models.spec import ModelSpec, resolve_spec

log = logging.getLogger(__name__)
OPENVINO_CACHE = ".ov-cache"


def _providers(choice: str) -> list[str]:
    if choice == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
        raise ModelUnavailable(
            "CUTOUT_EXECUTION_PROVIDER=cuda but onnxruntime has no CUDA provider"
        )
    return (
        ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if cuda_wanted(choice)
        else ["CPUExecutionProvider"]
    )


def _session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    # Measured: same speed, ~200 MB less resident memory after a few runs. The arena stays
    # on: turning it off made inference 1.6x slower.
    options.enable_mem_pattern = False
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return options


class OnnxModel:
    """A loaded u2net-family model: `predict` maps an NCHW tensor to a saliency map."""

    engine = "onnxruntime"

    def __init__(self, spec: ModelSpec, path: Path, *, threads: int, provider: str = "auto"):
        check_file(spec, path)
        try:
            self._session = ort.InferenceSession(
                str(path), _session_options(threads), providers=_providers(provider)
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors on bad files
            raise ModelUnavailable(
                f"model file {path} could not be loaded ({exc}): {FETCH_HINT}"
            ) from exc
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self.spec = replace(spec, input_size=_static_size(model_input.shape, spec.input_size))
        self.threads = threads

    @property
    def name(self) -> str:
        return self.spec.name

    def predict(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray:
        """The raw saliency map (float32, input_size) for one preprocessed NCHW tensor.

        `shrink_arena` hands the activations' memory back after the run (1.5x slower), for
        large images whose full-resolution buffers must fit beside the session.
        """
        return self.predict_all(tensor, shrink_arena=shrink_arena)[0]

    def predict_all(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray:
        """Every output map of one run, (outputs, H, W) float32, the saliency map first.

        u2net-family files return the fused map and one map per decoder stage; the stages'
        disagreement is what the review score reads as uncertainty, at no extra inference.
        """
        run_options = ort.RunOptions()
        if shrink_arena:
            run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        try:
            outputs = self._session.run(None, {self._input_name: tensor}, run_options)
        except NOT_MODEL_FAILURES:
            raise
        except Exception as exc:  # onnxruntime raises untyped runtime errors
            raise model_failure(self.name, str(exc)) from exc
        return checked_maps(outputs, self.spec.output_index, self.name)



def _static_size(shape: list, default: tuple[int, int]) -> tuple[int, int]:
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int):
        return (width, height)
    return default


_lock = threading.Lock()
_models: dict[tuple[str, Engine], OnnxModel | OpenVinoModel] = {}  # (file, engine)


def get_model(name_or_path: str, settings: Settings) -> OnnxModel | OpenVinoModel:
    """The process's loaded model on its engine, created once (thread-safe) and then reused."""
    with _lock:
        spec, path = resolve_spec(name_or_path, settings.model_dir)
        engine = choose_engine(spec.name, settings)
        # Keyed by the file, not the name: the same name in another model folder is
        # another model (or a missing one).
        key = (str(path), engine)
        if key not in _models:
            threads = thread_count(settings.inference_threads)
            log.info("loading %s from %s on %s, %d threads", spec.name, path, engine, threads)
            _models[key] = _load(engine, spec, path, threads, settings)
        return _models[key]


def _load(
    engine: Engine, spec: ModelSpec, path: Path, threads: int, settings: Settings
) -> OnnxModel | OpenVinoModel:
    if engine == "openvino":
        cache_dir = settings.openvino_cache_dir or settings.model_dir / OPENVINO_CACHE
        return OpenVinoModel(spec, path, threads=threads, cache_dir=cache_dir)
    return OnnxModel(spec, path, threads=threads, provider=settings.execution_provider)
