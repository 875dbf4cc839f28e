"""Tiny ONNX models in the u2net family's shape, built with onnx.helper for the tests.

They exercise the real loading and inference path without the real weights: NCHW float32
in, a (1, 1, H, W) saliency map out as output 0 (u2net has seven outputs; two are enough
to prove the spec picks output 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build_model(path: Path, *, size: int | None = 320, poison: bool = False) -> Path:
    """Write a model whose saliency is sigmoid(mean of channels); `poison` makes it NaN.

    `size=None` leaves height and width dynamic, as some exported files do.
    """
    dims: list[int | str] = [1, 3, size, size] if size else [1, 3, "height", "width"]
    out_dims: list[int | str] = [1, 1, size, size] if size else [1, 1, "height", "width"]
    graph_input = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, dims)
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, out_dims) for name in ("d0", "d1")
    ]
    nodes = [
        helper.make_node("ReduceMean", ["input.1", "axes"], ["mean"], keepdims=1),
        helper.make_node("Sigmoid", ["mean"], ["d0"]),
        helper.make_node("Neg", ["d0"], ["d1"]),
    ]
    initializers = [numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")]
    if poison:
        # log(-1) is NaN: a model that "runs" but returns garbage must not pass silently.
        nodes[1:2] = [
            helper.make_node("Sigmoid", ["mean"], ["positive"]),
            helper.make_node("Neg", ["positive"], ["negative"]),
            helper.make_node("Log", ["negative"], ["d0"]),
        ]
    graph = helper.make_graph(nodes, "tiny_u2net", [graph_input], outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
