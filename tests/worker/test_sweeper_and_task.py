"""Expired files are swept; the Celery task retries outages and turns timeouts into job data."""

from __future__ import annotations

import fakeredis
import pytest
from billiard.exceptions import SoftTimeLimitExceeded

from shared.errors import StorageUnavailable
from shared.jobs import Job, JobStore, Status
from shared.storage.memory import MemoryStorage
from worker import tasks
from worker.sweeper import sweep_expired


@pytest.fixture
def store() -> JobStore:
    return JobStore(fakeredis.FakeRedis(), retention_seconds=60)


def test_sweep_deletes_only_expired_jobs_files(store: JobStore) -> None:
    storage = MemoryStorage()
    for job_id, created in (("old", 0.0), ("new", 10_000.0)):
        store.create(Job(id=job_id, created_at=created))
        storage.put(f"inputs/{job_id}/original", b"x", content_type="image/png")
        storage.put(f"outputs/{job_id}/mask.png", b"x", content_type="image/png")
    assert sweep_expired(store, storage, now=1_000.0) == 1
    assert sorted(storage.files) == ["inputs/new/original", "outputs/new/mask.png"]
    assert sweep_expired(store, storage, now=1_000.0) == 0


@pytest.fixture
def task_env(store: JobStore, monkeypatch: pytest.MonkeyPatch) -> JobStore:
    monkeypatch.setattr(tasks, "job_store", lambda: store)
    monkeypatch.setattr(tasks, "storage", lambda: MemoryStorage())
    monkeypatch.setattr(tasks, "_backoff", lambda retries: 0)
    tasks.app.conf.task_always_eager = True
    yield store
    tasks.app.conf.task_always_eager = False


def test_storage_outages_are_retried_then_fail_the_job(
    task_env: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def flaky(job_id: str, **_: object) -> None:
        calls.append(job_id)
        task_env.start(job_id, worker="w", max_attempts=3)
        raise StorageUnavailable("bucket unreachable")

    monkeypatch.setattr(tasks, "run_job", flaky)
    task_env.create(Job(id="a"))
    tasks.process_job.apply(args=["a"])
    job = task_env.get("a")
    assert job is not None and job.status is Status.FAILED
    assert job.error is not None and job.error["code"] == "storage_unavailable"
    assert len(calls) == tasks.MAX_RETRIES + 1
    # Retries put the job back to queued first, so none of them counts as a crash.
    assert job.interruptions == 0


def test_a_soft_time_limit_fails_the_job_as_timeout(
    task_env: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(job_id: str, **_: object) -> None:
        task_env.start(job_id, worker="w", max_attempts=3)
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(tasks, "run_job", slow)
    task_env.create(Job(id="b"))
    tasks.process_job.apply(args=["b"])
    job = task_env.get("b")
    assert job is not None and job.error is not None and job.error["code"] == "timeout"


def test_a_hard_time_limit_or_a_crash_never_leaves_a_job_processing(task_env: JobStore) -> None:
    from billiard.exceptions import TimeLimitExceeded

    for job_id in ("hard", "bug"):
        task_env.create(Job(id=job_id))
        task_env.start(job_id, worker="w", max_attempts=3)
    tasks.process_job.on_failure(TimeLimitExceeded(150), "t1", ["hard"], {}, None)
    tasks.process_job.on_failure(ZeroDivisionError(), "t2", ["bug"], {}, None)
    assert task_env.get("hard").error["code"] == "timeout"  # type: ignore[union-attr]
    assert task_env.get("bug").error["code"] == "internal_error"  # type: ignore[union-attr]
