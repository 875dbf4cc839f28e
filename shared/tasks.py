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
# Batch tasks (worker/batchtasks.py): expand a stored zip or URL list into items, a chunk per
# call; give a deduplicated item its own copy of the first item's result.
EXPAND_TASK = "cutout.expand_batch_source"
COPY_TASK = "cutout.copy_result"

# Interactive before bulk: one queue, message priorities. On Redis, kombu keeps one list per
# priority step and a worker's BRPOP names the lists highest priority first, so with
# prefetch 1 and acks_late the next job a worker takes is always the most urgent one: a
# single job waits at most for the job already running. 0 is the highest priority; values
# are bucketed down to a step (bisect), so each constant below is a step itself.
PRIORITY_STEPS = [0, 3, 6, 9]
INTERACTIVE_PRIORITY = 0  # single jobs (/v1/jobs, /remove-bg, /evaluate)
EXPAND_PRIORITY = 3  # a short chunk of a batch's zip or URL list
BULK_PRIORITY = 6  # batch items and their result copies
# kombu's separator between a queue's name and its priority step in the Redis list name.
PRIORITY_SEPARATOR = "\x06\x16"


BATCH_TASKS = (EXPAND_TASK, COPY_TASK)


def queue_lists(queue: str = PROCESS_QUEUE) -> list[str]:
    """The Redis lists kombu keeps for `queue`, highest priority first (what BRPOP names).

    Step 0 is the queue's own name; step n is `<queue>\\x06\\x16<n>`. Summing LLEN over
    these gives the queue's depth.
    """
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


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
            "queue_order_strategy": "priority",
            "priority_steps": PRIORITY_STEPS,
            # kombu looks for them only every interval x throttle s (10 x 10 by default), so
            # a job of a SIGKILLed worker waited up to 100 s more; one scan per interval.
            "unacked_restore_interval": min(10, max(1, settings.broker_visibility_timeout // 10)),
            "unacked_restore_throttle": 1,
        },
        "broker_connection_retry_on_startup": True,
        "task_default_queue": PROCESS_QUEUE,
        "task_routes": {name: {"queue": PROCESS_QUEUE} for name in (PROCESS_TASK, *BATCH_TASKS)},
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
