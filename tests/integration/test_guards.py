"""The API's guards against real processes.

- Rate limits count in a real Redis, shared by every API process; back-pressure reads the
  very lists kombu publishes to; with Redis stopped the guards answer 503, never 500.
- The worst bad files sent to the whole stack (gunicorn, Celery worker, real model) while
  good jobs are in flight: each bad file gets its code, every good job succeeds.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from api.app import create_app
from api.queue import CeleryQueue
from shared.jobs import JobStore
from shared.queues import queue_depth
from shared.settings import Settings
from shared.storage.memory import MemoryStorage
from tests.api.bad_inputs import (
    animated,
    corrupt_png_data,
    png_1x20000,
    png_bomb,
    png_claiming,
    random_bytes,
    truncated,
    zip_bomb,
)
from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import Stack, http, start_stack
from tests.processes import RedisProcess, start_redis

pytestmark = pytest.mark.integration
PHOTO = encoded(subject_photo(160, 120))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    server = start_redis(tmp_path)
    yield server
    server.stop()


def _api_process(server: RedisProcess, **overrides: object) -> Flask:
    """One API 'process': its own app and clients, on the shared Redis."""
    settings = Settings(redis_url=server.url, **overrides)  # type: ignore[arg-type]
    store = JobStore(server.client(retry=False), retention_seconds=600)
    return create_app(
        {"TESTING": True},
        settings=settings,
        store=store,
        storage=MemoryStorage(),
        queue=CeleryQueue(settings),
    )


def _post(app: Flask):  # noqa: ANN202 - a test response
    data = {"image": (io.BytesIO(PHOTO), "p.jpg")}
    return app.test_client().post("/v1/jobs", data=data)


@pytest.mark.timeout(120)
def test_limits_and_queue_depth_use_the_real_redis(redis_server: RedisProcess) -> None:
    first, second = (
        _api_process(redis_server, rate_limit_submit="4/minute", max_queue_depth=10)
        for _ in range(2)
    )
    statuses = [_post(app).status_code for app in (first, second, first, second, first)]
    # Both processes spend one budget: the fifth submission is refused, wherever it lands.
    assert statuses == [202, 202, 202, 202, 429]
    # Nothing consumes the queue: kombu's list holds the four jobs, and queue_depth sees them.
    assert queue_depth(redis_server.client()) == 4


@pytest.mark.timeout(120)
def test_a_full_real_queue_refuses_and_a_stopped_redis_is_503(
    redis_server: RedisProcess,
) -> None:
    app = _api_process(redis_server, max_queue_depth=2)
    assert [_post(app).status_code for _ in range(3)] == [202, 202, 503]
    assert _post(app).get_json()["error"]["code"] == "queue_full"
    redis_server.stop()
    client = app.test_client()
    for response in (_post(app), client.get("/v1/jobs/some-id")):
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "store_unavailable"
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.get_json()["checks"]["redis"] == "unreachable"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model_dir = require_real_model().parent
    running = start_stack(
        tmp_path_factory.mktemp("guards"), model_dir, CUTOUT_PRESET="fast", CUTOUT_AUTH="off"
    )
    yield running
    running.stop()


# (name, bytes, the API's status, the job's end when it is queued)
WORST = [
    ("zip bomb", zip_bomb, 415, None),
    ("png claims 100k x 100k", lambda: png_claiming(100_000, 100_000), 413, None),
    ("36 MP decompression bomb", lambda: png_bomb(6000), 413, None),
    ("random bytes", random_bytes, 415, None),
    ("truncated jpeg", lambda: truncated(PHOTO, 0.5), 202, "failed"),
    ("corrupt png pixels", corrupt_png_data, 202, "failed"),
    ("1x20000 png", png_1x20000, 202, "succeeded"),
    ("animated gif", lambda: animated("GIF"), 202, "succeeded"),
]


@pytest.mark.timeout(600)
def test_the_worst_files_beside_good_jobs(stack: Stack) -> None:
    good = [stack.submit(PHOTO).json()["id"] for _ in range(3)]
    queued_bad = {}
    for name, make, status, end in WORST:
        response = stack.submit(make())
        assert response.status == status, (name, response.data[:300])
        if status == 202:
            queued_bad[name] = (response.json()["id"], end)
        else:
            assert response.json()["error"]["code"], name
    malformed = http.request(
        "POST",
        stack.url("/v1/jobs"),
        body=b"--XyZ\r\nno headers",
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert malformed.status == 400 and malformed.json()["error"]["code"] == "malformed_request"
    good.append(stack.submit(PHOTO).json()["id"])
    for job_id in good:
        job = stack.wait_for(job_id, timeout=240)
        assert job["status"] == "succeeded", (job, stack.logs())
    for name, (job_id, end) in queued_bad.items():
        job = stack.wait_for(job_id, timeout=240)
        assert job["status"] == end, (name, job)
        if end == "failed":
            assert job["error"]["code"] == "invalid_image", (name, job)
