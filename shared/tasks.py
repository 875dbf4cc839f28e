"""Celery task names and queues, shared by the API (which sends) and the worker (which runs).

The API sends tasks by name and never imports `worker/`; task arguments are ids, never bytes.
"""

from __future__ import annotations

from typing import Any

import redis

from shared.settings import Settings

PROCESS_TASK = "cutout.process"
PROCESS_QUEUE = "cutout"


def storage_keys(job_id: str) -> dict[str, str]:
    """Where a job's files live in storage (outputs get their extension when written)."""
    return {
        "original": f"inputs/{job_id}/original",
        "background": f"inputs/{job_id}/background",
        "truth": f"inputs/{job_id}/truth",
        "result": f"outputs/{job_id}/result",
        "mask": f"outputs/{job_id}/mask.png",
        "prefix_inputs": f"inputs/{job_id}/",
        "prefix_outputs": f"outputs/{job_id}/",
    }


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings both sides agree on; the worker adds its own (see worker/celery_app.py)."""
    return {
        "broker_url": settings.redis_url,
        # Unacknowledged jobs come back after this; it must outlast the hard time limit.
        "broker_transport_options": {
            "visibility_timeout": settings.broker_visibility_timeout,
            # kombu looks for them only every interval x throttle s (10 x 10 by default), so
            # a job of a SIGKILLed worker waited up to 100 s more; one scan per interval.
            "unacked_restore_interval": min(10, max(1, settings.broker_visibility_timeout // 10)),
            "unacked_restore_throttle": 1,
        },
        "broker_connection_retry_on_startup": True,
        "task_default_queue": PROCESS_QUEUE,
        "task_routes": {PROCESS_TASK: {"queue": PROCESS_QUEUE}},
        # Results live in the job store, not in Celery's result backend.
        "task_ignore_result": True,
    }


def redis_client(settings: Settings) -> redis.Redis:
    """A Redis client for the job store with timeouts, so a dead server fails fast."""
    return redis.Redis.from_url(
        settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
    )
