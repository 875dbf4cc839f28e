"""Turning one image (from a form, a zip entry or a URL) into a batch item: a job.

Used by the API (images uploaded with the request) and by the worker's expand task (zip
entries and URLs). A bad image never rejects anything else: it becomes a failed item with
its error code. Every item is a job record with the batch's tenant, options and id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shared import dedupe
from shared.batches import Batch, BatchStore, after_job_ended
from shared.errors import CutoutError, FileTooLarge, QueueUnavailable
from shared.imageinfo import probe
from shared.jobs import Job, JobStore, Status, new_job_id
from shared.routing import route
from shared.storage import Storage
from shared.tasks import PROCESS_QUEUE, storage_keys


# send(task name, args, priority): the API's queue or the worker's Celery app.
class Send(Protocol):
    """Sends a task by name (api/queue.py CeleryQueue.send_task's shape)."""

    def __call__(
        self, name: str, args: list[Any], priority: int, queue: str = PROCESS_QUEUE
    ) -> None: ...


MAX_LABEL = 255


def label(name: str) -> str:
    """An item's name as a label: printable, bounded; never used as a path anywhere."""
    cleaned = "".join(ch for ch in name if ch.isprintable()).strip()
    return cleaned[-MAX_LABEL:] or "item"


@dataclass
class ItemMaker:
    """What adding an item needs, passed in (fakes in tests, real clients in the processes)."""

    store: JobStore
    batches: BatchStore
    storage: Storage
    send: Send
    max_bytes: int
    max_megapixels: float

    def add_image(self, batch: Batch, name: str, data: bytes) -> Job:
        """Check `data` by its header, store it and queue it; a bad one is a failed item."""
        if len(data) > self.max_bytes:
            too_large = FileTooLarge(f"images are limited to {self.max_bytes} bytes")
            return self.add_failed(batch, name, too_large)
        try:
            info = probe(data, max_megapixels=self.max_megapixels)
        except CutoutError as exc:
            return self.add_failed(batch, name, exc)
        job = self._job(batch, name, {**info.to_dict(), "bytes": len(data)})
        key = dedupe.content_key(batch.tenant, data, batch.options)
        job.deduplicated_from = dedupe.claim(self.store, key, job.id)
        original = storage_keys(job.id)["original"]
        self.storage.put(original, data, content_type=info.media_type)
        job.files = {"original": original}
        self._record(batch, job)
        where = route(job)
        try:
            self.send(where.task, [job.id], where.priority, where.queue)
        except QueueUnavailable as exc:
            self.store.fail(job.id, exc.code, exc.message)
        return job

    def add_failed(self, batch: Batch, name: str, error: CutoutError) -> Job:
        """Record an item that could not even be queued, failed with `error`'s code."""
        job = self._job(batch, name, {})
        job.status = Status.FAILED
        job.finished_at = job.created_at
        job.error = error.to_dict()
        self._record(batch, job)
        return job

    def _job(self, batch: Batch, name: str, facts: dict[str, Any]) -> Job:
        return Job(
            id=new_job_id(),
            tenant=batch.tenant,
            options=batch.options,
            input={**facts, "filename": label(name)},
            batch_id=batch.id,
        )

    def _record(self, batch: Batch, job: Job) -> None:
        with self.store.redis.pipeline() as pipe:
            self.store.queue_create(pipe, job)
            self.batches.queue_add_item(pipe, batch.id, job)
            pipe.execute()
        after_job_ended(self.store.redis, job)
