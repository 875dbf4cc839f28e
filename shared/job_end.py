"""What happens exactly once when a job ends, in one place.

`queue` runs inside the MULTI of the terminal transition (shared/jobs.py JobStore.update), so
a webhook delivery and the batch's counters are written with the status or not at all;
`after` runs once that transaction is committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis

from shared import batches, telemetry
from shared.webhook_events import queue_job_event

if TYPE_CHECKING:
    from shared.jobs import Job


def queue(pipe: Any, job: Job, *, base_url: str) -> None:
    """Inside the ending transaction: the job's webhook event and its batch's counters."""
    queue_job_event(pipe, job, base_url=base_url)
    batches.queue_job_ended(pipe, job)


def after(client: redis.Redis, job: Job) -> None:
    """After it committed: metrics, and any batch event handed to the webhooks."""
    telemetry.job_finished(job)
    batches.after_job_ended(client, job)
