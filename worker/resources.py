"""What this worker may use (its cgroup memory limit and CPUs) and what that lets it accept.

The worker reads its real memory limit at start, logs it, and derives from it the largest
input it takes and the default preset, so a small container refuses an image it cannot hold
up front (`image_too_large`) instead of being OOM-killed half-way. Explicit settings
(`CUTOUT_PRESET`, `CUTOUT_MAX_MEGAPIXELS`) always win; `MEMORY_CONSTRAINED=false` turns the
derivation off, `=true` turns it on even where no limit can be read (then 512 MB is assumed).

Like worker/models/cpu.py this reads the cgroup files itself: psutil reports the host's
memory, not the container's limit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

from shared.settings import Settings
from worker.models.cpu import CGROUP_ROOT, cgroup_cpu_quota, usable_cpus
from worker.models.engine_choice import choose_engine
from worker.presets import preset_model

log = logging.getLogger(__name__)

ASSUMED_CONSTRAINED_BYTES = 512 * 1024 * 1024
# cgroup v1 reports "no limit" as a page-rounded 2**63-1.
UNLIMITED_V1 = 1 << 60
# Kept free for the Celery parent's own pages, the page cache and allocator slack.
HEADROOM_FRACTION = 0.10

# Peak memory of the whole worker (parent + child, anonymous pages as its memory cgroup counts
# them) for a 1024 px and a 25 MP JPEG with full-resolution PNG output, per engine and preset:
# `python -m bench.memory` (bench/results/memory.json). Between and beyond the two sizes the
# peak is taken as linear in megapixels. onnxruntime hands its arena back before the
# full-resolution stages of large images, hence its flat line. `balanced` (clean colours on,
# the review score) was measured again with bench/results/memory_engine_room.json's commands.
MEASURED_PEAK_MB: dict[tuple[str, str], tuple[float, float]] = {
    ("openvino", "fast"): (222, 406),
    ("openvino", "balanced"): (262, 438),
    ("openvino", "best"): (289, 445),
    ("onnxruntime", "fast"): (240, 305),
    ("onnxruntime", "balanced"): (401, 379),
    ("onnxruntime", "best"): (421, 378),
}
MEASURED_MEGAPIXELS = (1024 * 768 / 1e6, 6124 * 4082 / 1e6)
# CUTOUT_ENGINE=auto under a memory limit: OpenVINO keeps its activations for the process's
# life while onnxruntime hands its arena back before a large image's full-resolution stages,
# so at the largest inputs OpenVINO peaks higher. For models on which it is barely faster
# (fp32 u2netp: 0.77-0.90x onnxruntime's inference time, bench/engines.py; the same
# end-to-end time at 25 MP, where decoding and encoding dominate), a worker whose largest
# input would leave less than ROOM_FRACTION of its limit free on OpenVINO runs onnxruntime
# when that leaves the room. int8 (OpenVINO 2x faster) keeps the measured choice.
# Measured at 25 MP, balanced: OpenVINO 438 MB against onnxruntime 379 MB (pipeline 12.9
# against 13.4 s on a loaded 2-core machine); on a Zen 5 server 485 against 391 MB.
ROOM_FRACTION = 0.15
SIMILAR_SPEED_MODELS = frozenset({"u2netp"})
PRESETS_BY_COST = ["best", "balanced", "fast"]


def _own_cgroup(controller: str, proc_cgroup: Path) -> str | None:
    """This process's cgroup path for a v1 controller, or the v2 path ("" controller)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


