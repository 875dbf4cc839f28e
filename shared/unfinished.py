"""Indexes kept beside the job records so periodic work never scans every key.

- `cutout:unfinished`: queued and processing job ids, scored by their last progress (the
  record's `updated_at`). The reaper (worker/reaper.py) reads the oldest ones to find jobs
  that stopped moving. It is written in the same MULTI as every transition
  (shared.jobs.JobStore.update and queue_create), so it can never disagree with the records
  for long.
- `cutout:sweep-later`: jobs canceled or deleted, scored by when. A task still running then
  may write outputs afterwards; the sweeper (worker/sweeper.py) deletes them once every task
  that could have been running has been stopped by its time limit.

This module imports nothing from shared.jobs (which calls it); the keys carry its prefix.
"""

from __future__ import annotations

from typing import Any

import redis

UNFINISHED = "cutout:unfinished"
SWEEP_LATER = "cutout:sweep-later"


def queue_progress(pipe: Any, job_id: str, *, finished: bool, at: float) -> None:
    """Add to a transaction: the job moved at `at` (or left the index when it `finished`)."""
    if finished:
        pipe.zrem(UNFINISHED, job_id)
    else:
        pipe.zadd(UNFINISHED, {job_id: at})


def queue_sweep_later(pipe: Any, job_id: str, at: float) -> None:
    """Add to a transaction: sweep this job's late outputs after a grace period from `at`."""
    pipe.zadd(SWEEP_LATER, {job_id: at})


def queue_forget(pipe: Any, job_id: str) -> None:
    """Add to a transaction: the job is no longer unfinished (deleted or expired)."""
    pipe.zrem(UNFINISHED, job_id)


def stale_ids(client: redis.Redis, moved_before: float, limit: int = 100) -> list[str]:
    """Unfinished jobs that last moved before `moved_before`, oldest first."""
    return _ids(client.zrangebyscore(UNFINISHED, "-inf", moved_before, start=0, num=limit))


def postpone(client: redis.Redis, job_id: str, at: float) -> None:
    """Look at a job again one stale period after `at` (only ever later: ZADD XX GT)."""
    client.zadd(UNFINISHED, {job_id: at}, xx=True, gt=True)


def forget(client: redis.Redis, job_id: str) -> None:
    client.zrem(UNFINISHED, job_id)


def due_sweeps(client: redis.Redis, before: float, limit: int = 100) -> list[str]:
    """Jobs canceled or deleted before `before`, whose late outputs may now be deleted."""
    return _ids(client.zrangebyscore(SWEEP_LATER, "-inf", before, start=0, num=limit))


def forget_sweep(client: redis.Redis, job_id: str) -> None:
    client.zrem(SWEEP_LATER, job_id)


def _ids(values: list[Any]) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
