"""Batches: a tenant's set of jobs (items) with counters kept exactly as jobs end.

A batch is one Redis hash, the ordered list of its item job ids, and the set of items that
ended. Every change that can complete a batch (an item ends, an item is added already
failed, a zip or URL list is fully expanded, the batch is closed) runs as one Lua script,
so the counters never drift and "completed" is reached exactly once: the script that
completes a batch also pushes its `batch.completed` event onto a list, which
`shared.batchevents.deliver` hands to the webhooks (see there).

`JobStore.update` calls `queue_job_ended` inside the MULTI that makes a job terminal, so a
job's end and its batch's counters are written together or not at all; the ended-set makes
a second call for the same job (a later update of a finished job) a no-op.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import redis

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


# Completion, shared by every script: closed, nothing left to expand, every item ended.
_COMPLETE = """
local function complete(batch, events, now)
  local h = redis.call('HMGET', batch, 'status', 'items', 'ended', 'pending_sources', 'id')
  if h[1] == 'closed' and tonumber(h[2]) == tonumber(h[3]) and tonumber(h[4]) == 0 then
    redis.call('HSET', batch, 'status', 'completed', 'completed_at', now)
    redis.call('RPUSH', events, cjson.encode({type='batch.completed', batch_id=h[5]}))
    return 1
  end
  return 0
end
local function progress(batch, events, now)
  local h = redis.call('HMGET', batch, 'progress_every', 'last_progress_at', 'status', 'id')
  local every = tonumber(h[1] or '0') or 0
  if every > 0 and h[3] ~= 'completed' and tonumber(now) - tonumber(h[2] or '0') >= every then
    redis.call('HSET', batch, 'last_progress_at', now)
    redis.call('RPUSH', events, cjson.encode({type='batch.progress', batch_id=h[4]}))
  end
end
"""

# KEYS: batch, ended set, events, started set. ARGV: job id, status, needs_review (0/1), now.
# An item that ends counts as started too (one canceled while queued never started), so
# started - ended is what is processing and items - started what waits in the queue.
_ITEM_ENDED = (
    _COMPLETE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'ended', 1)
if redis.call('SADD', KEYS[4], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'started', 1) end
local ttl = redis.call('TTL', KEYS[1])  -- sets made after the last item was added expire too
if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl); redis.call('EXPIRE', KEYS[4], ttl) end
redis.call('HINCRBY', KEYS[1], 'count:' .. ARGV[2], 1)
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'needs_review', 1) end
redis.call('HSET', KEYS[1], 'last_ended_at', ARGV[4])
if complete(KEYS[1], KEYS[3], ARGV[4]) == 0 then progress(KEYS[1], KEYS[3], ARGV[4]) end
return 1
"""
)

# KEYS: batch, items list, ended set, started set. ARGV: job id, retention seconds.
_ITEM_ADDED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'items', 1)
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return 1
"""

# KEYS: batch, events. ARGV: now (also for _SOURCE_DONE).
_CLOSE = (
    _COMPLETE
    + """
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return -1 end
redis.call('HSET', KEYS[1], 'status', 'closed', 'closed_at', ARGV[1])
return complete(KEYS[1], KEYS[2], ARGV[1])
"""
)

_SOURCE_DONE = (
    _COMPLETE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'pending_sources', -1)
return complete(KEYS[1], KEYS[2], ARGV[1])
"""
)

_CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'completed' or status == 'canceled' or not status then return 0 end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'closed_at', ARGV[1])
return 1
"""


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
    started: int = 0  # items that started processing or ended (shared/batchstarts.py)
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
    pipe.eval(_ITEM_ENDED, 4, k["batch"], k["ended"], EVENTS, k["started"], *args)


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
        pipe.eval(_ITEM_ADDED, 4, *item_keys, job.id, self.retention)
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
        return self._run(_SOURCE_DONE, batch_id) == 1

    def close(self, batch_id: str) -> int:
        """No more items: 1 if that completed the batch, 0 if not yet, -1 if not open."""
        return int(self._run(_CLOSE, batch_id))

    def cancel(self, batch_id: str) -> bool:
        """Mark the batch canceled (its unstarted jobs are canceled by the caller)."""
        k = keys(batch_id)["batch"]
        return self.redis.eval(_CANCEL, 1, k, time.time()) == 1

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
