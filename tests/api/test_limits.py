"""Rate limits per tenant, back-pressure on a deep queue, bounded synchronous waits."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import fakeredis
import pytest

from shared.errors import QueueFull
from shared.jobs import JobStore
from shared.queues import queue_depth, queue_keys
from shared.tasks import PROCESS_QUEUE
from tests.api.conftest import Api, build_api
from tests.conftest import encoded, subject_photo

PHOTO = encoded(subject_photo(64, 48))


def _submit(api: Api, route: str = "/v1/jobs", **headers: str):
    data = {"image": (io.BytesIO(PHOTO), "p.jpg")}
    return api.client.post(route, data=data, headers=headers)


def _bearer(api: Api, tenant: str) -> dict[str, str]:
    key, _ = api.app.extensions["cutout"].keys.create(tenant)
    return {"Authorization": f"Bearer {key}"}


def test_submissions_over_the_limit_get_429_with_retry_after(tiny_model: Path) -> None:
    api = build_api(tiny_model, rate_limit_submit="2/minute", rate_limit="100/minute")
    first = _submit(api)
    assert first.status_code == 202
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert "Retry-After" not in first.headers  # a 202's Retry-After would read as "poll later"
    assert _submit(api).status_code == 202
    refused = _submit(api)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert len(api.queue.sent) == 2
    # Reads have their own budget: the client can still poll what it submitted.
    assert api.client.get(f"/v1/jobs/{first.get_json()['id']}").status_code == 200


def test_each_tenant_has_its_own_budget(tiny_model: Path) -> None:
    api = build_api(tiny_model, rate_limit_submit="1/minute")
    alice, bob = _bearer(api, "alice"), _bearer(api, "bob")
    assert _submit(api, **alice).status_code == 202
    assert _submit(api, **alice).status_code == 429
    assert _submit(api, **bob).status_code == 202


def test_reads_are_limited_and_public_routes_are_not(tiny_model: Path) -> None:
    api = build_api(tiny_model, rate_limit="2/minute")
    statuses = [api.client.get("/v1/jobs/nope").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    assert all(api.client.get("/health").status_code == 200 for _ in range(5))


def test_empty_limits_mean_no_limiter(tiny_model: Path) -> None:
    api = build_api(tiny_model, rate_limit="", rate_limit_submit="")
    response = _submit(api)
    assert response.status_code == 202 and "X-RateLimit-Limit" not in response.headers


def test_an_unreachable_limit_store_falls_back_to_memory_not_500(tiny_model: Path) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    api = build_api(
        tiny_model, rate_limit_storage_url="redis://127.0.0.1:9/0", rate_limit="2/minute"
    )
    statuses = [api.client.get("/v1/jobs/nope").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


def test_queue_depth_sums_every_priority_list_kombu_uses() -> None:
    client = fakeredis.FakeRedis()
    keys = queue_keys(PROCESS_QUEUE)
    assert keys[0] == PROCESS_QUEUE and keys[1] == f"{PROCESS_QUEUE}\x06\x163"
    client.rpush(keys[0], "a", "b")
    client.rpush(keys[3], "c")
    client.rpush("unacked", "not waiting")
    assert queue_depth(client, [PROCESS_QUEUE]) == 3
    assert queue_depth(client, ["other"]) == 0


def test_a_full_queue_answers_503_queue_full_before_storing_anything(tiny_model: Path) -> None:
    api = build_api(tiny_model, max_queue_depth=2)
    api.store.redis.rpush(PROCESS_QUEUE, "x", "y")
    for route in ("/v1/jobs", "/remove-bg"):
        response = _submit(api, route)
        assert response.status_code == 503, route
        assert response.get_json()["error"]["code"] == "queue_full"
        # Its own Retry-After, not the end of the rate limiter's window.
        assert response.headers["Retry-After"] == str(QueueFull.retry_after)
        assert "X-Cutout-Limiter-Retry-After" not in response.headers
    assert api.storage.files == {} and api.queue.sent == []
    api.store.redis.lpop(PROCESS_QUEUE)
    assert _submit(api).status_code == 202


def test_an_idempotent_replay_is_answered_even_when_the_queue_is_full(tiny_model: Path) -> None:
    api = build_api(tiny_model, max_queue_depth=1)
    first = _submit(api, **{"Idempotency-Key": "order-1"})
    api.store.redis.rpush(PROCESS_QUEUE, "x")
    again = _submit(api, **{"Idempotency-Key": "order-1"})
    assert again.status_code == 202 and again.get_json()["id"] == first.get_json()["id"]


class WaitCounter(JobStore):
    """A job store that counts the synchronous waits it serves."""

    def __init__(self) -> None:
        super().__init__(fakeredis.FakeRedis(), retention_seconds=600)
        self.waits = 0
        self.waiting = threading.Semaphore(0)

    def wait(self, job_id: str, timeout: float):  # noqa: ANN201 - same as JobStore.wait
        self.waits += 1
        self.waiting.release()
        return super().wait(job_id, timeout)


@pytest.mark.timeout(60)
def test_only_sync_wait_slots_requests_wait_the_rest_get_202_at_once(tiny_model: Path) -> None:
    store = WaitCounter()
    api = build_api(tiny_model, store=store, sync_wait_slots=2, sync_wait_seconds=30)
    answers: list[int] = []

    def call() -> None:
        answers.append(_submit(api, "/remove-bg").status_code)

    waiters = [threading.Thread(target=call) for _ in range(2)]
    for thread in waiters:
        thread.start()
    for _ in waiters:
        assert store.waiting.acquire(timeout=20)
    # Both slots are held: the third request is answered with its job, without waiting.
    third = _submit(api, "/remove-bg")
    assert third.status_code == 202 and third.headers["Location"].endswith(third.json["id"])
    assert store.waits == 2
    for job_id in api.queue.sent[:2]:
        store.fail(job_id, "invalid_image", "test: end the wait")
    for thread in waiters:
        thread.join(20)
    assert sorted(answers) == [422, 422]
    # The slots are free again: the next request waits for its job.
    api.settings.sync_wait_seconds = 0.1
    assert _submit(api, "/remove-bg").status_code == 202 and store.waits == 3
