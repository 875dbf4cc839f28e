"""The worker's budget: the cgroup memory limit read from files, and what it allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import Settings
from worker.resources import (
    ROOM_FRACTION,
    WorkerBudget,
    budgeted,
    cgroup_memory_limit,
    derive_budget,
    peak_mb,
    with_room,
)

MB = 1024 * 1024


def _cgroup_tree(tmp_path: Path, proc_lines: list[str], files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "fs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "cgroup").write_text("\n".join(proc_lines) + "\n")
    return tmp_path / "fs"


def test_v1_limit_of_the_process_own_group(tmp_path: Path) -> None:
    root = _cgroup_tree(
        tmp_path,
        ["4:memory:/bench/worker", "1:cpu:/", "0::/"],
        {
            "memory/memory.limit_in_bytes": str((1 << 63) - 4096),  # the host: unlimited
            "memory/bench/worker/memory.limit_in_bytes": str(512 * MB),
        },
    )
    assert cgroup_memory_limit(root, tmp_path / "cgroup") == 512 * MB


def test_v2_limit_and_max_means_unlimited(tmp_path: Path) -> None:
    root = _cgroup_tree(tmp_path, ["0::/app"], {"app/memory.max": str(300 * MB)})
    assert cgroup_memory_limit(root, tmp_path / "cgroup") == 300 * MB
    (root / "app" / "memory.max").write_text("max\n")
    assert cgroup_memory_limit(root, tmp_path / "cgroup") is None


def test_container_namespace_root_is_read_when_the_named_group_is_not_mounted(
    tmp_path: Path,
) -> None:
    # Inside a container /proc/self/cgroup names the host's path, the group is mounted as root.
    root = _cgroup_tree(
        tmp_path, ["4:memory:/docker/abc"], {"memory/memory.limit_in_bytes": str(512 * MB)}
    )
    assert cgroup_memory_limit(root, tmp_path / "cgroup") == 512 * MB


def test_no_cgroup_files_means_no_limit(tmp_path: Path) -> None:
    assert cgroup_memory_limit(tmp_path / "none", tmp_path / "missing") is None


def _budget(limit_mb: int | None, **settings: object):
    return derive_budget(Settings(**settings), None if limit_mb is None else limit_mb * MB, None, 2)


def test_without_a_limit_the_settings_stand() -> None:
    budget = _budget(None)
    assert (budget.preset, budget.max_megapixels, budget.constrained) == ("balanced", 25.0, False)


def test_a_512_mb_worker_keeps_the_defaults() -> None:
    budget = _budget(512)
    assert budget.constrained and budget.preset == "balanced" and budget.max_megapixels == 25.0


@pytest.mark.parametrize(
    ("engine", "limit_mb", "preset"),
    [
        ("onnxruntime", 512, "balanced"),
        ("onnxruntime", 400, "fast"),
        ("openvino", 320, "balanced"),
        ("openvino", 256, "fast"),
    ],
)
def test_a_smaller_limit_steps_the_default_preset_down(
    engine: str, limit_mb: int, preset: str
) -> None:
    assert derive_budget(Settings(), limit_mb * MB, None, 2, engine).preset == preset
    explicit = derive_budget(Settings(preset="best"), limit_mb * MB, None, 2, engine)
    assert explicit.preset == "best"  # an explicit choice is kept


def test_the_largest_input_follows_the_measured_peaks() -> None:
    # OpenVINO keeps its working memory: 25 MP fits 512 MB, not 384 MB.
    assert derive_budget(Settings(), 512 * MB, None, 2, "openvino").max_megapixels == 25.0
    smaller = derive_budget(Settings(), 384 * MB, None, 2, "openvino")
    assert 10 < smaller.max_megapixels < 25
    assert peak_mb("openvino", smaller.preset, smaller.max_megapixels) <= 384 * 0.9
    # onnxruntime hands its arena back before the full-resolution stages: no lower limit.
    assert derive_budget(Settings(), 512 * MB, None, 2).max_megapixels == 25.0


def test_a_small_limit_lowers_the_largest_input() -> None:
    budget = _budget(256)
    assert budget.preset == "fast"
    assert 1.0 <= budget.max_megapixels < 10
    assert budgeted(Settings(), budget).max_megapixels == budget.max_megapixels


def test_explicit_max_megapixels_wins() -> None:
    assert _budget(256, max_megapixels=40.0).max_megapixels == 40.0


def test_memory_constrained_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_CONSTRAINED", "true")
    constrained = derive_budget(Settings(), None, None, 2)
    assert constrained.constrained and constrained.preset == "fast"
    assert "MEMORY_CONSTRAINED" in constrained.reason
    monkeypatch.setenv("MEMORY_CONSTRAINED", "false")
    off = derive_budget(Settings(), 256 * MB, None, 2)
    assert not off.constrained and off.preset == "balanced" and off.max_megapixels == 25.0


def test_explicit_preset_from_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUTOUT_PRESET", "best")
    assert derive_budget(Settings(), 384 * MB, None, 2).preset == "best"


def test_describe_names_the_limits() -> None:
    text = _budget(512).describe()
    assert "memory limit 512 MB" in text and "25 MP" in text and "balanced" in text


def _auto_budget(limit_mb: int | None, **settings: object) -> WorkerBudget:
    """The budget `read_budget` makes for an x86 worker where auto picked OpenVINO."""
    chosen = Settings(**settings)  # type: ignore[arg-type]
    limits = (None if limit_mb is None else limit_mb * MB, None, 2)
    return with_room(chosen, derive_budget(chosen, *limits, "openvino"), limits)


def test_fast_on_fp32_keeps_openvino_while_its_peak_leaves_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("worker.presets.int8_pays", lambda: False)  # AVX2 alone: fast is fp32
    budget = _auto_budget(512, preset="fast")
    assert budget.engine == "openvino" and not budget.engine_for_room
    assert peak_mb("openvino", "fast", budget.max_megapixels) <= 512 * (1 - ROOM_FRACTION)


def test_auto_leaves_openvino_when_it_would_leave_a_512_mb_worker_no_room() -> None:
    budget = _auto_budget(512)
    assert budget.engine == "onnxruntime" and budget.engine_for_room
    assert budget.preset == "balanced" and budget.max_megapixels == 25.0
    room = 512 * (1 - ROOM_FRACTION)
    assert peak_mb("openvino", "balanced", 25.0) > room >= peak_mb("onnxruntime", "balanced", 25)
    assert budgeted(Settings(), budget).engine == "onnxruntime"
    assert "onnxruntime, as OpenVINO would leave" in budget.describe()


@pytest.mark.parametrize(
    ("limit_mb", "settings"),
    [
        (1024, {}),  # room enough on OpenVINO
        (None, {}),  # no limit: speed alone decides
        (512, {"engine": "openvino"}),  # asked for by name
        (512, {"preset": "fast"}),  # int8: OpenVINO is twice as fast
    ],
)
def test_auto_keeps_openvino_otherwise(
    limit_mb: int | None, settings: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("worker.presets.int8_pays", lambda: True)  # a CPU with VNNI or AMX
    budget = _auto_budget(limit_mb, **settings)
    assert budget.engine == "openvino" and not budget.engine_for_room
    assert "engine" not in budgeted(Settings(**settings), budget).model_fields_set - set(settings)
