"""The job service on loopback for benchmarks: redis-server and the API stay up, workers come
and go.

The processes are started exactly as the integration tests (tests/processes.py) and `make run`
(scripts/run_local.py) start them; this module only adds what a benchmark needs on top: a
worker started on demand (optionally through a wrapper command), the moment it became ready,
and jobs submitted and polled with timestamps.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from redis import Redis

from scripts.run_local import REPO_ROOT, api_command, child_env, worker_command
from shared.jobs import HEARTBEATS, Job, JobStore
from tests.integration.stack import http
from tests.processes import (
    RedisProcess,
    answers_http,
    free_port,
    start_process,
    start_redis,
    stop_process,
    wait_or_stop,
    wait_until,
)

API_WORKERS = "gunicorn --workers 2 --threads 4 (scripts/run_local.py api_command)"
# worker/models/session.py logs "loading MODEL from PATH on ENGINE, N threads" per child.
_LOADING = re.compile(r"loading (\S+) from \S+ ?(.*)$")


@dataclass
class Worker:
    """One `celery worker --concurrency=1` process (its pool child is forked by Celery)."""

    number: int
    process: subprocess.Popen[bytes]
    launched_at: float  # wall clock, comparable with the job records' timestamps
    log: Path

    @property
    def node_prefix(self) -> str:
        return f"worker{self.number}@"  # as scripts/run_local.py worker_command names it


@dataclass
class Submitted:
    """A job as the client saw it: when the POST began and how long the answer took."""

    id: str
    sent_at: float  # wall clock
    post_ms: float


@dataclass
class Service:
    """Redis and the API under gunicorn, with the workers the benchmark started."""

    folder: Path
    redis: RedisProcess
    api: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)

    @cached_property
    def client(self) -> Redis:
        return self.redis.client()

    @cached_property
    def store(self) -> JobStore:
        return JobStore(self.client, retention_seconds=3600)

    def start_worker(
        self,
        number: int,
        *,
        env: dict[str, str] | None = None,
        wrapper: Sequence[str] = (),
        options: Sequence[str] = (),
    ) -> Worker:
        """Launch worker `number` as `make run` does, plus Celery `options`.

        `wrapper` is a command prefix that ends by exec'ing the worker command.
        """
        launched_at = time.time()
        log = self.folder / f"worker{number}-{time.monotonic_ns()}.log"
        args = [*wrapper, *worker_command(number), *options]
        process = start_process(args, {**self.env, **(env or {})}, log)
        worker = Worker(number, process, launched_at, log)
        self.workers.append(worker)
        return worker

    def ready_at(self, worker: Worker) -> float | None:
        """When `worker` last sent a heartbeat (its first one is sent when it is ready).

        None while it has sent none since it was launched.
        """
        if worker.process.poll() is not None:
            tail = worker.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"worker exited with {worker.process.returncode}:\n{tail}")
        for member in self.client.zrangebyscore(HEARTBEATS, worker.launched_at, "+inf"):
            name = member.decode() if isinstance(member, bytes) else str(member)
            if name.startswith(worker.node_prefix):
                return self.client.zscore(HEARTBEATS, name)
        return None

    def wait_ready(self, worker: Worker, timeout: float = 60.0) -> float:
        """Block until `worker` has reported ready; returns when it did (wall clock)."""
        return wait_until(lambda: self.ready_at(worker) or 0.0, timeout, interval=0.005)

    def stop_worker(self, worker: Worker) -> int:
        """Warm shutdown (the job in hand finishes), SIGKILL for the group after 60 s."""
        self.workers.remove(worker)
        return stop_process(worker.process, timeout=60)

    def submit(self, image: bytes, **fields: str) -> Submitted:
        """POST /v1/jobs with `image` and option fields; raises unless the answer is 202."""
        form: dict[str, Any] = {"image": ("photo.jpg", image, "image/jpeg"), **fields}
        sent_at, start = time.time(), time.perf_counter()
        response = http.request("POST", f"{self.base_url}/v1/jobs", fields=form)
        post_ms = (time.perf_counter() - start) * 1000
        if response.status != 202:
            raise RuntimeError(f"submit answered {response.status}: {response.data[:300]!r}")
        return Submitted(response.json()["id"], sent_at, post_ms)

    def job(self, job_id: str) -> dict[str, Any]:
        """GET /v1/jobs/<id>, as a client sees it."""
        return http.request("GET", f"{self.base_url}/v1/jobs/{job_id}").json()

    def poll(self, job_id: str, interval: float, timeout: float = 300.0) -> float:
        """GET the job every `interval` s until it is terminal; the wall time that was seen."""
        terminal = {"succeeded", "failed", "canceled"}
        wait_until(lambda: self.job(job_id)["status"] in terminal, timeout, interval)
        return time.time()

    def wait_seen(self, job_id: str, interval: float = 0.002, timeout: float = 300.0) -> float:
        """Block on the job's end in Redis (JobStore.wait), then GET it once through the API.

        Returns the wall time the API showed the job terminal. Polling instead (the record
        every 2 ms) took CPU from the worker being measured: its inference ran 18% slower.
        """
        self.store.wait(job_id, timeout)
        return self.poll(job_id, interval, timeout=10)

    def record(self, job_id: str) -> Job:
        """The job's record straight from Redis (float timestamps, not the API's ISO ms)."""
        job = self.store.get(job_id)
        if job is None:
            raise RuntimeError(f"job {job_id} vanished")
        return job

    def stop(self) -> None:
        for worker in list(self.workers):
            self.stop_worker(worker)
        stop_process(self.api, timeout=15)
        self.redis.stop()


def start_service(folder: Path) -> Service:
    """Start redis-server and the API (gunicorn) with local storage under `folder`; no worker."""
    folder.mkdir(parents=True, exist_ok=True)
    redis = start_redis(folder)
    env = child_env(redis.url, folder)
    storage = f"file://{folder / 'storage'}"
    # Whatever the caller's environment says, jobs go to this folder and this Redis.
    env.update(STORAGE_URL=storage, CUTOUT_STORAGE_URL=storage, PYTHONPATH=str(REPO_ROOT))
    port = free_port()
    api = start_process(api_command(port), env, folder / "api.log")
    service = Service(folder, redis, api, f"http://127.0.0.1:{port}", env)
    wait_or_stop(lambda: _api_answers(service), service.stop, timeout=60, interval=0.1)
    return service


def _api_answers(service: Service) -> bool:
    def tail() -> str:
        return (service.folder / "api.log").read_text(errors="replace")[-2000:]

    return answers_http(f"{service.base_url}/health", {"the API": service.api}, tail)


def model_loads(log_text: str) -> list[str]:
    """Each model load a worker log reports ("u2netp on openvino, 2 threads"), in order."""
    loads = []
    for line in log_text.splitlines():
        found = _LOADING.search(line)
        if found:
            loads.append(" ".join(part for part in found.groups() if part))
    return loads
