"""Helpers for the scaling tests: a deliberately slow ONNX model, and jobs sent straight to
the queue (the job store, storage and Celery queue the API would use, without HTTP)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.conftest import encoded, subject_photo


def build_slow_model(path: Path, layers: int = 120, channels: int = 32, size: int = 320) -> Path:
    """A u2net-shaped model that spends a few seconds per image in a chain of convolutions.

    A job with it is reliably still running when the test signals its worker; with the tiny
    model a job ends within milliseconds.
    """
    dims = [1, 3, size, size]
    graph_input = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, dims)
    output = helper.make_tensor_value_info("d0", TensorProto.FLOAT, [1, 1, size, size])
    rng = np.random.default_rng(0)
    first = (rng.standard_normal((channels, 3, 3, 3)) * 0.1).astype(np.float32)
    shared = (rng.standard_normal((channels, channels, 3, 3)) * 0.02).astype(np.float32)
    initializers = [
        numpy_helper.from_array(first, "w_in"),
        numpy_helper.from_array(shared, "w"),  # one weight for every layer: a small file
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
    ]
    pads = [1, 1, 1, 1]
    nodes = [helper.make_node("Conv", ["input.1", "w_in"], ["x0"], pads=pads)]
    for i in range(layers):
        nodes.append(helper.make_node("Conv", [f"x{i}", "w"], [f"c{i}"], pads=pads))
        nodes.append(helper.make_node("Tanh", [f"c{i}"], [f"x{i + 1}"]))
    nodes += [
        helper.make_node("ReduceMean", [f"x{layers}", "axes"], ["mean"], keepdims=1),
        helper.make_node("Sigmoid", ["mean"], ["d0"]),
    ]
    graph = helper.make_graph(nodes, "slow_u2net", [graph_input], [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def small_photo(width: int = 96, height: int = 72) -> bytes:
    """A small JPEG: the scaling tests measure the queue, not the pipeline."""
    return encoded(subject_photo(width, height))
