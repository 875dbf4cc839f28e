"""Batch counters and completion (shared/batches.py Lua scripts) on fakeredis."""

from __future__ import annotations

import time

import fakeredis
from kombu.transport.redis import Channel

from shared.batches import EVENTS, Batch, BatchStore, queue_job_ended
from shared.jobs import Job, JobStore, Status
from shared.tasks import BULK_PRIORITY, EXPAND_PRIORITY, PRIORITY_STEPS, queue_lists


def _stores() -> tuple[JobStore, BatchStore]:
    client = fakeredis.FakeRedis()
    return JobStore(client, retention_seconds=600), BatchStore(client, retention_seconds=600)


def _add(jobs: JobStore, batches: BatchStore, batch: Batch, status: Status) -> Job:
    job = Job(id=f"j{batches.get(batch.id).items}", batch_id=batch.id, status=status)  # type: ignore[union-attr]
    with jobs.redis.pipeline() as pipe:
        jobs.queue_create(pipe, job)
        batches.queue_add_item(pipe, batch.id, job)
        pipe.execute()
    return job


def test_completion_needs_closed_nothing_expanding_and_every_item_ended() -> None:
    jobs, batches = _stores()
    batch = batches.create(Batch(id="b1", tenant="t"))
    first = _add(jobs, batches, batch, Status.QUEUED)
    _add(jobs, batches, batch, Status.FAILED)  # a bad item: ended at once
    batches.add_source(batch.id)
    assert batches.close(batch.id) == 0  # an item and a zip still to come
    jobs.fail(first.id, "invalid_image", "no")
    stored = batches.get(batch.id)
    assert stored is not None and stored.status == "closed" and stored.counts["failed"] == 2
    assert batches.source_done(batch.id) is True
    assert batches.close(batch.id) == -1  # not open any more: nothing happens
    raw = jobs.redis.hgetall("cutout:batch:b1")
    assert raw[b"status"] == b"completed" and raw[b"events:batch.completed"] == b"1"
    assert jobs.redis.llen(EVENTS) == 0  # handed on (delivered) once


def test_a_job_counted_twice_counts_once() -> None:
    jobs, batches = _stores()
    batch = batches.create(Batch(id="b2", tenant="t"))
    job = _add(jobs, batches, batch, Status.QUEUED)
    job.status = Status.SUCCEEDED
    for _ in range(3):
        with jobs.redis.pipeline() as pipe:
            queue_job_ended(pipe, job)
            pipe.execute()
    stored = batches.get(batch.id)
    assert stored is not None and stored.ended == 1 and stored.counts["succeeded"] == 1


def _counts(jobs: JobStore, batch_id: str) -> tuple[int, int, int]:
    """(queued, processing, ended) as the batch's JSON reports them."""
    stored = BatchStore(jobs.redis, retention_seconds=600).get(batch_id)
    assert stored is not None
    return stored.pending - stored.processing, stored.processing, stored.ended


def test_items_are_counted_queued_then_processing_then_ended() -> None:
    jobs, batches = _stores()
    batch = batches.create(Batch(id="b3", tenant="t"))
    first, second, third = (_add(jobs, batches, batch, Status.QUEUED) for _ in range(3))
    assert _counts(jobs, batch.id) == (3, 0, 0)
    for _ in range(2):  # a redelivery of a job already processing counts once
        jobs.start(first.id, worker="w", max_attempts=3)
    jobs.start(second.id, worker="w", max_attempts=3)
    assert _counts(jobs, batch.id) == (1, 2, 0)
    jobs.requeue(second.id)  # a retry waits in the queue again
    assert _counts(jobs, batch.id) == (2, 1, 0)
    jobs.succeed(first.id, lambda job: None)
    jobs.cancel(third.id)  # ended without starting
    assert _counts(jobs, batch.id) == (1, 0, 2)
    jobs.start(second.id, worker="w", max_attempts=3)
    jobs.fail(second.id, "invalid_image", "no")
    assert _counts(jobs, batch.id) == (0, 0, 3)
    for key in ("cutout:batch:b3:started", "cutout:batch:b3:ended"):
        assert 0 < jobs.redis.ttl(key) <= 600  # the sets expire with the batch


def test_a_batch_made_before_the_started_count_reports_its_pending_items_queued() -> None:
    jobs, batches = _stores()
    batch = batches.create(Batch(id="b4", tenant="t"))
    jobs.redis.hdel("cutout:batch:b4", "counts_started")  # as an older version made it
    first, second = (_add(jobs, batches, batch, Status.QUEUED) for _ in range(2))
    jobs.start(first.id, worker="w", max_attempts=3)
    assert _counts(jobs, batch.id) == (2, 0, 0)  # not split: no started count to trust
    jobs.succeed(first.id, lambda job: None)
    assert _counts(jobs, batch.id) == (1, 0, 1)


def test_queue_lists_are_kombus_names() -> None:
    channel = Channel.__new__(Channel)
    channel.priority_steps = PRIORITY_STEPS
    expected = [channel._q_for_pri("cutout", step) for step in PRIORITY_STEPS]
    assert queue_lists() == expected
    assert channel.priority(BULK_PRIORITY) == BULK_PRIORITY
    assert channel.priority(EXPAND_PRIORITY) == EXPAND_PRIORITY


def test_progress_events_only_when_asked_and_at_most_every_interval() -> None:
    jobs, batches = _stores()
    quiet = batches.create(Batch(id="b3", tenant="t"))
    chatty = batches.create(
        Batch(id="b4", tenant="t", progress_every=60, created_at=time.time() - 120)
    )
    for batch in (quiet, chatty):
        for _ in range(3):
            job = _add(jobs, batches, batch, Status.QUEUED)
            jobs.fail(job.id, "invalid_image", "no")
    assert jobs.redis.hget("cutout:batch:b3", "events:batch.progress") is None
    # Three items ended within the interval: one progress event, not three.
    assert jobs.redis.hget("cutout:batch:b4", "events:batch.progress") == b"1"
