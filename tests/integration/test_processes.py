"""The process helpers start and stop real servers, and stopping really frees them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.processes import (
    find_redis_server,
    free_port,
    port_is_free,
    start_process,
    start_redis,
    stop_process,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_a_redis_server_binary_is_found() -> None:
    binary = find_redis_server()
    assert os.access(binary, os.X_OK)


def test_redis_starts_answers_and_persists(tmp_path: Path) -> None:
    server = start_redis(tmp_path)
    try:
        server.client().set("greeting", "hello")
        assert server.client().get("greeting") == b"hello"
    finally:
        assert server.stop() == 0
    assert port_is_free(server.port)
    assert list((tmp_path / "redis").glob("appendonly*")), "no AOF written"

    again = start_redis(tmp_path, port=server.port)
    try:
        assert again.client().get("greeting") == b"hello"
    finally:
        again.stop()


def test_stop_escalates_to_sigkill_for_the_whole_group(tmp_path: Path) -> None:
    # A leader that ignores SIGTERM, with a child of its own in the same process group.
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    log = tmp_path / "stubborn.log"
    process = start_process([sys.executable, "-c", script], dict(os.environ), log)
    child_pid = int(wait_until(lambda: log.read_text().strip(), timeout=10))

    assert stop_process(process, timeout=0.5) == -9
    wait_until(lambda: not _alive(child_pid), timeout=5)


def test_wait_until_returns_the_value_or_times_out() -> None:
    assert wait_until(lambda: 42, timeout=1) == 42
    with pytest.raises(TimeoutError):
        wait_until(lambda: False, timeout=0.2, interval=0.05)


def test_free_port_is_free() -> None:
    assert port_is_free(free_port())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by init) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")
