"""scripts/quantize_model.py: QDQ int8 with two nodes kept in float, idempotent builds, and the
real u2netp-int8's masks next to fp32's (skips without the weights or the eval data).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from scripts import quantize_model
from scripts.quantize_model import (
    QuantSettings,
    build,
    cpu_flags,
    default_weight_type,
    is_current,
    quantize,
)
from shared.errors import ModelUnavailable
from tests.conftest import require_eval_data, require_real_model
from worker.models.modelfile import file_digest
from worker.models.session import OnnxModel
from worker.models.spec import REGISTRY
from worker.pipeline.mask import normalise, to_full_size
from worker.pipeline.preprocess import model_input

FIXTURES = ["anime-girl-1", "car-1", "cloth-1", "plants-1"]


def _conv(
    name: str, source: str, target: str, shape: tuple[int, ...], seed: int
) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    rng = np.random.default_rng(seed)
    weight = numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), f"{name}_w")
    bias = numpy_helper.from_array(rng.normal(0, 0.1, shape[:1]).astype(np.float32), f"{name}_b")
    node = helper.make_node(
        "Conv", [source, weight.name, bias.name], [target], name=name, pads=[1, 1, 1, 1]
    )
    return node, [weight, bias]


def build_conv_model(path: Path, *, size: int = 32, names: tuple[str, str] | None = None) -> Path:
    """A tiny opset-11 conv net shaped like u2netp around Conv_787: conv, conv, concat, conv."""
    concat_name, last_name = names or ("Concat_786", "Conv_787")
    first, first_weights = _conv("Conv_0", "input.1", "c0", (4, 3, 3, 3), seed=1)
    second, second_weights = _conv("Conv_2", "r0", "c2", (4, 4, 3, 3), seed=2)
    last, last_weights = _conv(last_name, "cat", "logit", (1, 8, 3, 3), seed=3)
    nodes = [
        first,
        helper.make_node("Relu", ["c0"], ["r0"], name="Relu_1"),
        second,
        helper.make_node("Relu", ["c2"], ["r2"], name="Relu_3"),
        helper.make_node("Concat", ["r2", "r0"], ["cat"], name=concat_name, axis=1),
        last,
        helper.make_node("Sigmoid", ["logit"], ["d0"], name="Sigmoid_5"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_conv",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("d0", TensorProto.FLOAT, [1, 1, size, size])],
        first_weights + second_weights + last_weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6  # what the real u2netp.onnx (PyTorch 1.9, opset 11) carries
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _tensors(count: int, size: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(0, 1, (1, 3, size, size)).astype(np.float32) for _ in range(count)]


def _run(path: Path, tensor: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"input.1": tensor})[0])


def test_quantize_inserts_qdq_and_keeps_the_excluded_nodes_in_float(tmp_path: Path) -> None:
    source = build_conv_model(tmp_path / "tiny.onnx")
    target = tmp_path / "tiny-int8.onnx"
    quantize(source, target, _tensors(4, 32), QuantSettings())
    model = onnx.load(target)
    onnx.checker.check_model(model)
    producers = {output: node for node in model.graph.node for output in node.output}
    nodes = {node.name: node for node in model.graph.node}
    floats = {init.name for init in model.graph.initializer if init.data_type == TensorProto.FLOAT}
    op_types = {node.op_type for node in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= op_types
    assert model.opset_import[0].version == 13
    assert producers[nodes["Conv_0"].input[1]].op_type == "DequantizeLinear"
    kept = nodes["Conv_787"]
    assert producers[kept.input[0]].name == "Concat_786"
    assert set(kept.input[1:]) <= floats, "Conv_787's weight and bias must stay float"
    consumers = [node.op_type for node in model.graph.node if "cat" in node.input]
    assert consumers == ["Conv"], "Concat_786's output must reach Conv_787 unquantized"


def test_quantized_model_stays_close_to_float(tmp_path: Path) -> None:
    source = build_conv_model(tmp_path / "tiny.onnx")
    target = tmp_path / "tiny-int8.onnx"
    quantize(source, target, _tensors(4, 32), QuantSettings())
    tensor = _tensors(5, 32)[-1]
    assert np.abs(_run(source, tensor) - _run(target, tensor)).mean() < 0.02


def test_renamed_nodes_fail_loudly_instead_of_quantizing_everything(tmp_path: Path) -> None:
    source = build_conv_model(tmp_path / "tiny.onnx", names=("Concat_9", "Conv_10"))
    with pytest.raises(SystemExit, match="Conv_787"):
        quantize(source, tmp_path / "out.onnx", _tensors(1, 32), QuantSettings())
    assert not (tmp_path / "out.onnx").exists()


def test_second_run_finds_the_build_present_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_conv_model(tmp_path / quantize_model.SOURCE_FILE, size=320)
    assert build(tmp_path, QuantSettings()) == "built"
    target = tmp_path / quantize_model.TARGET_FILE
    built = target.stat().st_mtime_ns, target.read_bytes()
    assert quantize_model.main(["--model-dir", str(tmp_path)]) == 0
    assert "present" in capsys.readouterr().out
    assert (target.stat().st_mtime_ns, target.read_bytes()) == built


def test_other_settings_or_another_source_make_the_build_stale(tmp_path: Path) -> None:
    source = build_conv_model(tmp_path / quantize_model.SOURCE_FILE, size=320)
    settings = QuantSettings()
    build(tmp_path, settings)
    target, sidecar = tmp_path / quantize_model.TARGET_FILE, tmp_path / quantize_model.SIDECAR_FILE
    digest = file_digest(source)
    assert is_current(target, sidecar, digest, settings)
    assert not is_current(target, sidecar, digest, replace(settings, calibrate_method="Entropy"))
    assert not is_current(target, sidecar, "0" * 64, settings)


def test_missing_int8_file_names_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="make setup.*quantize_model"):
        OnnxModel(REGISTRY["u2netp-int8"], tmp_path / "u2netp-int8.onnx", threads=1)


@pytest.fixture(scope="module")
def int8_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with u2netp.onnx and a current u2netp-int8.onnx (the one `make setup` built)."""
    real = require_real_model()
    settings = QuantSettings()
    target = real.parent / quantize_model.TARGET_FILE
    sidecar = real.parent / quantize_model.SIDECAR_FILE
    if is_current(target, sidecar, file_digest(real), settings):
        return real.parent
    folder = tmp_path_factory.mktemp("int8")
    shutil.copy(real, folder / real.name)
    build(folder, settings)
    return folder


