"""The whole service as real processes: redis-server, a Celery worker, the API under gunicorn,
and (when asked) the webhook sender.

Storage is the local backend (a temporary folder) or S3 through moto's server on loopback.
Requests go over real HTTP with urllib3.
"""

from __future__ import annotations

import io
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import urllib3

from scripts.run_local_commands import WORKER_OPTIONS
from shared.settings import REPO_ROOT
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

BIN = Path(sys.executable).parent
# No retries (a test must see the first answer), but redirects are followed (S3 links).
http = urllib3.PoolManager(
    timeout=urllib3.Timeout(connect=2, read=60),
    retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=3),
)


@dataclass
class Stack:
    """Running processes and how to talk to them."""

    base_url: str
    redis: RedisProcess
    worker: Any
    api: Any
    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    webhooks: Any = None  # the webhook sender (python -m worker.webhooks), when started

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def logs(self) -> str:
        """The tail of every log, for assertion messages."""
        parts = []
        for name in ("worker.log", "api.log", "webhooks.log", "redis.log"):
            path = self.folder / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def submit(
        self,
        image: bytes,
        headers: dict[str, str] | None = None,
        route: str = "/v1/jobs",
        **fields: Any,
    ) -> urllib3.BaseHTTPResponse:
        """POST a multipart form with `image` and option fields."""
        form: dict[str, Any] = {"image": ("photo.jpg", image, "application/octet-stream")}
        form.update(fields)
        return http.request("POST", self.url(route), fields=form, headers=headers or {})

    def job(self, job_id: str) -> dict[str, Any]:
        return http.request("GET", self.url(f"/v1/jobs/{job_id}")).json()

    def wait_for(
        self,
        job_id: str,
        statuses: tuple[str, ...] = ("succeeded", "failed", "canceled"),
        timeout: float = 120,
    ) -> dict[str, Any]:
        """Poll the job until its status is one of `statuses`."""
        try:
            return wait_until(
                lambda: (job := self.job(job_id))["status"] in statuses and job,
                timeout,
                interval=0.1,
            )
        except TimeoutError as exc:
            raise AssertionError(
                f"job {self.job(job_id)} never reached {statuses}\n{self.logs()}"
            ) from exc

    def worker_children(self) -> list[psutil.Process]:
        return psutil.Process(self.worker.pid).children(recursive=True)

    def stop_services(self) -> None:
        """Stop every Cutout process (API, worker, webhook sender); Redis keeps running."""
        for process in (self.webhooks, self.api, self.worker):
            if process is not None:
                stop_process(process, timeout=15)

    def start_services(self) -> None:
        """Start every Cutout process again (after stop_services) on the same Redis and port."""
        port = int(self.base_url.rsplit(":", 1)[1])
        self.worker, self.api, self.webhooks = _start_services(
            self.env, self.folder, port, webhooks=self.webhooks is not None
        )
        wait_or_stop(lambda: _ready(self), self.stop, timeout=90, interval=0.2)

    def stop(self) -> None:
        self.stop_services()
        self.redis.stop()


def _ready(stack: Stack) -> bool:
    watched = {"worker": stack.worker, "api": stack.api}
    if stack.webhooks is not None:
        watched["webhooks"] = stack.webhooks
    return answers_http(stack.url("/ready"), watched, stack.logs)


def start_stack(
    folder: Path, model_dir: Path, *, webhooks: bool = False, **env_overrides: str
) -> Stack:
    """Start redis, one worker, the API (and the webhook sender) with `env_overrides`."""
    folder.mkdir(parents=True, exist_ok=True)
    redis = start_redis(folder)
    env = {
        **os.environ,
        "REDIS_URL": redis.url,
        "STORAGE_URL": f"file://{folder / 'storage'}",
        "CUTOUT_MODEL_DIR": str(model_dir),
        "CUTOUT_HEARTBEAT_SECONDS": "1",
        "CUTOUT_READY_HEARTBEAT_MAX_AGE": "30",
        **env_overrides,
    }
    port = free_port()
    worker, api, sender = _start_services(env, folder, port, webhooks=webhooks)
    stack = Stack(f"http://127.0.0.1:{port}", redis, worker, api, folder, env, sender)
    wait_or_stop(lambda: _ready(stack), stack.stop, timeout=90, interval=0.2)
    return stack


def _start_services(
    env: dict[str, str], folder: Path, port: int, *, webhooks: bool
) -> tuple[Any, Any, Any]:
    worker = start_process(
        [
            BIN / "celery",
            "-A",
            "worker.celery_app:app",
            "worker",
            *WORKER_OPTIONS,
            "-n",
            f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ],
        env,
        folder / "worker.log",
    )
    api = start_process(
        [
            BIN / "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--chdir",
            str(REPO_ROOT),
            "api.wsgi:app",
        ],
        env,
        folder / "api.log",
    )
    sender = None
    if webhooks:
        sender = start_process(
            [BIN / "python", "-m", "worker.webhooks"], env, folder / "webhooks.log"
        )
    return worker, api, sender


def decode_image(data: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(data))
