"""Identical inputs with identical options are processed once (within a tenant).

The key is the SHA-256 of the image bytes and of the canonical options (sorted JSON). The
first job with a key is its original; a later identical job is marked `deduplicated_from`
and, instead of running the model, gets its own copy of the original's files once that
succeeded (worker/batchtasks.py), so deleting either never touches the other's files.
An original that failed, was canceled or expired stops being one: the next identical job
becomes the new original and is processed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shared.jobs import Job, JobStore, Status

PREFIX = "cutout:dedupe:"
USABLE = (Status.QUEUED, Status.PROCESSING, Status.SUCCEEDED)


def content_key(tenant: str, data: bytes, options: dict[str, Any]) -> str:
    """The Redis key naming an (image, options) pair of `tenant`."""
    canonical = json.dumps(options, sort_keys=True, separators=(",", ":"))
    image = hashlib.sha256(data).hexdigest()
    settings = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"{PREFIX}{tenant}:{image}:{settings}"


def claim(store: JobStore, key: str, job_id: str) -> str | None:
    """Make `job_id` the original for `key`, or return the live original it duplicates."""
    if store.redis.set(key, job_id, nx=True, ex=store.retention):
        return None
    raw = store.redis.get(key)
    earlier = raw.decode() if isinstance(raw, bytes) else raw
    original: Job | None = store.get(earlier) if earlier else None
    if original is not None and original.status in USABLE:
        return original.id
    # The earlier one is of no use: this job takes its place (a race here only costs a
    # second processing of the same image, never a wrong result).
    store.redis.set(key, job_id, ex=store.retention)
    return None
