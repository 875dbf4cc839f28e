"""The job store: one JSON record per job in Redis, with guarded status transitions.

Records expire after the retention period; a sorted set remembers when, so the worker can
delete the files of expired jobs too. Transitions run as optimistic transactions (WATCH /
MULTI) because the API (cancel) and the worker (start, finish) touch the same record.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import redis

from shared import batches, job_end, unfinished
from shared.keys import ANONYMOUS

KEY_PREFIX = "cutout:"
# Where the API answers, for absolute links in webhook payloads (settings.public_url).
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
EXPIRY_INDEX = f"{KEY_PREFIX}expiry"
# Worker heartbeats (written by shared/heartbeats.py), and the largest input (megapixels)
# each worker's memory allows, published with its heartbeat.
HEARTBEATS = f"{KEY_PREFIX}heartbeats"
WORKER_MAX_MEGAPIXELS = f"{KEY_PREFIX}worker-max-megapixels"
# Longest single blocking read in JobStore.wait: under the clients' 5 s socket timeout.
WAIT_SLICE_SECONDS = 2.0


class Status(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    def is_terminal(self) -> bool:
        return self in (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)


@dataclass
class Job:
    """Everything a client may ask about a job; serialised whole into Redis."""

    id: str
    tenant: str = ANONYMOUS
    status: Status = Status.QUEUED
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    interruptions: int = 0
    # The Celery task meant to run the job, and how often the reaper re-sent it.
    task_id: str | None = None
    resends: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    method: str | None = None
    metrics: dict[str, Any] | None = None
    timings_ms: dict[str, float] | None = None
    worker: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None
    webhook_url: str | None = None
    batch_id: str | None = None  # the batch this job is an item of (shared/batches.py)
    deduplicated_from: str | None = None  # the earlier identical job whose result it copies

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> Job:
        values = json.loads(text)
        values["status"] = Status(values["status"])
        return cls(**values)


def new_job_id() -> str:
    """128 random bits, URL-safe: unguessable, so the id is the capability to read a job."""
    return secrets.token_urlsafe(16)


class JobStore:
    """Jobs in Redis; every method is one round trip or one optimistic transaction."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        retention_seconds: int,
        public_url: str = DEFAULT_PUBLIC_URL,
    ) -> None:
        self.redis = client
        self.retention = retention_seconds
        self.public_url = public_url

    @staticmethod
    def _key(job_id: str) -> str:
        return f"{KEY_PREFIX}job:{job_id}"

    @staticmethod
    def _finished_key(job_id: str) -> str:
        # A one-entry stream written when the job ends: XREAD can block on it without taking
        # the entry (every waiter sees it), and an entry written before the wait began is
        # found at once, so a waiter never misses the end.
        return f"{KEY_PREFIX}finished:{job_id}"

    def create(self, job: Job) -> Job:
        """Store a new job (with an Idempotency-Key: shared.idempotency.create)."""
        pipe = self.redis.pipeline()
        self.queue_create(pipe, job)
        pipe.execute()
        return job

    def queue_create(self, pipe: Any, job: Job) -> None:
        """Add the writes of a new job to a transaction that is being built."""
        pipe.set(self._key(job.id), job.to_json(), ex=self.retention)
        pipe.zadd(EXPIRY_INDEX, {job.id: job.created_at + self.retention})
        unfinished.queue_progress(pipe, job.id, finished=False, at=job.updated_at)

    def get(self, job_id: str) -> Job | None:
        raw = self.redis.get(self._key(job_id))
        return Job.from_json(raw) if raw else None

    def update(self, job_id: str, change: Callable[[Job], bool]) -> Job | None:
        """Apply `change` atomically; it returns False to leave the record as it was."""
        key = self._key(job_id)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if not raw:
                        return None
                    job = Job.from_json(raw)
                    was_terminal = job.status.is_terminal()
                    if not change(job):
                        pipe.unwatch()
                        return job
                    job.updated_at = time.time()
                    pipe.multi()
                    pipe.set(key, job.to_json(), keepttl=True)
                    ended = job.status.is_terminal()
                    unfinished.queue_progress(pipe, job_id, finished=ended, at=job.updated_at)
                    if ended:
                        finished = self._finished_key(job_id)
                        pipe.xadd(finished, {"status": job.status.value}, maxlen=1)
                        pipe.expire(finished, self.retention)
                        job_end.queue(pipe, job, base_url=self.public_url)
                    else:
                        batches.queue_job_moved(pipe, job)
                    if job.status is Status.CANCELED:  # a task may still write outputs
                        unfinished.queue_sweep_later(pipe, job_id, job.updated_at)
                    pipe.execute()
                    if ended and not was_terminal:
                        job_end.after(self.redis, job)
                    return job
                except redis.WatchError:
                    continue

    def start(
        self, job_id: str, *, worker: str, max_attempts: int, task_id: str | None = None
    ) -> Job | None:
        """Count a delivery and mark the job processing, or failed after too many interruptions.

        A job that kills its worker is redelivered (acks_late) and finds itself still
        `processing` here: that counts as an interruption, and after `max_attempts` of them the
        job ends `worker_lost` instead of killing workers for ever. A delivery of another task
        than the job's (`task_id`; the reaper re-sent it meanwhile) changes nothing: the caller
        sees `job.task_id != task_id` and leaves the job to its current task.
        """

        def change(job: Job) -> bool:
            if job.status.is_terminal() or _superseded(job, task_id):
                return False
            job.task_id = task_id or job.task_id
            if job.status is Status.PROCESSING:
                job.interruptions += 1
            if job.interruptions >= max_attempts:
                message = f"the job was interrupted {job.interruptions} times (its worker died)"
                _finish(job, Status.FAILED, error={"code": "worker_lost", "message": message})
            else:
                job.attempts += 1
                job.status, job.started_at = Status.PROCESSING, time.time()
                job.worker = {"name": worker}
            return True

        return self.update(job_id, change)

    def requeue(self, job_id: str) -> Job | None:
        """Put a processing job back to queued before a deliberate retry (not a crash)."""

        def change(job: Job) -> bool:
            if job.status is not Status.PROCESSING:
                return False
            job.status = Status.QUEUED
            return True

        return self.update(job_id, change)

    def succeed(self, job_id: str, record: Callable[[Job], None]) -> Job | None:
        """Mark a processing job succeeded after `record` fills in its results.

        Returns the job as stored: still canceled if the client canceled it meanwhile.
        """

        def change(job: Job) -> bool:
            if job.status is not Status.PROCESSING:
                return False
            record(job)
            _finish(job, Status.SUCCEEDED)
            return True

        return self.update(job_id, change)

    def fail(self, job_id: str, code: str, message: str, **details: Any) -> Job | None:
        """Mark an unfinished job failed with a stable error code."""

        def change(job: Job) -> bool:
            if job.status.is_terminal():
                return False
            for name, value in details.items():
                setattr(job, name, value)
            _finish(job, Status.FAILED, error={"code": code, "message": message})
            return True

        return self.update(job_id, change)

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued or processing job (a processing one's result is discarded)."""

        def change(job: Job) -> bool:
            if job.status.is_terminal():
                return False
            _finish(job, Status.CANCELED)
            return True

        return self.update(job_id, change)

    def delete(self, job_id: str) -> None:
        """Forget the job (its files are the caller's; late outputs are swept later)."""
        with self.redis.pipeline() as pipe:
            pipe.delete(self._key(job_id), self._finished_key(job_id))
            pipe.zrem(EXPIRY_INDEX, job_id)
            unfinished.queue_forget(pipe, job_id)
            unfinished.queue_sweep_later(pipe, job_id, time.time())
            pipe.execute()

    def expired_ids(self, now: float | None = None, limit: int = 100) -> list[str]:
        """Ids whose retention has passed (their files may still need deleting)."""
        now = time.time() if now is None else now
        ids = self.redis.zrangebyscore(EXPIRY_INDEX, 0, now, start=0, num=limit)
        return [self._decode(i) or "" for i in ids]

    def forget_expired(self, job_id: str) -> None:
        self.redis.zrem(EXPIRY_INDEX, job_id)
        unfinished.forget(self.redis, job_id)

    def wait(self, job_id: str, timeout: float) -> Job | None:
        """Block until the job is terminal or `timeout` passes; returns the last state seen.

        Blocks in Redis (XREAD on the job's finished stream) rather than polling: polling
        every 2-10 ms took CPU from the worker's inference on a small machine (up to 18%
        slower, bench/service.py) and added up to a poll interval of latency.
        """
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            remaining = deadline - time.monotonic()
            if job is None or job.status.is_terminal() or remaining <= 0:
                return job
            # In slices shorter than the client's socket timeout; 0 would block for ever.
            block_ms = max(1, int(min(remaining, WAIT_SLICE_SECONDS) * 1000))
            self.redis.xread({self._finished_key(job_id): "0"}, count=1, block=block_ms)

    @staticmethod
    def _decode(value: Any) -> str | None:
        return value.decode() if isinstance(value, bytes) else value


def _superseded(job: Job, task_id: str | None) -> bool:
    return None not in (job.task_id, task_id) and job.task_id != task_id


def _finish(job: Job, status: Status, error: dict[str, str] | None = None) -> None:
    job.status, job.finished_at = status, time.time()
    if error is not None:
        job.error = error
