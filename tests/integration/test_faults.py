"""Faults with real processes: nothing lost, nothing stuck.

One stack (redis-server, a Celery worker, gunicorn) with short time limits and a reaper that
looks at jobs standing still for 3 s, so each fault resolves within seconds:

- a job recorded but never sent (the API died between record and send) is finished;
- a canceled job's running task is stopped, and its outputs never appear;
- Redis down: every route answers JSON at once (503 where it needs Redis);
- Redis restarted with jobs queued and one in flight: none lost, all finish.

The worker child SIGKILLed mid-job and the poison image are in test_service.py.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from api.app import create_app
from bench.images import synthetic_photo
from shared.jobs import Job, JobStore, new_job_id
from shared.settings import REPO_ROOT, Settings
from shared.storage.local import LocalStorage
from shared.storage.memory import MemoryStorage
from shared.tasks import storage_keys
from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import BIN, Stack, http, start_stack
from tests.processes import start_redis, wait_until

pytestmark = pytest.mark.integration
# Short limits (soft < hard < visibility), quick retries, an impatient reaper.
FAULT_ENV = {
    "CUTOUT_PRESET": "fast",
    "CUTOUT_TASK_SOFT_TIME_LIMIT": "40",
    "CUTOUT_TASK_TIME_LIMIT": "45",
    "CUTOUT_BROKER_VISIBILITY_TIMEOUT": "50",
    "CUTOUT_REAPER_STALE_SECONDS": "3",
    "CUTOUT_TASK_MAX_RETRIES": "3",
    "CUTOUT_TASK_RETRY_BACKOFF_MAX": "1",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(
        tmp_path_factory.mktemp("faults"), require_real_model().parent, **FAULT_ENV
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def big_photo() -> bytes:
    # Several seconds of work for the worker: time to act while it is in flight.
    return encoded(synthetic_photo(6000, 4000), quality=90)


def _store(stack: Stack) -> JobStore:
    return JobStore(stack.redis.client(), retention_seconds=3600)


def _outputs(stack: Stack, job_id: str) -> list[Path]:
    return list((stack.folder / "storage" / "outputs" / job_id).glob("*"))


def test_a_job_recorded_but_never_sent_is_finished_by_the_reaper(stack: Stack) -> None:
    # What an API process killed between the record and the send leaves behind.
    job_id = new_job_id()
    key = storage_keys(job_id)["original"]
    LocalStorage(stack.folder / "storage").put(
        key, encoded(subject_photo()), content_type="image/jpeg"
    )
    _store(stack).create(Job(id=job_id, files={"original": key}))
    job = stack.wait_for(job_id, timeout=90)
    assert job["status"] == "succeeded", (job, stack.logs())
    record = _store(stack).get(job_id)
    assert record is not None and record.resends == 1 and record.attempts == 1


def test_a_job_waiting_in_the_queue_is_not_resent(stack: Stack, big_photo: bytes) -> None:
    # Queued behind a long job for longer than the reaper's 3 s: its message is on the broker.
    slow = stack.submit(big_photo, mode="mask").json()["id"]
    waiting = [stack.submit(encoded(subject_photo())).json()["id"] for _ in range(2)]
    for job_id in (slow, *waiting):
        assert stack.wait_for(job_id)["status"] == "succeeded", stack.logs()
        record = _store(stack).get(job_id)
        assert record is not None and (record.resends, record.attempts) == (0, 1)


def _children(stack: Stack) -> set[int]:
    return {child.pid for child in stack.worker_children()}


def test_canceling_a_running_job_stops_its_task(stack: Stack, big_photo: bytes) -> None:
    job_id = stack.submit(big_photo, mode="mask").json()["id"]
    wait_until(lambda: stack.job(job_id)["status"] == "processing", timeout=60, interval=0.05)
    before = _children(stack)
    canceled = http.request("DELETE", stack.url(f"/v1/jobs/{job_id}"))
    assert canceled.status == 200 and canceled.json()["status"] == "canceled"
    # The child that ran it is terminated and replaced, long before the job could finish.
    wait_until(lambda: _children(stack) and not (_children(stack) & before), timeout=30)
    record = _store(stack).get(job_id)
    assert record is not None and record.task_id
    log = (stack.folder / "worker.log").read_text(errors="replace")
    assert f"Terminating {record.task_id}" in log
    assert _outputs(stack, job_id) == []
    assert stack.job(job_id)["status"] == "canceled"
    nxt = stack.wait_for(stack.submit(encoded(subject_photo())).json()["id"])
    assert nxt["status"] == "succeeded"
    assert _outputs(stack, job_id) == []


def _routes() -> list[tuple[str, str]]:
    """Every (method, path) the API serves, ids filled in, from the app's own URL map."""
    app = create_app(
        {"TESTING": True},
        settings=Settings(),
        store=JobStore(fakeredis.FakeRedis(), retention_seconds=60),
        storage=MemoryStorage(),
        queue=object(),  # type: ignore[arg-type]  # never used: no request is made here
    )
    found = []
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", "x").replace(f"<path:{name}>", "x")
            path = path.replace(f"<string:{name}>", "x").replace(f"<int:{name}>", "1")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def _ask(stack: Stack, method: str, path: str) -> tuple[Any, float]:
    started = time.perf_counter()
    if method in ("POST", "PUT", "PATCH"):
        form = {
            "image": ("p.jpg", encoded(subject_photo()), "image/jpeg"),
            "mask": ("m.png", encoded(subject_photo().convert("L"), "PNG"), "image/png"),
        }
        answer = http.request(method, stack.url(path), fields=form)
    else:
        answer = http.request(method, stack.url(path))
    return answer, time.perf_counter() - started


