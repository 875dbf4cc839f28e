"""The S3-compatible server (moto) stopped under a running worker, with real processes.

The worker is paused (SIGSTOP) while a job is submitted, so the S3 server can be stopped
between the upload and the worker's fetch. With the server gone the job is retried, then
fails `storage_unavailable`; when the server comes back during the retries it succeeds.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from moto.server import ThreadedMotoServer

from shared.jobs import JobStore, Status
from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import Stack, start_stack
from tests.integration.test_faults import FAULT_ENV
from tests.processes import wait_until
from tests.s3_server import create_bucket, with_test_credentials

pytestmark = pytest.mark.integration
BUCKET = "cutout-faults"


class S3:
    """moto's server on one fixed loopback port, stopped and started again at will.

    moto keeps its buckets in this process, so a restarted server still has them.
    """

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.host, self.port = self.server.get_host_and_port()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    server = S3()
    create_bucket(server.url, BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(s3: S3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = with_test_credentials({}) | {
        "STORAGE_URL": f"s3://{BUCKET}/jobs",
        "CUTOUT_S3_ENDPOINT_URL": s3.url,
        **FAULT_ENV,
    }
    running = start_stack(tmp_path_factory.mktemp("faults-s3"), require_real_model().parent, **env)
    yield running
    running.stop()


@contextmanager
def _worker_paused(stack: Stack) -> Iterator[None]:
    os.killpg(stack.worker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(stack.worker.pid, signal.SIGCONT)


def _submit_then_stop_s3(stack: Stack, s3: S3) -> str:
    with _worker_paused(stack):
        sent = stack.submit(encoded(subject_photo()))
        assert sent.status == 202, sent.data
        s3.stop()
    return str(sent.json()["id"])


def _record(stack: Stack, job_id: str) -> Callable[[], object]:
    store = JobStore(stack.redis.client(), retention_seconds=3600)
    return lambda: store.get(job_id)


def test_storage_down_is_retried_then_a_clear_code(stack: Stack, s3: S3) -> None:
    job_id = _submit_then_stop_s3(stack, s3)
    try:
        job = stack.wait_for(job_id, timeout=120)
    finally:
        s3.start()
    assert job["status"] == "failed", (job, stack.logs())
    assert job["error"]["code"] == "storage_unavailable"
    assert job["error"]["message"].startswith("gave up after retries")
    log = (stack.folder / "worker.log").read_text(errors="replace")
    assert log.count(f"job {job_id}: transient error") == int(FAULT_ENV["CUTOUT_TASK_MAX_RETRIES"])


def test_storage_back_during_the_retries_and_the_job_succeeds(stack: Stack, s3: S3) -> None:
    job_id = _submit_then_stop_s3(stack, s3)
    record = _record(stack, job_id)
    try:
        # The first attempt failed and the job went back to the queue for a retry.
        wait_until(
            lambda: (job := record()) and job.status is Status.QUEUED and job.attempts >= 1,  # type: ignore[attr-defined]
            timeout=60,
            interval=0.05,
        )
    finally:
        s3.start()
    job = stack.wait_for(job_id, timeout=120)
    assert job["status"] == "succeeded", (job, stack.logs())
    assert job["attempts"] >= 2
