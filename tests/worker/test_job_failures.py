"""Failures that must end a job with their own code: never a silent fallback, never a 500.

Out of memory and the soft time limit are not the model's failures (no GrabCut "success");
a bad background or ground-truth mask is the client's (4xx); a task's late delivery leaves
the job to the task the reaper sent; a failure Redis cannot record is left to the reaper.
"""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fakeredis
import numpy as np
import pytest
import redis
from billiard.exceptions import SoftTimeLimitExceeded
from PIL import Image

from shared.errors import InferenceFailed, OutOfMemory, http_status_for
from shared.jobs import Job, JobStore, Status
from shared.options import ProcessOptions
from shared.settings import Settings
from shared.storage.memory import MemoryStorage
from shared.tasks import time_limit_problems
from tests.conftest import encoded, subject_photo
from worker import services
from worker.jobrunner import run_job
from worker.models.failures import model_failure
from worker.models.session import OnnxModel
from worker.models.spec import ModelSpec
from worker.pipeline.run import make_picture
from worker.redis_checks import redis_warnings


class RaisingModel:
    """A fake model whose inference raises `error` (as an engine would surface it)."""

    spec = ModelSpec("raising", "raising.onnx")
    name = "raising"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def predict(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray:
        raise self.error


@pytest.fixture
def store() -> JobStore:
    return JobStore(fakeredis.FakeRedis(), retention_seconds=600)


def _job(store: JobStore, storage: MemoryStorage, **files: bytes) -> str:
    files = {"original": encoded(subject_photo()), **files}
    for name, data in files.items():
        storage.put(f"inputs/j/{name}", data, content_type="image/png")
    options = {"mode": "image"} if "background" in files else {"mode": "cutout"}
    store.create(Job(id="j", options=options, files={n: f"inputs/j/{n}" for n in files}))
    return "j"


def _run(
    store: JobStore, settings: Settings, storage: MemoryStorage, loader: Callable | None = None
) -> Job:
    job = run_job(
        "j", store=store, storage=storage, settings=settings, worker_name="w", load_model=loader
    )
    assert job is not None
    return job


def test_out_of_memory_in_inference_fails_the_job_not_falls_back(
    store: JobStore, tiny_settings: Settings
) -> None:
    storage = MemoryStorage()
    _job(store, storage)
    job = _run(store, tiny_settings, storage, lambda name: RaisingModel(MemoryError()))
    assert job.status is Status.FAILED and job.method is None
    assert job.error == {
        "code": "out_of_memory",
        "message": "the worker ran out of memory on this image; try a smaller one",
    }
    assert not [key for key in storage.files if key.startswith("outputs/")]
    assert http_status_for("out_of_memory") == 503


def test_an_engine_allocation_failure_is_out_of_memory(
    store: JobStore, tiny_settings: Settings
) -> None:
    storage = MemoryStorage()
    _job(store, storage)
    error = model_failure("u2netp", "Failed to allocate memory for requested buffer of size 9")
    job = _run(store, tiny_settings, storage, lambda name: RaisingModel(error))
    assert isinstance(error, OutOfMemory) and job.error is not None
    assert job.error["code"] == "out_of_memory"
    assert isinstance(model_failure("u2netp", "Invalid input shape"), InferenceFailed)


def test_the_soft_time_limit_is_never_a_grabcut_success(tiny_settings: Settings) -> None:
    with pytest.raises(SoftTimeLimitExceeded):
        make_picture(
            encoded(subject_photo()),
            ProcessOptions(),
            settings=tiny_settings,
            load_model=lambda name: RaisingModel(SoftTimeLimitExceeded()),
        )


class _Session:
    """Stands in for an onnxruntime session whose run raises `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def run(self, *args: Any) -> Any:
        raise self.error


@pytest.mark.parametrize("error", [MemoryError(), SoftTimeLimitExceeded()])
def test_the_engine_lets_these_through_unwrapped(tiny_model: Path, error: BaseException) -> None:
    from worker.models.spec import resolve_spec

    spec, _ = resolve_spec(str(tiny_model), tiny_model.parent)
    model = OnnxModel(spec, tiny_model, threads=1)
    tensor = np.zeros((1, 3, *model.spec.input_size), np.float32)
    model._session = _Session(error)
    with pytest.raises(type(error)):
        model.predict(tensor)
    model._session = _Session(RuntimeError("shape mismatch"))
    with pytest.raises(InferenceFailed):
        model.predict(tensor)


def _exif_rotated(picture: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("background", "code"),
    [
        (encoded(subject_photo(), "PNG")[:200], "invalid_image"),
        (b"not an image at all", "unsupported_media_type"),
        (encoded(Image.new("RGB", (1200, 1000)), "PNG"), "image_too_large"),
    ],
)
def test_a_bad_background_is_a_client_error(
    store: JobStore, tiny_settings: Settings, background: bytes, code: str
) -> None:
    storage = MemoryStorage()
    _job(store, storage, background=background)
    settings = tiny_settings.model_copy(update={"max_megapixels": 1.0})
    job = _run(store, settings, storage)
    assert job.status is Status.FAILED and job.error is not None
    assert job.error["code"] == code and http_status_for(code) < 500


def test_a_ground_truth_mask_follows_its_exif_orientation(
    store: JobStore, tiny_settings: Settings
) -> None:
    storage = MemoryStorage()
    photo = subject_photo(240, 180)
    truth = Image.fromarray(((np.asarray(photo)[..., 0] > 150) * 255).astype(np.uint8))
    # Stored rotated by 90 degrees with orientation 6, which turns it back on display.
    stored = _exif_rotated(truth.transpose(Image.Transpose.ROTATE_90), 6)
    _job(store, storage, truth=stored)
    job = _run(store, tiny_settings, storage)
    assert job.status is Status.SUCCEEDED, job.error
    assert job.metrics is not None and "iou" in job.metrics["ground_truth"]
    bad = MemoryStorage()
    store.delete("j")
    _job(store, bad, truth=stored[:150])
    failed = _run(store, tiny_settings, bad)
    assert failed.error is not None and failed.error["code"] == "invalid_image"


def test_a_late_delivery_of_a_replaced_task_changes_nothing(
    store: JobStore, tiny_settings: Settings
) -> None:
    storage = MemoryStorage()
    _job(store, storage)
    store.update("j", lambda job: setattr(job, "task_id", "resent") or True)
    job = run_job(
        "j", store=store, storage=storage, settings=tiny_settings, worker_name="w", task_id="old"
    )
    assert job is not None and job.status is Status.QUEUED and job.attempts == 0
    done = run_job(
        "j", store=store, storage=storage, settings=tiny_settings, worker_name="w", task_id="resent"
    )
    assert done is not None and done.status is Status.SUCCEEDED


def test_a_caller_without_a_task_id_runs_a_resent_job(
    store: JobStore, tiny_settings: Settings
) -> None:
    # The command line and the tests run jobs directly, outside Celery.
    storage = MemoryStorage()
    _job(store, storage)
    store.update("j", lambda job: setattr(job, "task_id", "resent") or True)
    done = run_job("j", store=store, storage=storage, settings=tiny_settings, worker_name="w")
    assert done is not None and done.status is Status.SUCCEEDED


def test_outputs_of_a_job_deleted_while_it_ran_are_removed(
    store: JobStore, tiny_settings: Settings
) -> None:
    storage = MemoryStorage()
    _job(store, storage)

    class DeletingModel(RaisingModel):
        def predict(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray:
            store.delete("j")  # the client deletes the job mid-inference
            return np.ones(tensor.shape[-2:], np.float32)

    assert _run_or_none(store, tiny_settings, storage, DeletingModel(MemoryError())) is None
    assert storage.files == {}


def _run_or_none(store: JobStore, settings: Settings, storage: MemoryStorage, model: Any) -> Any:
    return run_job(
        "j",
        store=store,
        storage=storage,
        settings=settings,
        worker_name="w",
        load_model=lambda name: model,
    )


def test_a_failure_redis_cannot_record_is_left_to_the_reaper(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker import tasks

    down = JobStore(redis.Redis(port=1, socket_connect_timeout=0.2), retention_seconds=60)
    monkeypatch.setattr(tasks, "job_store", lambda: down)
    # Must not raise: Celery would log a second error and the job would still be stuck.
    tasks.process_job.on_failure(ZeroDivisionError(), "t", ["j"], {}, None)


def test_time_limits_are_checked() -> None:
    assert time_limit_problems(Settings()) == []
    problems = time_limit_problems(
        Settings(task_soft_time_limit=200, task_time_limit=150, broker_visibility_timeout=100)
    )
    assert len(problems) == 2 and "CUTOUT_TASK_SOFT_TIME_LIMIT (200)" in problems[0]


class _ConfiguredRedis:
    def __init__(self, **config: str) -> None:
        self.config = config

    def config_get(self, name: str) -> dict[str, str]:
        return {name: self.config[name]}


def test_redis_settings_that_can_lose_jobs_are_named() -> None:
    good = _ConfiguredRedis(**{"maxmemory-policy": "noeviction", "appendonly": "yes"})
    assert redis_warnings(good) == []  # type: ignore[arg-type]
    bad = _ConfiguredRedis(**{"maxmemory-policy": "allkeys-lru", "appendonly": "no"})
    warnings = redis_warnings(bad)  # type: ignore[arg-type]
    assert len(warnings) == 2 and "--maxmemory-policy noeviction" in warnings[0]


def _child_reports(queue: Any, parent_store: object, parent_storage: object) -> None:
    queue.put((services.job_store() is not parent_store, services.storage() is not parent_storage))


def test_a_forked_child_makes_its_own_clients(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CUTOUT_STORAGE_URL", f"file://{tmp_path}")
    services.forget_clients()
    try:
        parent_store, parent_storage = services.job_store(), services.storage()
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_child_reports, args=(queue, parent_store, parent_storage))
        child.start()
        fresh = queue.get(timeout=30)
        child.join(timeout=30)
        assert fresh == (True, True)
        assert services.job_store() is parent_store  # the parent keeps its own
    finally:
        services.forget_clients()
