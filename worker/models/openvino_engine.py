"""OpenVINO behind the same interface as OnnxModel: it compiles the same ONNX file for the CPU.

Optional and imported lazily: the package costs ~35 MB resident even when unused, so workers
on onnxruntime never import it; without it `openvino_available()` is False and engine `auto`
stays on onnxruntime.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import InferenceFailed, ModelUnavailable
from worker.models.failures import NOT_MODEL_FAILURES, model_failure
from worker.models.modelfile import FETCH_HINT, check_file, file_digest
from worker.models.spec import ModelSpec

log = logging.getLogger(__name__)
INSTALL_HINT = "the openvino package is not installed: pip install -r requirements-worker.txt"


@functools.cache
def _openvino() -> Any:
    try:
        import openvino
    except ImportError:  # an optional engine: onnxruntime serves every model without it
        return None
    return openvino


def openvino_available() -> bool:
    """Whether the openvino package can be imported (it is, by this call)."""
    return _openvino() is not None


def compile_config(threads: int, cache_dir: Path | None) -> dict[str, Any]:
    """The CPU plugin's properties: f32 precision, `threads` threads, one latency stream."""
    config: dict[str, Any] = {
        # On CPUs with bf16 units (AVX512-BF16, AMX) OpenVINO silently runs f32 models in bf16:
        # twice as fast here, but masks move by ~2.7/255 on average. Masks must not depend on
        # the CPU they ran on, so the precision is always explicit.
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY",
    }
    if cache_dir is not None:
        config["CACHE_DIR"] = str(cache_dir)
    return config


def usable_cache_dir(folder: Path, digest: str) -> Path | None:
    """A writable folder for the compiled blobs of the file with this sha256, or None
    (compile on every load).

    Keyed by the file's content: OpenVINO keys its cache by the file's path and metadata, and
    a test here showed a same-size rebuild with its time kept (`cp -p`, Docker's COPY) reusing
    the stale blob.
    """
    target = folder / digest[:16]
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.info("OpenVINO cache off: cannot create %s (%s)", target, exc)
        return None
    if not os.access(target, os.W_OK):
        log.info("OpenVINO cache off: %s is not writable", target)
        return None
    return target


class OpenVinoModel:
    """A loaded u2net-family model: `predict` maps an NCHW tensor to a saliency map."""

    engine = "openvino"

    def __init__(self, spec: ModelSpec, path: Path, *, threads: int, cache_dir: Path | None = None):
        digest = check_file(spec, path)
        ov = _openvino()
        if ov is None:
            raise ModelUnavailable(f"cannot run {spec.name} on OpenVINO: {INSTALL_HINT}")
        self.cache_dir = None
        if cache_dir:
            self.cache_dir = usable_cache_dir(cache_dir, digest or file_digest(path))
        try:
            self._compiled = ov.Core().compile_model(
                str(path), "CPU", compile_config(threads, self.cache_dir)
            )
        except Exception as exc:  # OpenVINO raises plain RuntimeErrors on bad files
            raise ModelUnavailable(
                f"model file {path} could not be loaded ({_message(exc)}): {FETCH_HINT}"
            ) from exc
        # A request owns its activation buffers; one request behind a lock serves all callers.
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()
        self.spec = replace(spec, input_size=self._input_size(spec.input_size))
        self.threads = threads

    @property
    def name(self) -> str:
        return self.spec.name

    def compiled_property(self, name: str) -> Any:
        """A property of the compiled model as OpenVINO reports it (e.g. the precision)."""
        return self._compiled.get_property(name)

    def predict(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray:
        """The raw saliency map (float32, input_size) for one preprocessed NCHW tensor.

        `shrink_arena` cannot be honoured: the compiled model keeps its activation memory
        (150-215 MB for u2netp here) for its whole life, and dropping the request returns
        none of it. The input size is fixed, so that memory does not grow with images either.
        """
        try:
            with self._lock:
                outputs = self._request.infer({0: tensor}, share_outputs=True)
                # The shared output is the request's buffer: copy it before the next run.
                saliency = np.array(outputs[self.spec.output_index][0, 0], np.float32)
        except NOT_MODEL_FAILURES:
            raise
        except Exception as exc:  # OpenVINO raises untyped runtime errors
            raise model_failure(self.name, _message(exc)) from exc
        if not np.isfinite(saliency).all():
            raise InferenceFailed(f"{self.name} returned non-finite values for this image")
        return saliency

    def _input_size(self, default: tuple[int, int]) -> tuple[int, int]:
        shape = self._compiled.inputs[0].get_partial_shape()
        height, width = shape[2], shape[3]
        if height.is_static and width.is_static:
            return (width.get_length(), height.get_length())
        return default


def _message(exc: Exception) -> str:
    # OpenVINO prefixes its message with one "Exception from <source file>" line per layer.
    lines = [line.strip() for line in str(exc).splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("Exception from"))
