"""The job as clients see it, without Flask: the API's answers and the webhooks' payloads.

Timestamps in ISO 8601 (UTC), storage keys replaced by absolute links built on `base_url`
(the API uses the request's own root; the worker, which has no request, CUTOUT_PUBLIC_URL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.webhooks import iso

if TYPE_CHECKING:
    from shared.jobs import Job

JOBS_PATH = "/v1/jobs"


def job_links(job_id: str, outputs: list[str], *, base_url: str) -> dict[str, str]:
    """The job's own link and one per output file."""
    root = f"{base_url.rstrip('/')}{JOBS_PATH}/{job_id}"
    return {"self": root, **{name: f"{root}/{name}" for name in outputs}}


def job_view(job: Job, *, base_url: str) -> dict[str, Any]:
    """The public view of a job (without its webhook deliveries, which live elsewhere)."""
    succeeded = job.status == "succeeded"
    outputs = {}
    if succeeded:
        outputs = {
            name: {k: v for k, v in output.items() if k != "key"}
            for name, output in job.outputs.items()
        }
    return {
        "id": job.id,
        "status": str(job.status),
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "attempts": job.attempts,
        "options": job.options,
        "input": job.input,
        "method": job.method,
        "outputs": outputs,
        "metrics": job.metrics,
        "timings_ms": job.timings_ms,
        "worker": job.worker,
        "warnings": job.warnings,
        "error": job.error,
        "links": job_links(job.id, list(outputs), base_url=base_url),
    }
