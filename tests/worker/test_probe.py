"""worker.probe: liveness from the consumer loop's file, readiness from the Redis heartbeat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import fakeredis
import pytest

from shared import heartbeats
from shared.settings import REPO_ROOT
from worker import probe


def test_live_needs_a_recent_touch(tmp_path: Path) -> None:
    node = "celery@host-1"
    assert "does not exist" in (probe.check_live(node, 30, folder=tmp_path) or "")
    path = probe.alive_path(node, tmp_path)
    path.write_text("10")  # the worker's touch interval
    assert probe.check_live(node, 30, folder=tmp_path) is None
    assert probe.check_live(node, folder=tmp_path) is None
    os.utime(path, (time.time() - 31, time.time() - 31))
    assert "last touched" in (probe.check_live(node, 30, folder=tmp_path) or "")
    assert "limit 30 s" in (probe.check_live(node, folder=tmp_path) or "")  # 3 x 10 s
    path.write_text("")
    assert "does not hold" in (probe.check_live(node, folder=tmp_path) or "")


def test_nodes_on_one_host_have_their_own_files(tmp_path: Path) -> None:
    paths = {probe.alive_path(f"worker{n}@host", tmp_path) for n in (1, 2)}
    assert len(paths) == 2
    assert probe.alive_path("a/../b@h", tmp_path).parent == tmp_path


def test_ready_needs_a_recent_heartbeat() -> None:
    client = fakeredis.FakeRedis()
    assert "no heartbeat" in (probe.check_heartbeat(client, "celery@h", 30) or "")
    heartbeats.beat(client, "celery@h", now=100.0)
    assert probe.check_heartbeat(client, "celery@h", 30, now=120.0) is None
    assert "ago" in (probe.check_heartbeat(client, "celery@h", 30, now=140.0) or "")


def test_ready_says_so_when_redis_is_down() -> None:
    server = fakeredis.FakeServer()
    server.connected = False
    client = fakeredis.FakeRedis(server=server)
    assert (probe.check_heartbeat(client, "celery@h", 30) or "").startswith("redis:")


@pytest.mark.parametrize("check", ["live", "ready"])
def test_the_command_exits_non_zero_with_one_line(check: str) -> None:
    node = f"probe-test-{os.getpid()}-{time.monotonic_ns()}@nowhere"
    env = dict(os.environ, CUTOUT_REDIS_URL="redis://127.0.0.1:1/0")
    done = subprocess.run(
        [sys.executable, "-m", "worker.probe", check, "--node", node],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout.startswith(f"not {check}:") and len(done.stdout.splitlines()) == 1
    assert not done.stderr


def test_the_command_passes_for_a_live_node() -> None:
    node = f"probe-test-{os.getpid()}-{time.monotonic_ns()}@here"
    path = probe.alive_path(node)
    path.write_text("10")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "worker.probe", "live", "--node", node],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        path.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
