"""What the worker checks about its Redis server at start (warnings, not failures).

Redis holds the job records and the queue, so it must neither evict keys under memory
pressure (`maxmemory-policy noeviction`: a full Redis refuses writes, which the API answers
with 503, rather than silently dropping a job) nor lose acknowledged writes on a crash
(`appendonly yes` with `appendfsync always`; see docs/faults.md for `everysec`).
"""

from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)
WANTED = {"maxmemory-policy": "noeviction", "appendonly": "yes"}


def redis_warnings(client: redis.Redis) -> list[str]:
    """What in the server's configuration could lose jobs (empty when all is well)."""
    try:
        found = {name: _setting(client, name) for name in WANTED}
    except redis.ResponseError:  # managed services may forbid CONFIG GET
        return [
            "cannot read the Redis configuration (CONFIG GET is refused); make sure "
            "maxmemory-policy is noeviction and appendonly is yes"
        ]
    return [
        f"Redis {name} is {value!r}, not {WANTED[name]!r}: jobs can be lost "
        f"(run redis-server with --{name} {WANTED[name]})"
        for name, value in found.items()
        if value is not None and value != WANTED[name]
    ]


def warn_about_redis(client: redis.Redis) -> None:
    """Log each warning; Redis being down now is the heartbeat's business, not a reason to stop."""
    try:
        warnings = redis_warnings(client)
    except redis.RedisError as exc:
        log.warning("could not check the Redis configuration: %s", exc)
        return
    for warning in warnings:
        log.warning(warning)


def _setting(client: redis.Redis, name: str) -> str | None:
    value = client.config_get(name).get(name)
    return value.decode() if isinstance(value, bytes) else value