def test_redis_down_every_route_answers_json_at_once(stack: Stack) -> None:
    routes = _routes()
    assert ("POST", "/v1/jobs") in routes and ("DELETE", "/v1/jobs/x") in routes
    stack.redis.stop()
    try:
        for method, path in routes:
            answer, seconds = _ask(stack, method, path)
            where = f"{method} {path}: {answer.status} {answer.data[:200]!r} in {seconds:.2f} s"
            # The bound: a stopped Redis is refused at once and retried only briefly.
            assert seconds < 1.0, where
            assert answer.status != 500, where
            if answer.status >= 400:
                assert answer.headers["Content-Type"] == "application/json", where
            if path.startswith(("/v1/", "/remove-bg", "/api/", "/evaluate", "/ready")):
                assert answer.status == 503, where
                error = answer.json().get("error") or answer.json()
                assert answer.status == 503 and error, where
    finally:
        stack.redis = start_redis(stack.folder, port=stack.redis.port)
    assert http.request("GET", stack.url("/v1/jobs/x")).status == 404


def test_redis_restarted_with_jobs_queued_and_one_in_flight(stack: Stack, big_photo: bytes) -> None:
    in_flight = stack.submit(big_photo, mode="mask").json()["id"]
    queued = [stack.submit(encoded(subject_photo())).json()["id"] for _ in range(3)]
    wait_until(lambda: stack.job(in_flight)["status"] == "processing", timeout=60, interval=0.05)
    stack.redis.stop()  # SIGTERM: the AOF (fsynced on every write) is complete
    time.sleep(1)
    stack.redis = start_redis(stack.folder, port=stack.redis.port)
    for job_id in (in_flight, *queued):
        job = stack.wait_for(job_id, timeout=180)
        assert job["status"] == "succeeded", (job, stack.logs())


def test_bad_time_limits_stop_the_worker_at_start() -> None:
    env = {**os.environ, "CUTOUT_TASK_TIME_LIMIT": "700", "CUTOUT_BROKER_VISIBILITY_TIMEOUT": "600"}
    done = subprocess.run(
        [BIN / "celery", "-A", "worker.celery_app:app", "worker", "--concurrency=1"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "cutout worker: CUTOUT_TASK_TIME_LIMIT (700) must be below "
        "CUTOUT_BROKER_VISIBILITY_TIMEOUT (600): otherwise Redis hands a running job to a "
        "second worker"
    )
