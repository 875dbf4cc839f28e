"""The job as clients see it: shared/jobview.py's view, with links on this request's root."""

from __future__ import annotations

from typing import Any

from flask import request

from api.services import services
from shared import webhooks
from shared.jobs import Job
from shared.jobview import job_view
from shared.webhook_events import job_message_id


def job_json(job: Job) -> dict[str, Any]:
    """The public view of a job, with its webhook's deliveries when it has a webhook_url."""
    body = job_view(job, base_url=request.url_root)
    if job.webhook_url is not None:
        body["webhook"] = webhooks.view_for(
            services().store.redis, job_message_id(job.id), job.webhook_url
        )
    return body
