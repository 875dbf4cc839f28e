"""The worker's process-wide clients and settings (store, storage, budget), made on first use.

Network clients belong to the process that made them: a boto3 client or a Redis connection
inherited through fork shares its sockets (and boto3's locks) with the parent, so two
processes would talk over one connection. Every fork therefore drops the cached clients in
the child (`os.register_at_fork`, which also covers the pool children Celery forks to replace
recycled ones after the parent's heartbeat thread made its own clients); the child makes
fresh ones on first use. The budget and settings hold no connections and are kept.
"""

from __future__ import annotations

import os
from functools import lru_cache

from shared.jobs import JobStore
from shared.settings import Settings, get_settings
from shared.storage import Storage, storage_from_settings
from shared.tasks import redis_client
from worker.resources import WorkerBudget, budgeted, read_budget


@lru_cache(maxsize=1)
def job_store() -> JobStore:
    """The Redis job store of this process."""
    settings = get_settings()
    return JobStore(
        redis_client(settings),
        retention_seconds=settings.job_retention_seconds,
        public_url=settings.public_url,
    )


@lru_cache(maxsize=1)
def storage() -> Storage:
    """The storage backend chosen by STORAGE_URL."""
    return storage_from_settings(get_settings())


@lru_cache(maxsize=1)
def worker_budget() -> WorkerBudget:
    """This worker's memory limit and CPUs, read once, and the input size they allow."""
    return read_budget(get_settings())


@lru_cache(maxsize=1)
def job_settings() -> Settings:
    """The settings jobs run with: the environment's, within this worker's budget."""
    return budgeted(get_settings(), worker_budget())


def forget_clients() -> None:
    """Drop this process's network clients; the next use makes new ones."""
    job_store.cache_clear()
    storage.cache_clear()


os.register_at_fork(after_in_child=forget_clients)
