"""Back-pressure: refuse new jobs when the queue is too deep; bound the synchronous waits.

A full queue answers `503 queue_full` with Retry-After before anything is stored, so a client
backs off instead of piling up jobs that would wait longer than it cares to. The synchronous
routes block a server thread while their job runs; at most CUTOUT_SYNC_WAIT_SLOTS of them wait
at once in a process, so polls, downloads and health checks always find a free thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app

from api.services import Services
from shared.errors import QueueFull
from shared.queues import SUBMISSION_QUEUES, queue_depth

_SLOTS = "cutout_sync_slots"


def check_queue(svc: Services) -> None:
    """Raise QueueFull when more jobs wait than CUTOUT_MAX_QUEUE_DEPTH (0 = no cap)."""
    limit = svc.settings.max_queue_depth
    if limit and queue_depth(svc.store.redis, SUBMISSION_QUEUES) >= limit:
        raise QueueFull(f"{limit} or more jobs are waiting; retry in a little while")


def install_sync_slots(app: Flask, slots: int) -> None:
    """Give the app its per-process count of synchronous waits."""
    app.extensions[_SLOTS] = threading.BoundedSemaphore(slots) if slots else None


@contextmanager
def sync_slot() -> Iterator[bool]:
    """Yield True while holding a waiting slot, False when all are taken (never blocks)."""
    slots: threading.BoundedSemaphore | None = current_app.extensions.get(_SLOTS)
    if slots is None or not slots.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        slots.release()
