"""Webhook events in Redis (fakeredis): scheduled with the job's end, claimed once, recorded."""

from __future__ import annotations

import json

import fakeredis
import pytest

from shared import webhooks
from shared.jobs import Job, JobStore
from shared.webhook_events import job_message_id
from shared.webhook_queue import Outcome, claim_due, complete, next_due
from shared.webhooks import DUE, State

PUBLIC = "https://cutout.example.com"


@pytest.fixture
def store() -> JobStore:
    return JobStore(fakeredis.FakeRedis(), retention_seconds=3600, public_url=PUBLIC)


def processing(store: JobStore, url: str | None = "https://hook.example/in") -> Job:
    job = store.create(Job(id="j1", tenant="acme", webhook_url=url))
    store.start(job.id, worker="w", max_attempts=3)
    return job


def test_a_succeeded_job_schedules_one_event_with_absolute_links(store: JobStore) -> None:
    processing(store)

    def record(job: Job) -> None:
        job.outputs = {"result": {"key": "outputs/j1/result.png", "format": "png"}}

    store.succeed("j1", record)
    store.cancel("j1")  # already terminal: no second event
    record_ = webhooks.load(store.redis, job_message_id("j1"))
    assert (
        record_ is not None and record_["tenant"] == "acme" and record_["type"] == "job.succeeded"
    )
    body = json.loads(record_["body"])
    assert set(body) == {"type", "timestamp", "data"}
    assert body["data"]["links"]["result"] == f"{PUBLIC}/v1/jobs/j1/result"
    assert body["data"]["outputs"]["result"] == {"format": "png"}  # no storage key
    assert store.redis.zcard(DUE) == 1 and store.redis.zscore(DUE, job_message_id("j1"))


def test_failed_jobs_send_job_failed(store: JobStore) -> None:
    processing(store)
    store.fail("j1", "invalid_image", "cannot decode")
    record = webhooks.load(store.redis, job_message_id("j1"))
    assert record is not None and record["type"] == "job.failed"
    assert json.loads(record["body"])["data"]["error"]["code"] == "invalid_image"


@pytest.mark.parametrize("url", [None, "https://hook.example/in"])
def test_no_event_without_a_url_or_for_a_cancel(store: JobStore, url: str | None) -> None:
    processing(store, url)
    if url is None:
        store.fail("j1", "invalid_image", "cannot decode")
    else:
        store.cancel("j1")
    assert store.redis.zcard(DUE) == 0
    assert webhooks.load(store.redis, job_message_id("j1")) is None


def test_the_event_is_part_of_the_transition_transaction(store: JobStore) -> None:
    """A transition that does not happen (the job is not processing) schedules nothing."""
    store.create(Job(id="j1", webhook_url="https://hook.example/in"))
    assert store.succeed("j1", lambda job: None) is not None  # queued: succeed refuses
    assert store.redis.zcard(DUE) == 0


def test_bodies_stay_under_the_limit() -> None:
    data = {"id": "j", "status": "failed", "warnings": ["w" * 1000] * 40, "links": {}}
    body = webhooks.event_body("job.failed", data, 0.0)
    assert len(body.encode()) <= webhooks.MAX_BODY_BYTES
    parsed = json.loads(body)["data"]
    assert parsed["truncated"] is True and len(parsed["warnings"]) == 5
    huge = {"id": "j", "status": "failed", "error": {"code": "x", "message": "m" * 50_000}}
    parsed = json.loads(webhooks.event_body("job.failed", huge, 0.0))["data"]
    assert parsed == {"id": "j", "status": "failed", "error": {"code": "x"}, "truncated": True}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h.example/in", "https://h.example/in"),
        (
            "https://u:pw@h.example:8443/in?token=abc&x",
            "https://u:***@h.example:8443/in?token=***&x",
        ),
        ("http://h.example/?a=1&b=2#frag", "http://h.example/?a=***&b=***"),
    ],
)
def test_urls_are_shown_without_secrets(url: str, shown: str) -> None:
    assert webhooks.redact_url(url) == shown


def schedule(client: fakeredis.FakeRedis, message_id: str = "m1", now: float = 100.0) -> None:
    webhooks.schedule_event(
        client,
        tenant="t",
        url="https://hook.example/in",
        event_type="job.succeeded",
        data={"id": "j"},
        message_id=message_id,
        now=now,
    )


def test_a_due_delivery_is_claimed_once_until_its_lease_ends() -> None:
    client = fakeredis.FakeRedis()
    schedule(client)
    assert claim_due(client, lease_seconds=30, now=99.0) is None  # not due yet
    first = claim_due(client, lease_seconds=30, now=100.0)
    assert first is not None and first.message_id == "m1"
    assert claim_due(client, lease_seconds=30, now=120.0) is None  # leased
    second = claim_due(client, lease_seconds=30, now=131.0)  # the first sender died
    assert second is not None and second.token != first.token
    # The first sender comes back late: its attempt is kept, the schedule is not its to set.
    late = Outcome({"at": "late", "status_code": 500}, State.PENDING, next_attempt_at=500.0)
    assert complete(client, first, late) is False
    assert client.zscore(DUE, "m1") == 161.0
    done = Outcome({"at": "now", "status_code": 204}, State.DELIVERED)
    assert complete(client, second, done) is True
    record = webhooks.load(client, "m1")
    assert record is not None and record["state"] == State.DELIVERED
    assert [a["status_code"] for a in record["attempts"]] == [500, 204]
    assert client.zcard(DUE) == 0 and next_due(client) is None


def test_a_retry_is_due_at_its_time() -> None:
    client = fakeredis.FakeRedis()
    schedule(client)
    claimed = claim_due(client, lease_seconds=30, now=100.0)
    assert claimed is not None
    retry = Outcome({"status_code": 503}, State.PENDING, next_attempt_at=200.0)
    assert complete(client, claimed, retry)
    assert next_due(client) == 200.0 and claim_due(client, lease_seconds=30, now=199.0) is None
    again = claim_due(client, lease_seconds=30, now=200.0)
    assert again is not None and again.record["attempts"] == [{"status_code": 503}]
    view = webhooks.view_for(client, "m1", "https://hook.example/in")
    assert view is not None and view["state"] == State.PENDING and view["deliveries"]


def test_an_expired_record_leaves_the_schedule() -> None:
    client = fakeredis.FakeRedis()
    schedule(client)
    client.delete(webhooks.record_key("m1"))
    assert claim_due(client, lease_seconds=30, now=100.0) is None
    assert client.zcard(DUE) == 0


def test_views_before_the_event() -> None:
    client = fakeredis.FakeRedis()
    assert webhooks.view_for(client, "m9", None) is None
    view = webhooks.view_for(client, "m9", "https://hook.example/in?k=v")
    assert view == {"url": "https://hook.example/in?k=***", "state": "waiting", "deliveries": []}
