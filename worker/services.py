"""The worker's process-wide clients and settings (store, storage, budget), made on first use."""

from __future__ import annotations

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
