"""The job as clients see it: timestamps in ISO 8601, storage keys replaced by links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import url_for

from shared.jobs import Job, Status


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def job_json(job: Job) -> dict[str, Any]:
    """The public view of a job."""
    links = {"self": url_for("jobs.get_job", job_id=job.id, _external=True)}
    outputs = {}
    if job.status is Status.SUCCEEDED:
        for name in job.outputs:
            links[name] = url_for(f"jobs.get_{name}", job_id=job.id, _external=True)
            outputs[name] = {k: v for k, v in job.outputs[name].items() if k != "key"}
    return {
        "id": job.id,
        "status": job.status.value,
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "attempts": job.attempts,
        "options": job.options,
        "input": job.input,
        "method": job.method,
        "outputs": outputs,
        "metrics": job.metrics,
        "quality": (job.metrics or {}).get("quality"),
        "timings_ms": job.timings_ms,
        "worker": job.worker,
        "warnings": job.warnings,
        "error": job.error,
        "links": links,
    }
