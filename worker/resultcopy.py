"""A deduplicated item gets its own copy of its original's files (never a shared key).

Copying on success keeps deletion simple and safe: deleting either job deletes only its
own prefix. The copy is a storage read and write of the result and mask, not a model run.
"""

from __future__ import annotations

import time
from enum import StrEnum

from shared.errors import NotFound
from shared.jobs import Job, JobStore, Status
from shared.storage import Storage
from shared.tasks import storage_keys


class CopyOutcome(StrEnum):
    DONE = "done"  # copied, or nothing left to do (the job ended some other way)
    WAIT = "wait"  # the original has not finished yet
    PROCESS = "process"  # the original cannot be used: process this job itself


def copy_result(
    job_id: str, *, store: JobStore, storage: Storage, worker_name: str, max_attempts: int
) -> CopyOutcome:
    """Copy the original's outputs into `job_id`'s own keys and mark it succeeded."""
    job = store.get(job_id)
    if job is None or job.status.is_terminal() or job.deduplicated_from is None:
        return CopyOutcome.DONE
    original = store.get(job.deduplicated_from)
    if original is None or original.status in (Status.FAILED, Status.CANCELED):
        return CopyOutcome.PROCESS
    if original.status is not Status.SUCCEEDED:
        return CopyOutcome.WAIT
    started = store.start(job_id, worker=worker_name, max_attempts=max_attempts)
    if started is None or started.status is not Status.PROCESSING:
        return CopyOutcome.DONE
    began = time.perf_counter()
    try:
        outputs = _copy_outputs(storage, original, job_id)
    except NotFound:  # the original was deleted meanwhile
        storage.delete_prefix(storage_keys(job_id)["prefix_outputs"])
        store.requeue(job_id)
        return CopyOutcome.PROCESS
    copy_ms = round((time.perf_counter() - began) * 1000, 2)

    def record(finished: Job) -> None:
        finished.outputs, finished.metrics = outputs, original.metrics
        finished.method, finished.warnings = original.method, list(original.warnings)
        finished.timings_ms = {"copy": copy_ms}
        finished.worker = {"name": worker_name, "copied_from": original.id}

    final = store.succeed(job_id, record)
    if final is not None and final.status is Status.CANCELED:
        storage.delete_prefix(storage_keys(job_id)["prefix_outputs"])
    return CopyOutcome.DONE


def _copy_outputs(storage: Storage, original: Job, job_id: str) -> dict[str, dict]:
    source_prefix = storage_keys(original.id)["prefix_outputs"]
    target_prefix = storage_keys(job_id)["prefix_outputs"]
    copied = {}
    for name, output in original.outputs.items():
        key = target_prefix + output["key"].removeprefix(source_prefix)
        with storage.open(output["key"]) as stream:
            storage.put(key, stream, content_type=output["media_type"])
        copied[name] = {**output, "key": key}
    return copied
