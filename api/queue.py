"""Sending jobs to the workers by task name (the API never imports worker/)."""

from __future__ import annotations

import logging
from typing import Protocol

from celery import Celery
from kombu.exceptions import OperationalError

from shared.errors import QueueUnavailable
from shared.settings import Settings
from shared.tasks import PROCESS_QUEUE, PROCESS_TASK, celery_config

log = logging.getLogger(__name__)
# Give up publishing after about a second and a half: the client gets a 503 it can retry,
# rather than a request hanging while Redis is down.
PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


class JobQueue(Protocol):
    """Where the API puts job ids for the workers."""

    def send(self, job_id: str) -> None: ...

    def revoke(self, task_id: str) -> None: ...


class CeleryQueue:
    """The real queue: a Celery task sent by name over the Redis broker."""

    def __init__(self, settings: Settings) -> None:
        self._app = Celery("cutout-api")
        self._app.conf.update(celery_config(settings))

    def send(self, job_id: str) -> None:
        try:
            self._app.send_task(
                PROCESS_TASK,
                args=[job_id],
                queue=PROCESS_QUEUE,
                retry=True,
                retry_policy=PUBLISH_RETRY,
            )
        except (OperationalError, OSError) as exc:
            raise QueueUnavailable(f"the job queue is unreachable ({exc})") from exc

    def revoke(self, task_id: str) -> None:
        """Stop the task if a worker runs it (SIGTERM to its child); never raises."""
        try:
            self._app.control.revoke(task_id, terminate=True, signal="SIGTERM")
        except (OperationalError, OSError) as exc:  # the worker sweeps its late outputs
            log.warning("could not revoke task %s: %s", task_id, exc)
