"""Worker heartbeats on fakeredis: the newest one, and the limit published with it."""

from __future__ import annotations

import fakeredis

from shared import heartbeats
from shared.jobs import WORKER_MAX_MEGAPIXELS


def test_the_latest_heartbeat_is_the_newest_of_any_worker() -> None:
    client = fakeredis.FakeRedis()
    assert heartbeats.latest_heartbeat(client) is None
    heartbeats.beat(client, "w1", now=100.0)
    heartbeats.beat(client, "w2", now=200.0)
    assert heartbeats.latest_heartbeat(client) == 200.0


def test_a_worker_publishes_its_limit_only_when_it_has_one() -> None:
    client = fakeredis.FakeRedis()
    heartbeats.beat(client, "w1", now=100.0)
    assert client.hkeys(WORKER_MAX_MEGAPIXELS) == []
    heartbeats.beat(client, "w1", now=110.0, max_megapixels=4.5)
    assert client.hget(WORKER_MAX_MEGAPIXELS, "w1") == b"4.5"
    assert heartbeats.latest_heartbeat(client) == 110.0