def _read_limit(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        limit = int(text)
    except ValueError:
        return None
    return None if limit >= UNLIMITED_V1 else limit


def cgroup_memory_limit(
    root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")
) -> int | None:
    """The memory limit in bytes of this process's cgroup (v2 or v1), or None when unlimited.

    Inside a container the cgroup namespace makes its own group the root; on a host (or in a
    group made by a benchmark) /proc/self/cgroup names the group, so both places are read.
    """
    candidates = []
    v2 = _own_cgroup("", proc_cgroup)
    if v2 is not None:
        candidates.append(root / v2.lstrip("/") / "memory.max")
    v1 = _own_cgroup("memory", proc_cgroup)
    if v1 is not None:
        candidates.append(root / "memory" / v1.lstrip("/") / "memory.limit_in_bytes")
    candidates += [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    limits = [limit for limit in map(_read_limit, candidates) if limit is not None]
    return min(limits) if limits else None


@dataclass(frozen=True)
class WorkerBudget:
    """The limits read at start and what they allow."""

    memory_limit_bytes: int | None
    cpu_quota: float | None
    cpus: int
    engine: str
    constrained: bool
    max_megapixels: float
    preset: str
    reason: str
    engine_for_room: bool = False  # auto's measured choice was set aside to keep room

    def describe(self) -> str:
        memory = (
            "none" if self.memory_limit_bytes is None else f"{self.memory_limit_bytes >> 20} MB"
        )
        quota = "none" if self.cpu_quota is None else f"{self.cpu_quota:g}"
        return (
            f"memory limit {memory}, CPU quota {quota}, {self.cpus} usable CPUs; "
            f"accepting up to {self.max_megapixels:g} MP, default preset {self.preset} "
            f"on {self.engine} ({self.reason})"
        )


def _peak_line(engine: str, preset: str) -> tuple[float, float, float]:
    """(megapixels, MB) of the smaller measurement and the MB per megapixel between the two."""
    (small_mp, large_mp), (small, large) = MEASURED_MEGAPIXELS, MEASURED_PEAK_MB[engine, preset]
    return small_mp, small, (large - small) / (large_mp - small_mp)


def peak_mb(engine: str, preset: str, megapixels: float) -> float:
    """The worker's expected peak for one image of this size (see MEASURED_PEAK_MB)."""
    small_mp, small, slope = _peak_line(engine, preset)
    return max(small, small + slope * (megapixels - small_mp))


def _largest_input(engine: str, preset: str, usable_mb: float, ceiling: float) -> float:
    """The largest megapixels (in half steps, at least 1, at most `ceiling`) that fit."""
    small_mp, small, slope = _peak_line(engine, preset)
    if slope <= 0:
        return ceiling
    megapixels = small_mp + (usable_mb - small) / slope
    return min(ceiling, max(1.0, math.floor(megapixels * 2) / 2))


def _fitting_preset(engine: str, wanted: str, usable_mb: float) -> str:
    """The wanted preset, or the next cheaper one whose peak at 1024 px fits."""
    for preset in PRESETS_BY_COST[PRESETS_BY_COST.index(wanted) :]:
        if MEASURED_PEAK_MB[engine, preset][0] <= usable_mb:
            return preset
    return "fast"


def derive_budget(
    settings: Settings,
    memory_limit_bytes: int | None,
    cpu_quota: float | None,
    cpus: int,
    engine: str = "onnxruntime",
) -> WorkerBudget:
    """The largest input and default preset this worker can afford under its limits."""
    explicit = settings.model_fields_set
    budget = WorkerBudget(
        memory_limit_bytes=memory_limit_bytes,
        cpu_quota=cpu_quota,
        cpus=cpus,
        engine=engine,
        constrained=False,
        max_megapixels=settings.max_megapixels,
        preset=settings.preset,
        reason="settings as given",
    )
    if settings.memory_constrained is False:
        return budget
    limit = memory_limit_bytes
    if limit is None:
        if not settings.memory_constrained:
            return replace(budget, reason="no memory limit found")
        limit = ASSUMED_CONSTRAINED_BYTES
    usable_mb = (limit >> 20) * (1 - HEADROOM_FRACTION)
    preset: str = settings.preset
    if "preset" not in explicit:
        if settings.memory_constrained:
            preset = "fast"
        else:
            preset = _fitting_preset(engine, preset, usable_mb)
    max_megapixels = settings.max_megapixels
    if "max_megapixels" not in explicit:
        max_megapixels = _largest_input(engine, preset, usable_mb, max_megapixels)
    if peak_mb(engine, preset, 1.0) > usable_mb:
        log.warning(
            "a %d MB memory limit is below what the %s preset needs on %s (about %d MB): "
            "jobs may be killed",
            limit >> 20,
            preset,
            engine,
            peak_mb(engine, preset, 1.0) / (1 - HEADROOM_FRACTION),
        )
    return replace(
        budget,
        constrained=True,
        max_megapixels=max_megapixels,
        preset=preset,
        reason=f"derived from {limit >> 20} MB"
        + (" (MEMORY_CONSTRAINED)" if settings.memory_constrained else ""),
    )


def read_budget(settings: Settings) -> WorkerBudget:
    """The budget for this process's real limits and the engine its default model runs on."""
    engine = choose_engine(preset_model(settings.preset, settings), settings)
    limits = (cgroup_memory_limit(), cgroup_cpu_quota(), usable_cpus())
    return with_room(settings, derive_budget(settings, *limits, engine), limits)


def with_room(
    settings: Settings, budget: WorkerBudget, limits: tuple[int | None, float | None, int]
) -> WorkerBudget:
    """The budget on onnxruntime instead of OpenVINO when `auto` chose OpenVINO for a model
    it barely speeds up and, at the largest accepted input, only onnxruntime leaves
    ROOM_FRACTION of the memory limit free (see SIMILAR_SPEED_MODELS)."""
    memory_limit = limits[0]
    if memory_limit is None and settings.memory_constrained:
        memory_limit = ASSUMED_CONSTRAINED_BYTES
    similar = preset_model(budget.preset, settings) in SIMILAR_SPEED_MODELS
    if settings.engine != "auto" or budget.engine != "openvino" or not similar:
        return budget
    if not budget.constrained or memory_limit is None:
        return budget
    room_mb = (memory_limit >> 20) * (1 - ROOM_FRACTION)
    if peak_mb("openvino", budget.preset, budget.max_megapixels) <= room_mb:
        return budget
    other = derive_budget(settings, *limits, "onnxruntime")
    fits = peak_mb("onnxruntime", other.preset, other.max_megapixels) <= room_mb
    if not fits or other.max_megapixels < budget.max_megapixels or other.preset != budget.preset:
        return budget
    note = f"; onnxruntime, as OpenVINO would leave under {ROOM_FRACTION:.0%} of it free"
    return replace(other, reason=other.reason + note, engine_for_room=True)


def budgeted(settings: Settings, budget: WorkerBudget) -> Settings:
    """The settings with the budget's input limit, default preset and (when it set `auto`'s
    choice aside for memory) engine applied."""
    update: dict[str, object] = {"max_megapixels": budget.max_megapixels, "preset": budget.preset}
    if budget.engine_for_room:
        update["engine"] = budget.engine
    return settings.model_copy(update=update)
