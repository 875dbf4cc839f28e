"""The Celery app of the worker: one job at a time per child, acknowledged only when done.

Start: `celery -A worker.celery_app:app worker --concurrency=1`. The parent process never
loads the model (it is created lazily inside the child on its first job); it only sends
heartbeats and sweeps the files of expired jobs.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready, worker_shutdown
from kombu import Queue

from shared import capacity
from shared.errors import CutoutError
from shared.options import ProcessOptions
from shared.settings import get_settings
from shared.tasks import celery_config
from worker.liveness import LivenessFile
from worker.models.session import get_model
from worker.pipeline.run import resolve
from worker.services import job_settings, job_store, storage, worker_budget
from worker.sweeper import sweep_expired

log = logging.getLogger(__name__)
settings = get_settings()
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
    imports=["worker.tasks"],
    # The size classes this worker's memory holds (shared/capacity.py); -Q overrides.
    task_queues=[Queue(name) for name in capacity.queues_for_worker(budget.max_megapixels)],
)
app.steps["consumer"].add(LivenessFile)

_stop = threading.Event()


def _heartbeat_loop(name: str) -> None:
    while not _stop.is_set():
        try:
            job_store().beat(name, max_megapixels=budget.max_megapixels)
            capacity.prune_stale(job_store().redis)
            sweep_expired(job_store(), storage())
        except Exception:  # a Redis/storage hiccup must not kill the heartbeat thread
            log.exception("heartbeat failed; retrying in %.0f s", settings.heartbeat_seconds)
        _stop.wait(settings.heartbeat_seconds)


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    name = getattr(sender, "hostname", "worker")
    log.info("%s: %s; queues %s", name, budget.describe(), ", ".join(app.amqp.queues))
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
