"""The unfinished-jobs index, the reaper and the sweeper of late outputs (fakeredis)."""

from __future__ import annotations

import base64
import json

import fakeredis
import pytest
from celery import Celery

from shared import unfinished
from shared.jobs import Job, JobStore, Status
from shared.storage.memory import MemoryStorage
from shared.tasks import PROCESS_QUEUE, PROCESS_TASK
from worker.reaper import BROKER_UNACKED, on_broker, reap
from worker.sweeper import sweep_late_outputs

STALE = 100.0


@pytest.fixture
def store() -> JobStore:
    return JobStore(fakeredis.FakeRedis(), retention_seconds=10_000)


class Sender:
    """Records what the reaper sends (or fails like a broker that is down)."""

    def __init__(self, down: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.down = down

    def __call__(self, job_id: str, task_id: str) -> None:
        if self.down:
            raise ConnectionError("broker down (test)")
        self.sent.append((job_id, task_id))


def _index(store: JobStore) -> dict[str, float]:
    return {
        k.decode(): v for k, v in store.redis.zrange(unfinished.UNFINISHED, 0, -1, withscores=True)
    }


def _stuck(store: JobStore, job_id: str, at: float = 0.0, **fields: object) -> None:
    """A job recorded at `at` that nothing has moved since (no message on the broker)."""
    store.create(Job(id=job_id, created_at=at, updated_at=at, **fields))  # type: ignore[arg-type]


def _celery_message(job_id: str) -> bytes:
    """A task message as Celery puts it on the Redis queue (headers in clear, body base64)."""
    app = Celery("test", set_as_current=False)
    message = app.amqp.as_task_v2("some-task-id", PROCESS_TASK, args=[job_id])
    body = base64.b64encode(json.dumps(message.body).encode()).decode()
    return json.dumps({"body": body, "headers": message.headers, "properties": {}}).encode()


def test_the_index_follows_every_transition(store: JobStore) -> None:
    store.create(Job(id="a", updated_at=5.0))
    assert _index(store) == {"a": 5.0}
    started = store.start("a", worker="w", max_attempts=3, task_id="t1")
    assert started is not None and started.task_id == "t1"
    assert _index(store)["a"] == pytest.approx(started.updated_at)
    store.succeed("a", lambda job: None)
    assert _index(store) == {}
    store.create(Job(id="b"))
    store.cancel("b")
    store.create(Job(id="c"))
    store.delete("c")
    assert _index(store) == {}
    assert unfinished.due_sweeps(store.redis, before=float("inf")) == ["b", "c"]


def test_a_job_nobody_sent_is_resent_once_then_runs(store: JobStore) -> None:
    _stuck(store, "lost")
    send = Sender()
    done = reap(store, send, stale_after=STALE, max_resends=3, now=1_000.0)
    assert done.resent == ["lost"] and len(send.sent) == 1
    job = store.get("lost")
    assert job is not None and job.status is Status.QUEUED and job.resends == 1
    assert job.task_id == send.sent[0][1]
    # A second reaper at the same moment finds it fresh: no second send.
    assert reap(store, send, stale_after=STALE, max_resends=3, now=1_000.0).resent == []
    assert len(send.sent) == 1
    # The old task, delivered late, leaves the job to the new one.
    late = store.start("lost", worker="w", max_attempts=3, task_id="the-first-task")
    assert late is not None and late.status is Status.QUEUED and late.attempts == 0
    ran = store.start("lost", worker="w", max_attempts=3, task_id=job.task_id)
    assert ran is not None and ran.status is Status.PROCESSING and ran.attempts == 1


def test_a_stuck_processing_job_is_resent_and_counts_as_no_crash(store: JobStore) -> None:
    # Its task failed while Redis was down: nobody recorded the failure, no message is left.
    _stuck(store, "p", status=Status.PROCESSING, task_id="t1", attempts=1)
    done = reap(store, Sender(), stale_after=STALE, max_resends=3, now=1_000.0)
    assert done.resent == ["p"]
    job = store.get("p")
    assert job is not None and job.status is Status.QUEUED and job.interruptions == 0
    assert job.task_id != "t1"


def test_after_max_resends_the_job_fails_stalled(store: JobStore) -> None:
    _stuck(store, "s", resends=2)
    send = Sender()
    done = reap(store, send, stale_after=STALE, max_resends=2, now=1_000.0)
    assert done.failed == ["s"] and send.sent == []
    job = store.get("s")
    assert job is not None and job.status is Status.FAILED
    assert job.error is not None and job.error["code"] == "stalled"
    assert _index(store) == {}
    assert store.wait("s", timeout=0.1) is not None  # the finished stream was written


def test_a_job_whose_message_the_broker_holds_is_only_waiting(store: JobStore) -> None:
    for job_id in ("queued", "delivered", "lost"):
        _stuck(store, job_id)
    store.redis.rpush(PROCESS_QUEUE, _celery_message("queued"))
    store.redis.hset(BROKER_UNACKED, "tag", json.dumps([_celery_message("delivered").decode()]))
    assert on_broker(store.redis, ["queued", "delivered", "lost"]) == {"queued", "delivered"}
    send = Sender()
    done = reap(store, send, stale_after=STALE, max_resends=3, now=1_000.0)
    assert sorted(done.waiting) == ["delivered", "queued"] and done.resent == ["lost"]
    # Looked at again one period later, not at every pass.
    assert _index(store)["queued"] == 1_000.0
    assert reap(store, send, stale_after=STALE, max_resends=3, now=1_050.0).waiting == []


def test_fresh_finished_and_vanished_jobs_are_left_alone(store: JobStore) -> None:
    _stuck(store, "fresh", at=990.0)
    _stuck(store, "done")
    store.cancel("done")
    _stuck(store, "gone")
    store.redis.delete("cutout:job:gone")  # expired before the sweeper saw it
    send = Sender()
    done = reap(store, send, stale_after=STALE, max_resends=3, now=1_000.0)
    assert (done.resent, done.failed, send.sent) == ([], [], [])
    assert list(_index(store)) == ["fresh"]


def test_a_failed_resend_is_tried_again_one_period_later(store: JobStore) -> None:
    _stuck(store, "x")
    assert (
        reap(store, Sender(down=True), stale_after=STALE, max_resends=3, now=1_000.0).resent == []
    )
    job = store.get("x")
    assert job is not None and job.status is Status.QUEUED and job.resends == 1
    later = job.updated_at + STALE + 1
    assert reap(store, Sender(), stale_after=STALE, max_resends=3, now=later).resent == ["x"]


def test_late_outputs_of_canceled_and_deleted_jobs_are_swept(store: JobStore) -> None:
    storage = MemoryStorage()
    for job_id in ("canceled", "deleted", "running"):
        store.create(Job(id=job_id))
        for key in (f"inputs/{job_id}/original", f"outputs/{job_id}/mask.png"):
            storage.put(key, b"x", content_type="image/png")
    store.cancel("canceled")
    store.delete("deleted")
    swept_at = unfinished.due_sweeps(store.redis, before=float("inf"))
    assert sorted(swept_at) == ["canceled", "deleted"]
    # Within the grace period a running task may still be stopping: nothing goes yet.
    assert sweep_late_outputs(store, storage, grace=3600) == 0
    assert sweep_late_outputs(store, storage, grace=0, now=float("inf")) == 2
    assert sorted(storage.files) == [
        "inputs/canceled/original",
        "inputs/running/original",
        "outputs/running/mask.png",
    ]
