"""Worker heartbeats: each worker says it is alive, with the largest input its memory allows.

The API's /ready reads the newest heartbeat; shared/capacity.py reads the per-worker limits
to route jobs by size and prunes the entries of workers gone for good.
"""

from __future__ import annotations

import time

import redis

from shared.jobs import HEARTBEATS, WORKER_MAX_MEGAPIXELS


def beat(
    client: redis.Redis,
    worker_name: str,
    now: float | None = None,
    max_megapixels: float | None = None,
) -> None:
    """Record that a worker is alive, and the largest input its memory allows."""
    client.zadd(HEARTBEATS, {worker_name: time.time() if now is None else now})
    if max_megapixels is not None:
        client.hset(WORKER_MAX_MEGAPIXELS, worker_name, max_megapixels)


def latest_heartbeat(client: redis.Redis) -> float | None:
    """When any worker last reported, or None if none ever did."""
    newest = client.zrevrange(HEARTBEATS, 0, 0, withscores=True)
    return float(newest[0][1]) if newest else None
