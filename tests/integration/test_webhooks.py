"""Signed webhooks end to end: real redis-server, worker, API and webhook sender on loopback.

A receiver (http.server in a thread) verifies every request with `standardwebhooks`.
Needs the real u2netp weights (`make setup`); skips without them.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import webhooks
from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import BIN, Stack, start_stack
from tests.processes import start_process, start_redis, stop_process, wait_until
from tests.webhook_receiver import Receiver, start_receiver

pytestmark = pytest.mark.integration

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
PUBLIC_URL = "http://cutout.test:8080"
SENDER_ENV = {
    "WEBHOOK_SECRET": SECRET,
    "CUTOUT_WEBHOOK_SCHEDULE": "0,1,1,1",  # retries one second apart
    "CUTOUT_WEBHOOK_TIMEOUT_SECONDS": "5",
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = start_receiver()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model_dir = require_real_model().parent
    env = {**SENDER_ENV, "WEBHOOK_ALLOW_PRIVATE": "true", "CUTOUT_PUBLIC_URL": PUBLIC_URL}
    running = start_stack(tmp_path_factory.mktemp("webhooks"), model_dir, webhooks=True, **env)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def photo() -> bytes:
    return encoded(subject_photo(240, 180))


def submit(stack: Stack, image: bytes, url: str) -> str:
    response = stack.submit(image, webhook_url=url)
    assert response.status == 202, response.data
    return str(response.json()["id"])


def webhook_state(stack: Stack, job_id: str, state: str) -> dict:
    """The job's `webhook` once its state is `state`."""
    return wait_until(
        lambda: (view := stack.job(job_id)["webhook"])["state"] == state and view, 60, 0.1
    )


def test_a_succeeded_job_calls_back_signed(stack: Stack, receiver: Receiver, photo: bytes) -> None:
    job_id = submit(stack, photo, receiver.script("/ok?token=secret-value"))
    [request] = receiver.wait_for("/ok?token=secret-value", 1)
    payload = request.verified(SECRET)
    assert payload["type"] == "job.succeeded" and request.headers["webhook-id"]
    job = payload["data"]
    assert job["id"] == job_id and job["status"] == "succeeded"
    assert job["links"]["result"] == f"{PUBLIC_URL}/v1/jobs/{job_id}/result"
    assert "webhook" not in job and len(request.body) < webhooks.MAX_BODY_BYTES
    view = webhook_state(stack, job_id, "delivered")
    assert view["url"].endswith("/ok?token=***"), view
    [delivery] = view["deliveries"]
    assert delivery["status_code"] == 200 and delivery["error"] is None
    assert delivery["duration_ms"] >= 0 and delivery["at"]


def test_a_failed_job_calls_back_job_failed(stack: Stack, receiver: Receiver, photo: bytes) -> None:
    job_id = submit(stack, photo[: len(photo) // 3], receiver.script("/failed"))
    [request] = receiver.wait_for("/failed", 1)
    payload = request.verified(SECRET)
    assert payload["type"] == "job.failed"
    assert payload["data"]["id"] == job_id
    assert payload["data"]["error"]["code"] == "invalid_image"


def test_retries_after_500_keep_the_webhook_id(
    stack: Stack, receiver: Receiver, photo: bytes
) -> None:
    job_id = submit(stack, photo, receiver.script("/flaky", 500, 500))
    requests = receiver.wait_for("/flaky", 3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert all(r.verified(SECRET)["data"]["id"] == job_id for r in requests)
    view = webhook_state(stack, job_id, "delivered")
    assert [d["status_code"] for d in view["deliveries"]] == [500, 500, 200]


def test_410_stops_for_good(stack: Stack, receiver: Receiver, photo: bytes) -> None:
    job_id = submit(stack, photo, receiver.script("/gone", 410, 500))
    view = webhook_state(stack, job_id, "failed")
    assert view["reason"] == "gone" and len(view["deliveries"]) == 1
    # Off the schedule: no sender will ever try it again.
    assert stack.redis.client().zscore(webhooks.DUE, view["id"]) is None
    assert len(receiver.at("/gone")) == 1


def test_retry_after_is_honoured(stack: Stack, receiver: Receiver, photo: bytes) -> None:
    submit(stack, photo, receiver.script("/busy", (503, {"Retry-After": "3"})))
    first, second = receiver.wait_for("/busy", 2)
    # The schedule alone would retry after about 1 s.
    assert second.at - first.at >= 3.0
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_a_pending_retry_survives_a_restart_of_every_process(
    stack: Stack, receiver: Receiver, photo: bytes
) -> None:
    job_id = submit(stack, photo, receiver.script("/restart", (503, {"Retry-After": "10"})))
    wait_until(lambda: len(stack.job(job_id)["webhook"]["deliveries"]) == 1, 60, 0.1)
    stack.stop_services()
    assert len(receiver.at("/restart")) == 1  # the retry is still pending in Redis
    stack.start_services()
    first, second = receiver.wait_for("/restart", 2)
    assert second.verified(SECRET)["data"]["id"] == job_id
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    view = webhook_state(stack, job_id, "delivered")
    assert [d["status_code"] for d in view["deliveries"]] == [503, 200]


def test_private_destinations_are_refused_by_the_sender(tmp_path: Path, receiver: Receiver) -> None:
    """With the guard on, a loopback destination gets no request; the refusal is recorded."""
    redis = start_redis(tmp_path)
    env = {**os.environ, **SENDER_ENV, "REDIS_URL": redis.url, "WEBHOOK_ALLOW_PRIVATE": "false"}
    url = receiver.script("/private")
    client = redis.client()
    webhooks.schedule_event(
        client, tenant="t", url=url, event_type="job.succeeded", data={"id": "x"}, message_id="m1"
    )
    sender = start_process([BIN / "python", "-m", "worker.webhooks"], env, tmp_path / "s.log")
    try:
        record = wait_until(
            lambda: (r := webhooks.load(client, "m1")) and r["state"] == "failed" and r, 30, 0.05
        )
    finally:
        stop_process(sender)
        redis.stop()
    assert record["reason"] == "destination_refused", json.dumps(record)
    assert record["attempts"][0]["error"]["code"] == "destination_refused"
    assert receiver.at("/private") == []
