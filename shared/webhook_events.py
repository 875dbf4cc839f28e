"""Which job changes send a webhook, and with what: called inside JobStore's transitions.

`job.succeeded` and `job.failed` only: a job is canceled only by its owner's own DELETE, who
needs no call back for it (and a canceled batch would otherwise send one event per item).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.jobview import job_view
from shared.webhooks import schedule_event

if TYPE_CHECKING:
    from shared.jobs import Job

JOB_EVENTS = {"succeeded": "job.succeeded", "failed": "job.failed"}


def job_message_id(job_id: str) -> str:
    """The `webhook-id` of a job's one terminal event (the same on every retry)."""
    return f"msg_job_{job_id}"


def queue_job_event(pipe: Any, job: Job, *, base_url: str) -> None:
    """Add the job's terminal event to the transaction that records its end, if it has one."""
    event_type = JOB_EVENTS.get(str(job.status))
    if job.webhook_url is None or event_type is None:
        return
    schedule_event(
        pipe,
        tenant=job.tenant,
        url=job.webhook_url,
        event_type=event_type,
        data=job_view(job, base_url=base_url),
        message_id=job_message_id(job.id),
        now=job.finished_at,
    )
