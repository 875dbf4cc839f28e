"""The Celery app of the worker: one job at a time per child, acknowledged only when done.

Start: `celery -A worker.celery_app:app worker --concurrency=1`. The parent process never
loads the model (it is created lazily inside the child on its first job); it only sends
heartbeats, sweeps the files of expired jobs and late outputs, and runs the reaper
(worker/reaper.py). Bad time limits stop the worker at start with a message saying which.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_init, worker_ready, worker_shutdown
from kombu import Queue

from shared import capacity, heartbeats, logs, telemetry
from shared.errors import CutoutError
from shared.options import ProcessOptions
from shared.routing import route
from shared.settings import get_settings
from shared.tasks import (
    celery_config,
    stale_seconds,
    time_limit_problems,
)
from worker.liveness import LivenessFile
from worker.models.session import get_model
from worker.pipeline.run import resolve
from worker.reaper import reap
from worker.redis_checks import warn_about_redis
from worker.services import job_settings, job_store, storage, worker_budget
from worker.sweeper import sweep_expired, sweep_late_outputs

log = logging.getLogger(__name__)
settings = get_settings()
if problems := time_limit_problems(settings):
    raise SystemExit("cutout worker: " + "; ".join(problems))
# Read once in the parent, before the pool forks: every child inherits the same budget.
budget = worker_budget()

app = Celery("cutout")
app.conf.update(
    celery_config(settings),
    worker_concurrency=1,
    worker_prefetch_multiplier=1,
    task_acks_late=True,
    # A child killed mid-job (OOM, crash) puts the job back instead of dropping it.
    task_reject_on_worker_lost=True,
    worker_max_tasks_per_child=settings.worker_max_tasks_per_child,
    worker_max_memory_per_child=settings.worker_max_memory_per_child_mb * 1024,  # KiB
    task_soft_time_limit=settings.task_soft_time_limit,
    task_time_limit=settings.task_time_limit,
    worker_send_task_events=False,
    imports=["worker.tasks", "worker.batchtasks"],
    # The size classes this worker's memory holds (shared/capacity.py); -Q overrides.
    task_queues=[Queue(name) for name in capacity.queues_for_worker(budget.max_megapixels)],
)
app.steps["consumer"].add(LivenessFile)

_stop = threading.Event()


def _resend(job_id: str, task_id: str) -> None:
    # The same task, size class and priority as the first send (shared/routing.py).
    job = job_store().get(job_id)
    if job is None:
        return
    where = route(job)
    app.send_task(
        where.task, args=[job_id], task_id=task_id, queue=where.queue, priority=where.priority
    )


def _beat(name: str) -> None:
    heartbeats.beat(job_store().redis, name, max_megapixels=budget.max_megapixels)
    capacity.prune_stale(job_store().redis)


def _sweep() -> None:
    sweep_expired(job_store(), storage())
    # Every task that could still write has hit its hard time limit by then.
    grace = settings.task_time_limit + settings.heartbeat_seconds
    sweep_late_outputs(job_store(), storage(), grace=grace)


def _reap() -> None:
    stale_after, most = stale_seconds(settings), settings.reaper_max_resends
    reap(job_store(), _resend, stale_after=stale_after, max_resends=most)


def _heartbeat_loop(name: str) -> None:
    # Apart, so storage being down (the sweeps) never stops the heartbeat or the reaper.
    duties: list[Callable[[], None]] = [functools.partial(_beat, name), _sweep, _reap]
    while not _stop.is_set():
        for duty in duties:
            try:
                duty()
            except Exception:  # a Redis/storage hiccup must not kill the heartbeat thread
                log.exception("heartbeat: %s failed; retrying next beat", _name(duty))
        _stop.wait(settings.heartbeat_seconds)


def _name(duty: Any) -> str:
    return getattr(getattr(duty, "func", duty), "__name__", "a duty").lstrip("_")


@setup_logging.connect
def _setup_logging(**_: Any) -> None:
    # Connected, so Celery leaves the root logger to us: JSON lines like the API's.
    logs.configure("worker", level=settings.log_level, fmt=settings.log_format)


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    telemetry.serve(settings.worker_metrics_port)
    name = getattr(sender, "hostname", "worker")
    log.info("%s: %s; queues %s", name, budget.describe(), ", ".join(app.amqp.queues))
    warn_about_redis(job_store().redis)
    threading.Thread(target=_heartbeat_loop, args=(name,), daemon=True, name="heartbeat").start()


@worker_shutdown.connect
def _stop_heartbeat(sender: Any = None, **_: Any) -> None:
    _stop.set()
    try:  # no job is routed on this worker's account any more
        capacity.forget_worker(job_store().redis, getattr(sender, "hostname", "worker"))
    except Exception:  # Redis down: the entry goes stale and is pruned later
        log.warning("could not remove this worker's heartbeat")


def _load_default_model() -> None:
    settings = job_settings()
    model = resolve(ProcessOptions(), settings).model
    try:
        get_model(str(model), settings)
    except CutoutError as exc:  # the first job reports it (and falls back); not fatal here
        log.warning("could not preload %s: %s", model, exc.message)


@worker_process_init.connect
def _preload_model(**_: Any) -> None:
    # Each new child loads the default preset's model while it waits for its first job, so
    # cold start and child recycling do not add the load to a job. In a thread: Celery kills
    # a child whose init takes over 4 s, and a first job simply waits on the session lock.
    threading.Thread(target=_load_default_model, daemon=True, name="preload").start()
