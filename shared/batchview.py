"""A batch as clients see it (GET /v1/batches/<id> and the batch webhooks' payload)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from shared.batches import Batch
from shared.webhooks import redact_url


def iso(timestamp: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds, like the job records."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def rate(batch: Batch, now: float | None = None) -> float | None:
    """Items ended per second since the batch was created (None before the first ends)."""
    now = time.time() if now is None else now
    until = now if batch.pending else (batch.last_ended_at or now)
    elapsed = until - batch.created_at
    return batch.ended / elapsed if batch.ended and elapsed > 0 else None


def describe(batch: Batch, base_url: str, now: float | None = None) -> dict[str, Any]:
    """The public view of a batch; `base_url` is the API's root (no trailing slash)."""
    speed = rate(batch, now)
    eta = round(batch.pending / speed, 1) if speed and batch.pending else None
    own = f"{base_url}/v1/batches/{batch.id}"
    return {
        "id": batch.id,
        "object": "batch",
        "status": batch.status.value,
        "name": batch.name,
        "created_at": iso(batch.created_at),
        "closed_at": iso(batch.closed_at),
        "completed_at": iso(batch.completed_at),
        "items": batch.items,
        "counts": {
            "pending": batch.pending,
            "queued": batch.pending - batch.processing,
            "processing": batch.processing,
            **batch.counts,
        },
        "expanding": batch.pending_sources,
        "progress": round(batch.ended / batch.items, 4) if batch.items else None,
        "images_per_second": round(speed, 3) if speed else None,
        "eta_seconds": eta,
        "needs_review": batch.needs_review,
        "options": batch.options,
        "webhook_url": redact_url(batch.webhook_url) if batch.webhook_url else None,
        "links": {
            "self": own,
            "jobs": f"{own}/jobs",
            "report": f"{own}/report.csv",
            "results": f"{own}/results.zip",
        },
    }
