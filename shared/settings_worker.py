"""Settings of the image worker: the model it runs, and how its jobs are delivered and timed.

Field groups of `shared.settings.Settings` (which see); each field is `CUTOUT_<NAME>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field

# The checkout, for defaults that point into it (re-exported by shared.settings).
REPO_ROOT = Path(__file__).resolve().parents[1]


class InferenceFields(BaseModel):
    """The model, its engine, the largest input and the output encoding."""

    model_dir: Path = Field(
        REPO_ROOT / "models", description="Folder holding the ONNX model files."
    )
    preset: Literal["fast", "balanced", "best"] = Field(
        "balanced", description="Preset for jobs that name none (see README, Quality)."
    )
    model: str | None = Field(
        None,
        description="Model for jobs that name none (a name or ONNX path); unset: the preset's.",
    )
    inference_threads: int = Field(
        0, ge=0, description="Threads per inference; 0 = the CPUs this process may really use."
    )
    execution_provider: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="onnxruntime provider; auto picks CUDA when available, else CPU."
    )
    engine: Literal["auto", "onnxruntime", "openvino"] = Field(
        "auto",
        description="Inference engine; auto = OpenVINO for u2netp(-int8) on x86 CPUs when "
        "installed (bench/engines.py), else onnxruntime.",
    )
    openvino_cache_dir: Path | None = Field(
        None,
        description="OpenVINO's compiled-model cache; unset = MODEL_DIR/.ov-cache, "
        "skipped when not writable.",
    )
    max_megapixels: float = Field(
        25.0, gt=0, description="Largest input accepted, checked from the header before decoding."
    )
    memory_constrained: bool | None = Field(
        None,
        validation_alias=AliasChoices("CUTOUT_MEMORY_CONSTRAINED", "MEMORY_CONSTRAINED"),
        description="Worker: derive the largest input and default preset from the cgroup "
        "memory limit; unset = when a limit exists, true = also without one (512 MB), "
        "false = never.",
    )
    fallback: bool = Field(
        True, description="Use the OpenCV GrabCut fallback when the model cannot load or fails."
    )
    png_compress_level: int = Field(
        1,
        ge=0,
        le=3,
        description="Deflate level for PNG output, 0-3 (ISA-L's; chosen from "
        "bench/encode_levels.py).",
    )


class TaskFields(BaseModel):
    """Deliveries, time limits, retries, the reaper, worker children and heartbeats."""

    max_attempts: int = Field(
        3, ge=1, description="Deliveries of a job before a worker crash fails it (worker_lost)."
    )
    task_soft_time_limit: int = Field(
        120, gt=0, description="Seconds before a job is asked to stop (fails as timed out)."
    )
    task_time_limit: int = Field(
        150, gt=0, description="Seconds before a job's worker process is killed."
    )
    broker_visibility_timeout: int = Field(
        600, gt=0, description="Seconds before an unacknowledged job is redelivered."
    )
    task_max_retries: int = Field(
        5,
        ge=0,
        description="Retries of a job whose storage or Redis is unreachable, then "
        "it fails (storage_unavailable).",
    )
    task_retry_backoff_max: float = Field(
        60.0, gt=0, description="Longest wait between those retries (they double from 2 s)."
    )
    reaper_stale_seconds: float | None = Field(
        None,
        gt=0,
        description="A queued or processing job that has not moved for this long and is not "
        "on the broker is re-sent; unset = TASK_TIME_LIMIT + BROKER_VISIBILITY_TIMEOUT.",
    )
    reaper_max_resends: int = Field(
        3, ge=0, description="Re-sends of a stuck job by the reaper before it fails (stalled)."
    )
    worker_max_tasks_per_child: int = Field(
        200, ge=1, description="Jobs a worker child runs before it is replaced."
    )
    worker_max_memory_per_child_mb: int = Field(
        # The child's own peak RSS counts the ~120 MB it shares with the parent: a 25 MP job
        # peaks near 530 MB there while the whole worker stays under 450 MB (bench/memory.py).
        640,
        ge=64,
        description="Resident MB (the child's own count) after which a worker child is replaced.",
    )
    heartbeat_seconds: float = Field(
        10.0, gt=0, description="How often a worker reports that it is alive."
    )
    ready_heartbeat_max_age: float = Field(
        60.0, gt=0, description="/ready fails when no worker reported for this long."
    )
