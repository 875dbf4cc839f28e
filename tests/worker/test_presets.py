"""Which model a preset runs: fast's int8 build only where int8 inference pays."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.options import ProcessOptions
from shared.settings import Settings
from worker.models import instructions
from worker.models.instructions import cpu_flags
from worker.pipeline.run import resolve
from worker.presets import preset_model

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t: avx2\n"
WITH_VNNI = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n"


def _cpuinfo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def test_cpu_flags_are_read_from_the_first_processor(tmp_path: Path) -> None:
    assert cpu_flags(_cpuinfo(tmp_path, AVX2_ONLY)) == {"fpu", "sse2", "avx", "avx2", "fma"}
    assert "avx512_vnni" in (cpu_flags(_cpuinfo(tmp_path, WITH_VNNI)) or set())
    assert cpu_flags(_cpuinfo(tmp_path, "processor\t: 0\n")) is None
    assert cpu_flags(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("text", "machine", "pays"),
    [
        (AVX2_ONLY, "x86_64", False),  # int8 no faster than fp32 there
        (WITH_VNNI, "x86_64", True),
        ("processor\t: 0\n", "x86_64", True),  # unknown: the preset stands
        (AVX2_ONLY, "aarch64", True),  # not measured: the preset stands
    ],
)
def test_int8_pays_only_with_a_dot_product_instruction_on_x86(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, machine: str, pays: bool
) -> None:
    monkeypatch.setattr(instructions, "CPUINFO", _cpuinfo(tmp_path, text))
    monkeypatch.setattr(instructions.platform, "machine", lambda: machine)
    instructions.int8_pays.cache_clear()
    try:
        assert instructions.int8_pays() is pays
    finally:
        instructions.int8_pays.cache_clear()


def test_fast_runs_fp32_where_int8_does_not_pay() -> None:
    settings = Settings()
    assert preset_model("fast", settings, int8_faster=True) == "u2netp-int8"
    assert preset_model("fast", settings, int8_faster=False) == "u2netp"
    for preset in ("balanced", "best"):
        assert preset_model(preset, settings, int8_faster=True) == "u2netp"
        assert preset_model(preset, settings, int8_faster=False) == "u2netp"


def test_a_configured_model_is_kept_everywhere() -> None:
    settings = Settings(model="u2netp-int8")
    assert preset_model("fast", settings, int8_faster=False) == "u2netp-int8"
    assert preset_model("best", settings, int8_faster=True) == "u2netp-int8"


@pytest.mark.parametrize("pays", [True, False])
def test_jobs_resolve_fast_to_the_model_this_cpu_runs_best(
    monkeypatch: pytest.MonkeyPatch, pays: bool
) -> None:
    monkeypatch.setattr("worker.presets.int8_pays", lambda: pays)
    fast = resolve(ProcessOptions(preset="fast"), Settings())
    assert fast.model == ("u2netp-int8" if pays else "u2netp")
    # A model asked for by name, and --compat rembg, are never swapped.
    named = resolve(ProcessOptions(preset="fast", model="u2netp-int8"), Settings())
    assert named.model == "u2netp-int8"
    assert resolve(ProcessOptions(preset="fast", compat="rembg"), Settings()).model == "u2netp"
