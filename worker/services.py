"""The worker's process-wide clients (job store, storage), created on first use."""

from __future__ import annotations

from functools import lru_cache

from shared.jobs import JobStore
from shared.settings import get_settings
from shared.storage import Storage, storage_from_settings
from shared.tasks import redis_client


@lru_cache(maxsize=1)
def job_store() -> JobStore:
    """The Redis job store of this process."""
    settings = get_settings()
    return JobStore(redis_client(settings), retention_seconds=settings.job_retention_seconds)


@lru_cache(maxsize=1)
def storage() -> Storage:
    """The storage backend chosen by STORAGE_URL."""
    return storage_from_settings(get_settings())
