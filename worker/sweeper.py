"""Deleting the files of jobs whose retention has passed (their records expire in Redis)."""

from __future__ import annotations

import logging

from shared.jobs import JobStore
from shared.storage import Storage
from shared.tasks import storage_keys

log = logging.getLogger(__name__)


def sweep_expired(store: JobStore, storage: Storage, now: float | None = None) -> int:
    """Delete the inputs and outputs of expired jobs; returns how many jobs were swept."""
    swept = 0
    for job_id in store.expired_ids(now):
        keys = storage_keys(job_id)
        storage.delete_prefix(keys["prefix_inputs"])
        storage.delete_prefix(keys["prefix_outputs"])
        store.forget_expired(job_id)
        swept += 1
    if swept:
        log.info("deleted the files of %d expired jobs", swept)
    return swept