@pytest.fixture(scope="module")
def fp32_and_int8(int8_dir: Path) -> tuple[OnnxModel, OnnxModel]:
    fp32, int8 = (REGISTRY[name] for name in ("u2netp", "u2netp-int8"))
    return (
        OnnxModel(fp32, int8_dir / fp32.file_name, threads=2),
        OnnxModel(int8, int8_dir / int8.file_name, threads=2),
    )


def _mask(model: OnnxModel, picture: Image.Image) -> np.ndarray:
    saliency = model.predict(model_input(picture, model.spec))
    return np.asarray(to_full_size(normalise(saliency), picture.size), dtype=np.float32)


@pytest.mark.model
@pytest.mark.eval
@pytest.mark.parametrize("name", FIXTURES)
def test_int8_masks_match_fp32_on_the_rembg_fixtures(
    name: str, fp32_and_int8: tuple[OnnxModel, OnnxModel]
) -> None:
    folder = require_eval_data("rembg-fixtures", "fixtures")
    with Image.open(folder / f"{name}.jpg") as opened:
        picture = opened.convert("RGB")
    fp32, int8 = fp32_and_int8
    difference = np.abs(_mask(fp32, picture) - _mask(int8, picture)).mean()
    assert difference < 3, f"mean abs difference {difference:.2f} grey levels"


def test_weight_type_follows_the_cpus_int8_dot_products(tmp_path: Path) -> None:
    assert default_weight_type({"avx2", "avx512_vnni"}) == "QInt8"
    assert default_weight_type({"avx2", "amx_int8", "amx_tile"}) == "QInt8"
    assert default_weight_type({"avx2", "fma"}) == "QUInt8"
    assert default_weight_type(set()) == "QUInt8"
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: X\nflags\t\t: fpu avx2 avx_vnni\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "avx_vnni"}
    assert cpu_flags(tmp_path / "missing") == set()
