"""Model specs, file checks, thread counts and the onnxruntime session, on tiny ONNX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.errors import InferenceFailed, ModelUnavailable
from shared.settings import Settings
from tests.onnx_models import build_model
from worker.models import session as session_module
from worker.models.cpu import cgroup_cpu_quota, usable_cpus
from worker.models.openvino_engine import OpenVinoModel
from worker.models.session import OnnxModel, get_model
from worker.models.spec import REGISTRY, ModelSpec, resolve_spec


def test_registered_name_resolves_to_the_model_dir(tmp_path: Path) -> None:
    spec, path = resolve_spec("u2netp", tmp_path)
    assert path == tmp_path / "u2netp.onnx"
    assert spec.input_size == (320, 320) and spec.sha256 is not None


def test_a_path_named_like_a_registered_model_takes_its_spec_without_the_hash(
    tmp_path: Path,
) -> None:
    spec, path = resolve_spec(str(tmp_path / "isnet-general-use.onnx"), Path("/elsewhere"))
    assert spec.input_size == (1024, 1024) and spec.mean == (0.5, 0.5, 0.5)
    assert spec.sha256 is None and path == tmp_path / "isnet-general-use.onnx"


def test_an_unknown_path_gets_u2net_defaults(tmp_path: Path) -> None:
    spec, _ = resolve_spec(str(tmp_path / "custom.onnx"), tmp_path)
    assert spec.name == "custom" and spec.input_size == (320, 320)


# Both engines check the file the same way before loading it.
ENGINES = [OnnxModel, OpenVinoModel]


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_file_names_the_fix(tmp_path: Path, engine: type) -> None:
    with pytest.raises(ModelUnavailable, match="make setup"):
        engine(REGISTRY["u2netp"], tmp_path / "u2netp.onnx", threads=1)


@pytest.mark.parametrize("engine", ENGINES)
def test_corrupt_file_is_caught_by_its_hash(tmp_path: Path, engine: type) -> None:
    path = tmp_path / "u2netp.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable, match="corrupt"):
        engine(REGISTRY["u2netp"], path, threads=1)


def test_unloadable_file_without_a_hash_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x00garbage")
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        OnnxModel(ModelSpec("broken", "broken.onnx"), path, threads=1)


def test_input_size_is_read_from_the_file(tmp_path: Path) -> None:
    path = build_model(tmp_path / "small.onnx", size=64)
    model = OnnxModel(ModelSpec("small", "small.onnx"), path, threads=1)
    assert model.spec.input_size == (64, 64)
    saliency = model.predict(np.zeros((1, 3, 64, 64), np.float32))
    assert saliency.shape == (64, 64)


def test_predict_takes_output_zero_channel_zero(tiny_model: Path) -> None:
    model = OnnxModel(ModelSpec("tiny", "tiny.onnx"), tiny_model, threads=1)
    tensor = np.full((1, 3, 320, 320), 2.0, np.float32)
    saliency = model.predict(tensor)
    # sigmoid(2) from output d0; output d1 is its negation and must not be picked.
    np.testing.assert_allclose(saliency, 1 / (1 + np.exp(-2.0)), rtol=1e-6)
    np.testing.assert_allclose(model.predict(tensor, shrink_arena=True), saliency)


def test_non_finite_output_is_an_inference_failure(tmp_path: Path) -> None:
    path = build_model(tmp_path / "poison.onnx", poison=True)
    model = OnnxModel(ModelSpec("poison", "poison.onnx"), path, threads=1)
    with pytest.raises(InferenceFailed, match="non-finite"):
        model.predict(np.zeros((1, 3, 320, 320), np.float32))


def test_session_is_created_once_per_process(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "_models", {})
    settings = Settings(model=str(tiny_model), inference_threads=1)
    first = get_model(str(tiny_model), settings)
    assert get_model(str(tiny_model), settings) is first
    assert first.threads == 1


def test_cuda_on_a_machine_without_it_is_refused(tiny_model: Path) -> None:
    if "CUDAExecutionProvider" in session_module.ort.get_available_providers():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelUnavailable, match="CUDA"):
        OnnxModel(ModelSpec("tiny", "tiny.onnx"), tiny_model, threads=1, provider="cuda")


def test_cgroup_v2_quota_is_read(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(tmp_path) == 1.5


def test_cgroup_v2_without_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None


def test_cgroup_v1_quota_is_read(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(tmp_path) == 0.5
    assert usable_cpus(tmp_path) == 1


def test_usable_cpus_is_capped_by_the_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert usable_cpus(tmp_path) == 1
    assert usable_cpus(tmp_path / "absent") >= 1


def test_predict_all_returns_every_map_the_saliency_first(tiny_model: Path) -> None:
    model = OnnxModel(ModelSpec("tiny", "tiny.onnx", output_index=1), tiny_model, threads=1)
    maps = model.predict_all(np.full((1, 3, 320, 320), 2.0, np.float32))
    assert maps.shape == (2, 320, 320) and maps.dtype == np.float32
    # output_index=1 puts d1 (the negation) first, then the rest in the file's order.
    np.testing.assert_allclose(maps[0], -1 / (1 + np.exp(-2.0)), rtol=1e-6)
    np.testing.assert_allclose(maps[1], -maps[0])
