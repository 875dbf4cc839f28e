"""The batch tasks: expand a stored zip/URL list a chunk at a time; copy a duplicate's result.

Thin, like worker/tasks.py: the work is in worker/expand.py and worker/resultcopy.py.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shared.batches import BatchStore
from shared.batchitems import ItemMaker
from shared.jobs import Job
from shared.settings import get_settings
from shared.tasks import (
    BULK_PRIORITY,
    COPY_TASK,
    EXPAND_TASK,
    PROCESS_QUEUE,
    PROCESS_TASK,
)
from worker.celery_app import app
from worker.expand import Fetch, Limits, expand_source
from worker.resultcopy import CopyOutcome, copy_result
from worker.services import job_settings, job_store, storage

# A duplicate waits this long (in 2 s steps) for its original before processing itself.
COPY_WAIT_RETRIES = 300


def send(name: str, args: list[Any], priority: int, queue: str = PROCESS_QUEUE) -> None:
    """Send a task from the worker, by name, like the API does."""
    app.send_task(name, args=args, queue=queue, priority=priority)


@lru_cache(maxsize=1)
def batch_store() -> BatchStore:
    return BatchStore(job_store().redis, retention_seconds=get_settings().job_retention_seconds)


def item_maker() -> ItemMaker:
    settings = job_settings()
    return ItemMaker(
        store=job_store(),
        batches=batch_store(),
        storage=storage(),
        send=send,
        max_bytes=settings.max_upload_bytes,
        max_megapixels=settings.max_megapixels,
    )


def url_fetcher() -> Fetch:
    """The address guard's fetch with the batch limits (no private addresses unless allowed)."""
    from shared.netguard import fetch

    settings = get_settings()

    def fetch_image(url: str) -> bytes:
        return fetch(
            url,
            max_bytes=settings.max_upload_bytes,
            timeout=settings.fetch_timeout_seconds,
            max_redirects=settings.fetch_max_redirects,
            allow_private=settings.webhook_allow_private,
        ).data

    return fetch_image


@app.task(name=EXPAND_TASK, acks_late=True)
def expand_batch_source(batch_id: str, key: str, kind: str, start: int) -> None:
    """Add one chunk of a zip or URL list to its batch, then send the next chunk."""
    settings = get_settings()
    expand_source(
        batch_id,
        key,
        kind,
        start,
        maker=item_maker(),
        limits=Limits(settings.batch_max_entries, settings.batch_max_uncompressed_bytes),
        fetch=url_fetcher() if kind != "zip" else _no_fetch,
        send=send,
    )


def _no_fetch(url: str) -> bytes:
    raise AssertionError("zips fetch nothing")


@app.task(name=COPY_TASK, bind=True, acks_late=True, max_retries=COPY_WAIT_RETRIES)
def copy_result_task(self: Any, job_id: str) -> None:
    """Give a deduplicated item its original's result, or process it when that is unusable."""
    outcome = copy_result(
        job_id,
        store=job_store(),
        storage=storage(),
        worker_name=self.request.hostname or "worker",
        max_attempts=job_settings().max_attempts,
    )
    if outcome is CopyOutcome.WAIT and self.request.retries < COPY_WAIT_RETRIES:
        raise self.retry(countdown=2)
    if outcome is not CopyOutcome.DONE:
        job_store().update(job_id, _not_a_duplicate)
        send(PROCESS_TASK, [job_id], BULK_PRIORITY)


def _not_a_duplicate(job: Job) -> bool:
    job.deduplicated_from = None
    return True
