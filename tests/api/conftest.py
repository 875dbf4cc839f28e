"""The API with in-memory fakes: fakeredis job store, memory storage, a recording queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from shared.errors import QueueUnavailable
from shared.jobs import JobStore
from shared.settings import Settings
from shared.storage.memory import MemoryStorage


@dataclass
class RecordingQueue:
    """A queue that remembers what was sent (or refuses, like a broker that is down)."""

    sent: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    down: bool = False

    def revoke(self, task_id: str) -> None:
        self.revoked.append(task_id)

    def send(self, job_id: str) -> None:
        if self.down:
            raise QueueUnavailable("the job queue is unreachable (test)")
        self.sent.append(job_id)


@dataclass
class Api:
    app: Flask
    client: FlaskClient
    store: JobStore
    storage: MemoryStorage
    queue: RecordingQueue
    settings: Settings


def build_api(model: Path, *, store: JobStore | None = None, **overrides: object) -> Api:
    """The API with fresh fakes and test settings, `overrides` applied on top."""
    values: dict[str, object] = {
        "model": str(model),
        "max_upload_bytes": 200_000,
        "max_megapixels": 1.0,
        "sync_wait_seconds": 0.2,
        "rate_limit_storage_url": "memory://",  # counters per test app, never a shared Redis
        **overrides,
    }
    settings = Settings(**values)  # type: ignore[arg-type]
    store = store or JobStore(fakeredis.FakeRedis(), retention_seconds=600)
    storage, queue = MemoryStorage(), RecordingQueue()
    app = create_app(
        {"TESTING": True}, settings=settings, store=store, storage=storage, queue=queue
    )
    return Api(app, app.test_client(), store, storage, queue, settings)


@pytest.fixture
def api(tiny_model: Path) -> Api:
    return build_api(tiny_model)


@pytest.fixture
def inline_api(api: Api) -> Api:
    """The API whose queue runs each job at once in this process, as a worker would."""
    from worker.jobrunner import run_job

    class InlineQueue(RecordingQueue):
        def send(self, job_id: str) -> None:
            super().send(job_id)
            run_job(
                job_id,
                store=api.store,
                storage=api.storage,
                settings=api.settings,
                worker_name="inline",
            )

    api.queue = InlineQueue()
    api.app.extensions["cutout"].queue = api.queue
    return api
