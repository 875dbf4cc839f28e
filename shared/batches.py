"""Batches: a tenant's set of jobs (items) with counters kept exactly as jobs end.

A batch is one Redis hash, the ordered list of its item job ids, and the set of items that
ended. Every change that can complete a batch (an item ends, an item is added already
failed, a zip or URL list is fully expanded, the batch is closed) runs as one Lua script,
so the counters never drift and "completed" is reached exactly once: the script that
completes a batch also pushes its `batch.completed` event onto a list, which
`shared.batchevents.deliver` hands to the webhooks (see there).

`JobStore.update` calls `queue_job_ended` inside the MULTI that makes a job terminal, so a
job's end and its batch's counters are written together or not at all; the ended-set makes
a second call for the same job (a later update of a finished job) a no-op. Every other
change of an item calls `queue_job_moved`, which keeps the started set: a job that starts
processing joins it, one sent back to the queue (a retry, a re-send) leaves it, and an item
that ends joins it too, so `started - ended` items are processing and `items - started`
wait in the queue. The scripts are in shared/batch_scripts.py.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import redis

from shared.batch_scripts import CANCEL, CLOSE, ITEM_ADDED, ITEM_ENDED, ITEM_MOVED, SOURCE_DONE

if TYPE_CHECKING:
    from shared.jobs import Job

PREFIX = "cutout:batch:"
EVENTS = "cutout:batch-events"
JOB_STATUSES = ("succeeded", "failed", "canceled")


class BatchStatus(StrEnum):
    OPEN = "open"  # items may still be added
    CLOSED = "closed"  # no more items; waiting for the ones there
    COMPLETED = "completed"  # closed and every item ended
    CANCELED = "canceled"  # DELETE: what had not started was canceled


def new_batch_id() -> str:
    """Unguessable, like job ids; a `b_` prefix tells them apart in logs."""
    return "b_" + secrets.token_urlsafe(12)


@dataclass
class Batch:
    """A batch as stored: its settings and its counters."""

    id: str
    tenant: str
    status: BatchStatus = BatchStatus.OPEN
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    webhook_url: str | None = None
    progress_every: float = 0.0
    created_at: float = field(default_factory=time.time)
    closed_at: float | None = None
    completed_at: float | None = None
    last_ended_at: float | None = None
    items: int = 0
    ended: int = 0
    started: int = 0  # items that started processing or ended (see the module's doc)
    counts_started: bool = True  # False: made before `started` was kept; all pending queued
    pending_sources: int = 0
    needs_review: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        """Items queued or processing."""
        return self.items - self.ended

    @property
    def processing(self) -> int:
        """Items a worker has started and not ended."""
        if not self.counts_started:
            return 0
        return min(self.pending, max(0, self.started - self.ended))


def keys(batch_id: str) -> dict[str, str]:
    """The Redis keys of one batch."""
    base = f"{PREFIX}{batch_id}"
    return {
        "batch": base,
        "items": f"{base}:items",
        "ended": f"{base}:ended",
        "started": f"{base}:started",
    }


def source_key(batch_id: str, number: int, kind: str) -> str:
    """Where an uploaded zip or URL list waits in storage until it is expanded."""
    return f"batches/{batch_id}/sources/{number}.{kind}"


def queue_job_ended(pipe: Any, job: Job) -> None:
    """Inside the MULTI that ends `job`: count it in its batch (once, whatever happens)."""
    if job.batch_id is None:
        return
    proxy = (job.metrics or {}).get("proxy") or {}
    k = keys(job.batch_id)
    args = (job.id, job.status.value, "1" if proxy.get("needs_review") else "0", time.time())
    pipe.eval(ITEM_ENDED, 4, k["batch"], k["ended"], EVENTS, k["started"], *args)


def queue_job_moved(pipe: Any, job: Job) -> None:
    """Inside the MULTI that changes an unfinished `job`: count it processing or queued."""
    if job.batch_id is None or job.status.is_terminal():
        return
    k = keys(job.batch_id)
    processing = "1" if job.status.value == "processing" else "0"
    pipe.eval(ITEM_MOVED, 3, k["batch"], k["started"], k["ended"], job.id, processing)


def after_job_ended(client: redis.Redis, job: Job) -> None:
    """After the MULTI: hand any batch event it produced to the webhooks."""
    if job.batch_id is not None and job.status.is_terminal():
        from shared.batchevents import deliver  # here: batchevents imports the job store

        deliver(client)


class BatchStore:
    """Batches in Redis, beside the job store (same client, same retention)."""

    def __init__(self, client: redis.Redis, *, retention_seconds: int) -> None:
        self.redis = client
        self.retention = retention_seconds

    def create(self, batch: Batch) -> Batch:
        k = keys(batch.id)
        fields: dict[Any, Any] = {
            "id": batch.id,
            "tenant": batch.tenant,
            "status": batch.status.value,
            "name": batch.name or "",
            "options": json.dumps(batch.options),
            "webhook_url": batch.webhook_url or "",
            "progress_every": batch.progress_every,
            "created_at": batch.created_at,
            "last_progress_at": batch.created_at,
            "items": 0,
            "ended": 0,
            "pending_sources": 0,
            "needs_review": 0,
            "counts_started": 1,
        }
        with self.redis.pipeline() as pipe:
            pipe.hset(k["batch"], mapping=fields)
            pipe.expire(k["batch"], self.retention)
            pipe.execute()
        return batch

    def get(self, batch_id: str) -> Batch | None:
        raw = self.redis.hgetall(keys(batch_id)["batch"])
        return _from_hash(raw) if raw else None

    def queue_add_item(self, pipe: Any, batch_id: str, job: Job) -> None:
        """Inside the MULTI that creates `job`: append it to the batch's items.

        A job created already terminal (a bad item) is counted as ended at once.
        """
        k = keys(batch_id)
        item_keys = (k["batch"], k["items"], k["ended"], k["started"])
        pipe.eval(ITEM_ADDED, 4, *item_keys, job.id, self.retention)
        if job.status.is_terminal():
            queue_job_ended(pipe, job)

    def add_source(self, batch_id: str) -> int:
        """Count a zip or URL list waiting to be expanded; returns its number in the batch."""
        k = keys(batch_id)["batch"]
        with self.redis.pipeline() as pipe:
            pipe.hincrby(k, "pending_sources", 1)
            pipe.hincrby(k, "sources", 1)
            return int(pipe.execute()[1])

    def source_done(self, batch_id: str) -> bool:
        """A source is fully expanded; True if that completed the batch."""
        return self._run(SOURCE_DONE, batch_id) == 1

    def close(self, batch_id: str) -> int:
        """No more items: 1 if that completed the batch, 0 if not yet, -1 if not open."""
        return int(self._run(CLOSE, batch_id))

    def cancel(self, batch_id: str) -> bool:
        """Mark the batch canceled (its unstarted jobs are canceled by the caller)."""
        k = keys(batch_id)["batch"]
        return self.redis.eval(CANCEL, 1, k, time.time()) == 1

    def item_ids(self, batch_id: str, start: int, count: int) -> list[str]:
        """Item job ids in the order they were added, from position `start`."""
        raw = self.redis.lrange(keys(batch_id)["items"], start, start + count - 1)
        return [value.decode() if isinstance(value, bytes) else value for value in raw]

    def delete(self, batch_id: str) -> None:
        self.redis.delete(*keys(batch_id).values())

    def _run(self, script: str, batch_id: str) -> Any:
        result = self.redis.eval(script, 2, keys(batch_id)["batch"], EVENTS, time.time())
        from shared.batchevents import deliver

        deliver(self.redis)
        return result


def _from_hash(raw: dict[Any, Any]) -> Batch:
    values = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }

    def number(name: str) -> float | None:
        return float(values[name]) if values.get(name) not in (None, "") else None

    return Batch(
        id=values["id"],
        tenant=values["tenant"],
        status=BatchStatus(values["status"]),
        name=values.get("name") or None,
        options=json.loads(values.get("options") or "{}"),
        webhook_url=values.get("webhook_url") or None,
        progress_every=number("progress_every") or 0.0,
        created_at=number("created_at") or 0.0,
        closed_at=number("closed_at"),
        completed_at=number("completed_at"),
        last_ended_at=number("last_ended_at"),
        items=int(values.get("items", 0)),
        ended=int(values.get("ended", 0)),
        started=int(values.get("started", 0)),
        counts_started="counts_started" in values,
        pending_sources=int(values.get("pending_sources", 0)),
        needs_review=int(values.get("needs_review", 0)),
        counts={status: int(values.get(f"count:{status}", 0)) for status in JOB_STATUSES},
    )
