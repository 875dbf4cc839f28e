"""The Celery task: thin, it hands the job id to the job runner and decides about retries."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import redis
from billiard.exceptions import SoftTimeLimitExceeded

from shared.errors import StorageUnavailable
from shared.settings import get_settings
from shared.tasks import PROCESS_TASK
from worker.celery_app import app
from worker.jobrunner import run_job
from worker.services import job_store, storage

log = logging.getLogger(__name__)
TRANSIENT = (StorageUnavailable, redis.ConnectionError, redis.TimeoutError)
MAX_RETRIES = 5


def _backoff(retries: int) -> int:
    return min(60, 2 ** (retries + 1))


@app.task(
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
            settings=get_settings(),
            worker_name=self.request.hostname or "worker",
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
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
