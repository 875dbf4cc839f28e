"""Celery task names and queues, shared by the API (which sends) and the worker (which runs).

The API sends tasks by name and never imports `worker/`; task arguments are ids, never bytes.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

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
        "broker_transport_options": {"visibility_timeout": settings.broker_visibility_timeout},
        "broker_connection_retry_on_startup": True,
        "task_default_queue": PROCESS_QUEUE,
        "task_routes": {PROCESS_TASK: {"queue": PROCESS_QUEUE}},
        # Results live in the job store, not in Celery's result backend.
        "task_ignore_result": True,
    }


def redis_client(settings: Settings) -> redis.Redis:
    """A Redis client for the job store with timeouts, so a dead server fails fast.

    redis-py retries a refused connection 10 times with backoff by default (about 3 s): here
    3 short retries (a blip passes) keep a 503 from a stopped Redis well under a second.
    The read timeout stays above JobStore.wait's 2 s blocking slices.
    """
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), 3),
    )


def stale_seconds(settings: Settings) -> float:
    """How long an unfinished job may stand still before the reaper looks at it."""
    configured = settings.reaper_stale_seconds
    return configured or float(settings.task_time_limit + settings.broker_visibility_timeout)


def time_limit_problems(settings: Settings) -> list[str]:
    """What is wrong with the worker's time limits (soft < hard < visibility timeout)."""
    soft, hard = settings.task_soft_time_limit, settings.task_time_limit
    visibility = settings.broker_visibility_timeout
    problems = []
    if not soft < hard:
        problems.append(
            f"CUTOUT_TASK_SOFT_TIME_LIMIT ({soft}) must be below CUTOUT_TASK_TIME_LIMIT "
            f"({hard}): the job is asked to stop before its process is killed"
        )
    if not hard < visibility:
        problems.append(
            f"CUTOUT_TASK_TIME_LIMIT ({hard}) must be below CUTOUT_BROKER_VISIBILITY_TIMEOUT "
            f"({visibility}): otherwise Redis hands a running job to a second worker"
        )
    return problems
