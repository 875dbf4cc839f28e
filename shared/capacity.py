"""Size classes: which queue a job goes to, so only a worker that can hold it takes it.

Workers of different memory budgets may share one Redis. Each worker publishes the largest
input its memory allows (worker/resources.py) with its heartbeat, and consumes the queue of
every size class up to that size; the API sends a job to the queue of the smallest class
that holds its image. Every worker of a class can therefore hold every job of its queue, so
a job is never failed for its size after it was queued. The API refuses at upload what no
live worker's class holds (413 image_too_large).

A class is named by its upper bound in megapixels. The smallest class keeps the historic
queue name ("cutout"); every worker consumes it, since a worker's derived limit is never
under 1 MP (worker/resources.py). A worker whose limit falls between two bounds is counted at the
lower one: a 1.5 MP worker takes jobs up to 1 MP.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from shared.jobs import HEARTBEATS, WORKER_MAX_MEGAPIXELS
from shared.tasks import PROCESS_QUEUE

# Upper bounds in megapixels. 25 is the default input limit (a 512 MB worker's), so the
# usual fleet consumes the first four queues and the API accepts up to 25 MP.
SIZE_CLASSES_MP: tuple[float, ...] = (1, 4, 12, 25, 50, 100)
# Heartbeats (and the per-worker limits) older than this are deleted: a worker renamed by
# every restart (a Kubernetes pod) would otherwise leave one entry per restart for ever.
STALE_AFTER_SECONDS = 3600.0


def queue_name(bound: float) -> str:
    """The queue of the class with this upper bound."""
    return PROCESS_QUEUE if bound == SIZE_CLASSES_MP[0] else f"{PROCESS_QUEUE}.mp{bound:g}"


def all_queues() -> list[str]:
    """Every size-class queue, smallest first."""
    return [queue_name(bound) for bound in SIZE_CLASSES_MP]


def class_floor(megapixels: float) -> float:
    """The largest class bound a worker accepting `megapixels` fully covers.

    A worker below the smallest bound (only an explicit CUTOUT_MAX_MEGAPIXELS makes one)
    keeps its own limit: alone, the API accepts what it holds; beside bigger workers it may
    still take a first-class job it must refuse, so such fleets are not supported.
    """
    covered = [bound for bound in SIZE_CLASSES_MP if bound <= megapixels]
    return covered[-1] if covered else megapixels


def queues_for_worker(max_megapixels: float) -> list[str]:
    """The queues a worker accepting up to `max_megapixels` consumes."""
    floor = max(class_floor(max_megapixels), SIZE_CLASSES_MP[0])
    return [queue_name(bound) for bound in SIZE_CLASSES_MP if bound <= floor]


def queue_for(megapixels: float) -> str:
    """The queue of the smallest class that holds an image of `megapixels`."""
    for bound in SIZE_CLASSES_MP:
        if megapixels <= bound:
            return queue_name(bound)
    return queue_name(SIZE_CLASSES_MP[-1])  # above every class: refused at upload anyway


def queue_for_input(facts: dict[str, Any]) -> str:
    """The queue for a job from its input facts (exact pixels, not the rounded megapixels)."""
    return queue_for(int(facts["width"]) * int(facts["height"]) / 1e6)


def live_limits(client: redis.Redis, max_age: float, now: float | None = None) -> list[float]:
    """The input limits of the workers that reported in the last `max_age` seconds."""
    now = time.time() if now is None else now
    alive = sorted(_names(client.zrangebyscore(HEARTBEATS, now - max_age, "+inf")))
    if not alive:
        return []
    return [float(value) for value in client.hmget(WORKER_MAX_MEGAPIXELS, alive) if value]


def accepted_megapixels(
    client: redis.Redis, *, configured: float, max_age: float, now: float | None = None
) -> float:
    """The API's input limit: the configured one, lowered to the live workers' largest class.

    With no live worker that says its limit, the configured limit stands (the job waits in
    its class's queue for a worker).
    """
    limits = live_limits(client, max_age, now)
    if not limits:
        return configured
    return min(configured, max(class_floor(limit) for limit in limits))


def prune_stale(client: redis.Redis, now: float | None = None) -> int:
    """Delete heartbeats older than STALE_AFTER_SECONDS and limits of workers never seen."""
    cutoff = (time.time() if now is None else now) - STALE_AFTER_SECONDS
    stale = _names(client.zrangebyscore(HEARTBEATS, "-inf", f"({cutoff}"))
    beating = _names(client.zrange(HEARTBEATS, 0, -1)) - stale
    stale |= _names(client.hkeys(WORKER_MAX_MEGAPIXELS)) - beating
    if stale:
        names = sorted(stale)
        pipe = client.pipeline(transaction=False)
        pipe.zrem(HEARTBEATS, *names)
        pipe.hdel(WORKER_MAX_MEGAPIXELS, *names)
        pipe.execute()
    return len(stale)


def forget_worker(client: redis.Redis, name: str) -> None:
    """Remove a stopping worker's heartbeat and limit, so no job is routed on its account."""
    pipe = client.pipeline(transaction=False)
    pipe.zrem(HEARTBEATS, name)
    pipe.hdel(WORKER_MAX_MEGAPIXELS, name)
    pipe.execute()


def _names(values: Any) -> set[str]:
    """Worker names from a Redis reply (bytes or str, by the client's decode setting)."""
    return {value.decode() if isinstance(value, bytes) else str(value) for value in values}
