"""The Celery task: thin, it hands the job id to the job runner and decides about retries."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import redis
from billiard.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery import Task

from shared.errors import StorageUnavailable
from shared.settings import get_settings
from shared.tasks import PROCESS_TASK
from worker.celery_app import app
from worker.jobrunner import run_job
from worker.services import job_settings, job_store, storage

log = logging.getLogger(__name__)
TRANSIENT = (StorageUnavailable, redis.ConnectionError, redis.TimeoutError)
MAX_RETRIES = get_settings().task_max_retries


def _backoff(retries: int) -> float:
    return min(get_settings().task_retry_backoff_max, 2 ** (retries + 1))


class JobTask(Task):
    """Makes sure no failure of the task leaves its job `processing` for ever."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        # Celery calls this in the worker's parent after a hard time limit killed the child,
        # and in the child for an unexpected exception; both end the job here.
        job_id = args[0] if args else kwargs.get("job_id")
        if job_id is None:
            return
        if isinstance(exc, TimeLimitExceeded):
            limit = get_settings().task_time_limit
            code, message = "timeout", f"processing was stopped after {limit} s"
        else:
            log.error("job %s failed unexpectedly: %r", job_id, exc)
            code, message = "internal_error", "the worker failed unexpectedly"
        try:
            job_store().fail(job_id, code, message)
        except redis.RedisError:  # the job stays unfinished: worker/reaper.py ends it
            log.warning("job %s: could not record %s; left to the reaper", job_id, code)


@app.task(
    base=JobTask,
    name=PROCESS_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
)
def process_job(self: Any, job_id: str) -> None:
    """Process one job; retry storage/Redis outages with backoff, fail everything else."""
    try:
        run_job(
            job_id,
            store=job_store(),
            storage=storage(),
            settings=job_settings(),
            worker_name=self.request.hostname or "worker",
            task_id=self.request.id,
        )
    except SoftTimeLimitExceeded:
        limit = get_settings().task_soft_time_limit
        job_store().fail(job_id, "timeout", f"processing took longer than {limit} s")
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            job_store().fail(job_id, "storage_unavailable", f"gave up after retries: {exc}")
            return
        log.warning("job %s: transient error (%s); retrying", job_id, exc)
        with contextlib.suppress(*TRANSIENT):  # Redis may be the thing that is down
            job_store().requeue(job_id)
        # If this publish fails too, Celery drops the message; the reaper re-sends the job.
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
