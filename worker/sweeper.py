"""Deleting files nobody can ask for any more: those of expired jobs, and late outputs.

A task still running when its job was canceled or deleted may write outputs afterwards
(it is revoked, but a revoke can be lost, and a child killed mid-write leaves half of them).
Once every such task has been stopped by its hard time limit (`grace`), the outputs of the
canceled and deleted jobs are deleted (and the inputs of the deleted ones).
"""

from __future__ import annotations

import logging
import time

from shared import unfinished
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


def sweep_late_outputs(
    store: JobStore, storage: Storage, *, grace: float, now: float | None = None
) -> int:
    """Delete what tasks wrote after their job was canceled or deleted `grace` s ago."""
    now = time.time() if now is None else now
    swept = 0
    for job_id in unfinished.due_sweeps(store.redis, now - grace):
        keys = storage_keys(job_id)
        storage.delete_prefix(keys["prefix_outputs"])
        if store.get(job_id) is None:  # deleted: its inputs go too
            storage.delete_prefix(keys["prefix_inputs"])
        unfinished.forget_sweep(store.redis, job_id)
        swept += 1
    if swept:
        log.info("swept the late outputs of %d canceled or deleted jobs", swept)
    return swept
