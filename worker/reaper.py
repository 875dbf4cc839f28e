"""The reaper: no job stays `queued` or `processing` until it expires.

A job can stop moving without anything left to move it: the API died between recording the
job and sending its task; Redis was down while a failed task tried to record the failure; a
retry's publish failed; a worker's whole machine vanished. Every pass (in each worker's
heartbeat thread) looks at the unfinished jobs that have not moved for `stale_after` seconds
(the index in shared/unfinished.py, oldest first, never a scan of every key):

- one whose task message is still with the broker (waiting in the queue, or delivered and
  not yet acknowledged; the broker redelivers those itself after its visibility timeout) is
  only waiting: it is looked at again one period later;
- any other is re-sent as a new task, counted in `job.resends`, or failed `stalled` once it
  was re-sent `max_resends` times.

Several workers reap at once safely: taking a job is a compare-and-set on its record (WATCH /
MULTI in JobStore.update) that only succeeds while the job is still stale, and it moves the
job's `updated_at`, so one reaper wins and the others find it fresh. The new task id is
written in the same transaction; a late delivery of the old task then finds another id on
the job and leaves it alone (JobStore.start), so a job re-sent by mistake still runs once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import redis

from shared import unfinished
from shared.jobs import Job, JobStore, Status
from shared.tasks import PROCESS_QUEUE

log = logging.getLogger(__name__)
# Where kombu's Redis transport keeps delivered, unacknowledged messages (its `unacked_key`).
BROKER_UNACKED = "unacked"
SCAN_CHUNK = 500
Send = Callable[[str, str], None]  # (job id, task id)


@dataclass
class Reaped:
    """What one pass did, by job id."""

    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def reap(
    store: JobStore,
    send: Send,
    *,
    stale_after: float,
    max_resends: int,
    now: float | None = None,
    limit: int = 100,
) -> Reaped:
    """Re-send or fail the unfinished jobs that stopped moving `stale_after` s before `now`."""
    now = time.time() if now is None else now
    cutoff = now - stale_after
    done = Reaped()
    candidates = unfinished.stale_ids(store.redis, cutoff, limit)
    if not candidates:
        return done
    held = on_broker(store.redis, candidates)
    for job_id in candidates:
        if job_id in held:
            unfinished.postpone(store.redis, job_id, now)
            done.waiting.append(job_id)
            continue
        _reap_one(store, send, job_id, cutoff=cutoff, max_resends=max_resends, done=done)
    if done.resent or done.failed:
        log.warning("reaper: re-sent %s, failed as stalled %s", done.resent, done.failed)
    return done


def _reap_one(
    store: JobStore, send: Send, job_id: str, *, cutoff: float, max_resends: int, done: Reaped
) -> None:
    task_id = str(uuid.uuid4())
    outcome: dict[str, str] = {}

    def take(job: Job) -> bool:
        outcome.clear()
        if job.status.is_terminal() or job.updated_at > cutoff:
            return False
        if job.resends >= max_resends:
            job.status, job.finished_at = Status.FAILED, time.time()
            job.error = {
                "code": "stalled",
                "message": f"the job stopped making progress and was re-sent {job.resends} "
                "times; submit it again",
            }
            outcome["did"] = "failed"
        else:
            job.status, job.task_id, job.resends = Status.QUEUED, task_id, job.resends + 1
            outcome["did"] = "resent"
        return True

    if store.update(job_id, take) is None:  # the record expired or was deleted
        unfinished.forget(store.redis, job_id)
        return
    if outcome.get("did") == "failed":
        done.failed.append(job_id)
    elif outcome.get("did") == "resent":
        try:
            send(job_id, task_id)
        except Exception:  # the broker is down: the job is stale again one period later
            log.exception("reaper: could not re-send job %s", job_id)
            return
        done.resent.append(job_id)


def on_broker(client: redis.Redis, job_ids: Iterable[str]) -> set[str]:
    """Which of `job_ids` have a task message in the queue or delivered but unacknowledged.

    Celery puts the task's arguments in clear in each message's headers (`argsrepr`), and a
    job id is 22 random URL-safe characters, so finding it in the raw message is exact.
    Read in chunks; only ever called for jobs that are already stale, which is rare.
    """
    wanted = {job_id: job_id.encode() for job_id in job_ids}
    held: set[str] = set()

    def look(messages: Iterable[bytes | str]) -> None:
        for message in messages:
            raw = message.encode() if isinstance(message, str) else message
            held.update(job_id for job_id, needle in wanted.items() if needle in raw)

    length = int(client.llen(PROCESS_QUEUE))
    for start in range(0, length, SCAN_CHUNK):
        look(client.lrange(PROCESS_QUEUE, start, start + SCAN_CHUNK - 1))
    look(raw for _tag, raw in client.hscan_iter(BROKER_UNACKED, count=SCAN_CHUNK))
    return held
