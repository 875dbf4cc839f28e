"""Size classes: a queue's jobs always fit every worker that consumes it; stale entries go."""

from __future__ import annotations

import fakeredis
import pytest

from shared import capacity, heartbeats
from shared.jobs import HEARTBEATS, WORKER_MAX_MEGAPIXELS
from shared.tasks import PROCESS_QUEUE

WORKER_LIMITS = [0.3, 1.0, 1.5, 3.9, 4.0, 11.5, 12.0, 24.5, 25.0, 30.0, 50.0, 99.0, 100.0, 400.0]
IMAGE_SIZES = [0.01, 0.3, 1.0, 1.0001, 2.5, 4.0, 4.01, 12.0, 18.0, 25.0, 25.01, 49.0, 100.0]


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def test_queue_names() -> None:
    assert capacity.all_queues()[0] == PROCESS_QUEUE
    assert capacity.queue_for(1.0) == PROCESS_QUEUE
    assert capacity.queue_for(1.0001) == f"{PROCESS_QUEUE}.mp4"
    assert capacity.queue_for(25.0) == f"{PROCESS_QUEUE}.mp25"
    assert capacity.queue_for(25.01) == f"{PROCESS_QUEUE}.mp50"
    assert len(set(capacity.all_queues())) == len(capacity.SIZE_CLASSES_MP)


@pytest.mark.parametrize("limit", WORKER_LIMITS)
def test_every_job_a_worker_consumes_fits_it(limit: float) -> None:
    queues = capacity.queues_for_worker(limit)
    assert queues[0] == PROCESS_QUEUE  # every worker takes the smallest class
    for size in IMAGE_SIZES:
        if capacity.queue_for(size) in queues and limit >= capacity.SIZE_CLASSES_MP[0]:
            assert size <= limit, (limit, size)


@pytest.mark.parametrize("size", IMAGE_SIZES)
def test_an_accepted_image_has_a_live_worker_that_holds_it(size: float) -> None:
    client = fakeredis.FakeRedis()
    fleet = {"small": 1.5, "medium": 12.5, "big": 30.0}
    for name, limit in fleet.items():
        heartbeats.beat(client, name, now=100.0, max_megapixels=limit)
    accepted = capacity.accepted_megapixels(client, configured=100, max_age=60, now=110.0)
    assert accepted == 25  # the big worker's class, not its exact 30
    if size <= accepted:
        takers = [
            n
            for n, lim in fleet.items()
            if capacity.queue_for(size) in capacity.queues_for_worker(lim)
        ]
        assert takers and all(size <= fleet[n] for n in takers)


def test_the_limit_follows_the_live_workers(client: fakeredis.FakeRedis) -> None:
    assert capacity.accepted_megapixels(client, configured=25, max_age=60, now=0) == 25
    heartbeats.beat(client, "small", now=100.0, max_megapixels=1.5)
    assert capacity.accepted_megapixels(client, configured=25, max_age=60, now=110) == 1
    heartbeats.beat(client, "big", now=100.0, max_megapixels=25.0)
    assert capacity.accepted_megapixels(client, configured=25, max_age=60, now=110) == 25
    assert capacity.accepted_megapixels(client, configured=8, max_age=60, now=110) == 8
    heartbeats.beat(client, "small", now=200.0, max_megapixels=1.5)  # the big one stopped reporting
    assert capacity.accepted_megapixels(client, configured=25, max_age=60, now=210) == 1
    heartbeats.beat(client, "tiny", now=200.0, max_megapixels=0.2)
    client.zrem(HEARTBEATS, "small")
    assert capacity.accepted_megapixels(client, configured=25, max_age=60, now=210) == 0.2


def test_stale_and_orphan_entries_are_pruned(client: fakeredis.FakeRedis) -> None:
    now = 10_000.0
    heartbeats.beat(client, "old", now=now - capacity.STALE_AFTER_SECONDS - 1, max_megapixels=25)
    heartbeats.beat(client, "fresh", now=now - 5, max_megapixels=25)
    client.hset(WORKER_MAX_MEGAPIXELS, "orphan", 4)
    assert capacity.prune_stale(client, now=now) == 2
    assert client.zrange(HEARTBEATS, 0, -1) == [b"fresh"]
    assert client.hkeys(WORKER_MAX_MEGAPIXELS) == [b"fresh"]
    assert capacity.prune_stale(client, now=now) == 0


def test_a_stopping_worker_is_forgotten(client: fakeredis.FakeRedis) -> None:
    heartbeats.beat(client, "leaving", max_megapixels=25)
    heartbeats.beat(client, "staying", max_megapixels=1.5)
    capacity.forget_worker(client, "leaving")
    assert capacity.live_limits(client, max_age=60) == [1.5]


def test_routing_uses_the_exact_pixel_count() -> None:
    # 1001 x 1000 rounds to 1.0 MP but does not fit a 1 MP worker.
    assert capacity.queue_for_input({"width": 1001, "height": 1000, "megapixels": 1.0}) == (
        f"{PROCESS_QUEUE}.mp4"
    )
    assert capacity.queue_for_input({"width": 1000, "height": 1000}) == PROCESS_QUEUE
