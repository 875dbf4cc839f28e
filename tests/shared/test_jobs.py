"""The Redis job store on fakeredis: creation, tenants, transitions, expiry."""

from __future__ import annotations

import threading
import time

import fakeredis
import pytest

from shared.jobs import Job, JobStore, Status, new_job_id
from shared.keys import ANONYMOUS


@pytest.fixture
def store() -> JobStore:
    return JobStore(fakeredis.FakeRedis(), retention_seconds=3600)


def test_ids_are_unguessable_and_url_safe() -> None:
    ids = {new_job_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) >= 22 and "/" not in i for i in ids)


def test_create_and_read_back(store: JobStore) -> None:
    job = store.create(Job(id="a", tenant="acme", options={"mode": "mask"}))
    assert store.get("a") == job and store.get("missing") is None
    assert store.get("a").tenant == "acme"  # type: ignore[union-attr]
    assert 3590 < store.redis.ttl("cutout:job:a") <= 3600


def test_records_written_before_tenants_read_as_anonymous(store: JobStore) -> None:
    store.redis.set("cutout:job:old", '{"id": "old", "status": "queued"}')
    assert store.get("old").tenant == ANONYMOUS  # type: ignore[union-attr]


def test_start_counts_interruptions_and_gives_up(store: JobStore) -> None:
    store.create(Job(id="a"))
    for attempt in (1, 2):  # each start finds the previous one unfinished: its worker died
        job = store.start("a", worker="w1", max_attempts=2)
        assert job is not None and job.status is Status.PROCESSING and job.attempts == attempt
    job = store.start("a", worker="w1", max_attempts=2)
    assert job is not None and job.status is Status.FAILED and job.error is not None
    assert job.error["code"] == "worker_lost" and job.interruptions == 2 and job.attempts == 2
    assert store.start("a", worker="w1", max_attempts=2).status is Status.FAILED  # type: ignore[union-attr]


def test_a_deliberate_retry_is_not_an_interruption(store: JobStore) -> None:
    store.create(Job(id="a"))
    for _ in range(5):
        store.start("a", worker="w1", max_attempts=2)
        store.requeue("a")
    job = store.start("a", worker="w1", max_attempts=2)
    assert job is not None and job.status is Status.PROCESSING and job.interruptions == 0
    assert job.attempts == 6


def test_succeed_only_from_processing(store: JobStore) -> None:
    store.create(Job(id="a"))
    assert store.succeed("a", lambda job: None).status is Status.QUEUED  # type: ignore[union-attr]
    store.start("a", worker="w", max_attempts=3)
    job = store.succeed("a", lambda job: setattr(job, "method", "u2netp"))
    assert job is not None and job.status is Status.SUCCEEDED and job.method == "u2netp"


def test_cancel_wins_over_a_late_result(store: JobStore) -> None:
    store.create(Job(id="a"))
    store.start("a", worker="w", max_attempts=3)
    assert store.cancel("a").status is Status.CANCELED  # type: ignore[union-attr]
    assert store.succeed("a", lambda job: None).status is Status.CANCELED  # type: ignore[union-attr]
    assert store.fail("a", "x", "y").status is Status.CANCELED  # type: ignore[union-attr]


def test_fail_records_code_and_details(store: JobStore) -> None:
    store.create(Job(id="a"))
    job = store.fail("a", "invalid_image", "truncated", method="u2netp")
    assert job is not None and job.error == {"code": "invalid_image", "message": "truncated"}
    assert job.method == "u2netp" and job.status.is_terminal()


def test_concurrent_updates_lose_nothing(store: JobStore) -> None:
    store.create(Job(id="a"))

    def bump() -> None:
        for _ in range(50):
            store.update("a", lambda job: job.warnings.append("x") is None)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.get("a").warnings) == 200  # type: ignore[union-attr]


def test_expired_ids_and_forgetting(store: JobStore) -> None:
    store.create(Job(id="old", created_at=0.0))
    store.create(Job(id="new"))
    assert store.expired_ids() == ["old"]
    store.forget_expired("old")
    assert store.expired_ids() == []


def test_wait_returns_when_terminal(store: JobStore) -> None:
    store.create(Job(id="a"))
    timer = threading.Timer(0.1, lambda: store.fail("a", "x", "y"))
    timer.start()
    job = store.wait("a", timeout=5)
    assert job is not None and job.status is Status.FAILED
    store.create(Job(id="b"))
    assert store.wait("b", timeout=0.1).status is Status.QUEUED  # type: ignore[union-attr]


def test_every_waiter_sees_the_end_and_late_waiters_return_at_once(store: JobStore) -> None:
    store.create(Job(id="c"))
    results: list[Job | None] = []
    waiters = [threading.Thread(target=lambda: results.append(store.wait("c", 5))) for _ in "ab"]
    for waiter in waiters:
        waiter.start()
    threading.Timer(0.1, lambda: store.cancel("c")).start()
    for waiter in waiters:
        waiter.join(timeout=5)
    assert [job.status for job in results if job] == [Status.CANCELED, Status.CANCELED]
    started = time.monotonic()
    late = store.wait("c", 5)
    assert late is not None and late.status is Status.CANCELED
    assert time.monotonic() - started < 0.5


def test_delete_drops_the_finished_notice_too(store: JobStore) -> None:
    store.create(Job(id="d"))
    store.fail("d", "x", "y")
    assert store.redis.exists("cutout:finished:d")
    store.delete("d")
    assert not store.redis.exists("cutout:finished:d") and store.get("d") is None
