"""A worker told to stop (SIGTERM) finishes the job in hand before it exits: a bare Celery
worker, and `make run`'s launcher, which waits the job's hard time limit and a margin."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import urllib3

from scripts import run_local
from shared.jobs import Job, JobStore
from shared.settings import REPO_ROOT, Settings
from tests.integration.scale import build_slow_model, small_photo
from tests.integration.stack import Stack, http, start_stack
from tests.processes import free_port, wait_until

pytestmark = pytest.mark.integration
# Small limits, so the launcher's wait is short; the slow job takes a few seconds of them.
LIMITS = {"CUTOUT_TASK_SOFT_TIME_LIMIT": "40", "CUTOUT_TASK_TIME_LIMIT": "45"}


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_slow_model(tmp_path_factory.mktemp("slow") / "slow.onnx", layers=200)


@pytest.fixture
def stack(tmp_path: Path, slow_model: Path) -> Iterator[Stack]:
    running = start_stack(tmp_path, slow_model.parent, CUTOUT_MODEL=str(slow_model), **LIMITS)
    try:
        yield running
    finally:
        running.stop()


def read_job(client: redis.Redis, job_id: str) -> Job:
    job = JobStore(client, retention_seconds=60).get(job_id)
    assert job is not None
    return job


def submit(base_url: str) -> str:
    fields = {"image": ("photo.jpg", small_photo(), "image/jpeg")}
    response = http.request("POST", f"{base_url}/v1/jobs", fields=fields)
    assert response.status == 202, response.data
    return str(response.json()["id"])


def probe(stack: Stack, check: str, node: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker.probe", check, "--node", node],
        cwd=REPO_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_sigtermed_worker_finishes_its_job(stack: Stack) -> None:
    client = stack.redis.client()
    node = next(name.decode() for name in client.zrange("cutout:heartbeats", 0, -1))
    job_id = submit(stack.base_url)
    wait_until(lambda: read_job(client, job_id).status == "processing", timeout=60)
    # Busy with a job for seconds, the worker is still live and ready (its loop keeps turning).
    time.sleep(float(stack.env["CUTOUT_HEARTBEAT_SECONDS"]))
    for check in ("live", "ready"):
        answer = probe(stack, check, node)
        assert answer.returncode == 0, answer.stdout + answer.stderr
    signalled = time.time()
    stack.worker.send_signal(signal.SIGTERM)

    assert stack.worker.wait(timeout=90) == 0, stack.logs()
    # Stopped: no longer live, and its heartbeat is gone (no job is routed on its account).
    assert probe(stack, "live", node).returncode == 1
    assert client.zscore("cutout:heartbeats", node) is None
    job = read_job(client, job_id)
    assert job.status == "succeeded", (job, stack.logs())
    assert job.finished_at is not None and job.finished_at > signalled  # it was in flight
    assert job.method == "slow", job.method  # the model ran, not the fallback
    assert job.attempts == 1 and job.interruptions == 0


def test_make_run_lets_the_worker_finish_its_job(tmp_path: Path, slow_model: Path) -> None:
    api_port, redis_port = free_port(), free_port()
    env = {**os.environ, "CUTOUT_MODEL": str(slow_model), **LIMITS}
    args = ["--api-port", str(api_port), "--redis-port", str(redis_port)]
    args += ["--data-dir", str(tmp_path)]
    launcher = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "scripts" / "run_local.py"), *args],
        cwd=REPO_ROOT,
        env={**env, "CUTOUT_HEARTBEAT_SECONDS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{api_port}"
        wait_until(lambda: _ready(base, launcher), timeout=90, interval=0.2)
        client = redis.Redis(port=redis_port, socket_timeout=5)
        job_id = submit(base)
        wait_until(lambda: read_job(client, job_id).status == "processing", timeout=60)
        signalled = time.time()
        launcher.send_signal(signal.SIGINT)  # Ctrl-C
        # Redis stays up until the worker is done, so the end of the job can be watched.
        job = wait_until(
            lambda: (found := read_job(client, job_id)).status.is_terminal() and found,
            timeout=60,
        )
        out, _ = launcher.communicate(timeout=90)
    finally:
        # The launcher stops its children (each in its own session) itself; SIGKILL would
        # leave them running, so it comes only after the launcher's own bounded stop.
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)
            try:
                launcher.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
    assert job.status == "succeeded" and job.finished_at > signalled, out
    assert launcher.returncode == 0, out
    hard = int(LIMITS["CUTOUT_TASK_TIME_LIMIT"])
    assert f"up to {hard + run_local.WORKER_STOP_MARGIN:.0f} s" in out
    assert "did not stop in time" not in out


def _ready(base: str, launcher: subprocess.Popen[str]) -> bool:
    if launcher.poll() is not None:
        raise AssertionError(f"run_local exited: {launcher.communicate()[0]}")
    try:
        return http.request("GET", f"{base}/ready").status == 200
    except urllib3.exceptions.HTTPError:
        return False


def test_every_launcher_waits_longer_than_a_job_may_run() -> None:
    hard = Settings().task_time_limit
    assert run_local.worker_stop_timeout() > hard
