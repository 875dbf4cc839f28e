"""Helpers for integration tests that run real processes (redis-server, Celery, gunicorn).

Each child gets its own process group, so stopping it also reaches what it forked (gunicorn
workers, Celery pool processes) and a Ctrl-C in the terminal does not reach it twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import redis
import urllib3
from redis.backoff import NoBackoff
from redis.retry import Retry

from scripts.run_local_commands import find_redis_server

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could bind `port` on 127.0.0.1 now."""
    with socket.socket() as sock:
        # Like the servers we start: a socket in TIME_WAIT does not make the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Call `predicate` until it returns something truthy and return that, or time out."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


def wait_or_stop(
    predicate: Callable[[], object], stop: Callable[[], object], timeout: float, interval: float
) -> None:
    """wait_until(predicate), stopping what was started (`stop`) if it fails or times out."""
    try:
        wait_until(predicate, timeout, interval)
    except BaseException:
        stop()
        raise


# Readiness probes only: short timeouts and no retries, so a probe says "not yet" quickly.
_PROBE = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=10), retries=False)


def answers_http(
    url: str, watched: Mapping[str, subprocess.Popen[bytes]], logs: Callable[[], str]
) -> bool:
    """Whether `url` answers 200 yet; raises, with `logs()`, if a watched process exited."""
    for name, process in watched.items():
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{logs()}")
    try:
        return _PROBE.request("GET", url).status == 200
    except urllib3.exceptions.HTTPError:  # refused while the server is still starting
        return False


def start_process(
    args: Sequence[str | Path], env: Mapping[str, str] | None, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start `args` in a new process group with stdout and stderr written to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [str(arg) for arg in args],
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM the group leader, SIGKILL the whole group after `timeout`; the exit code."""
    if process.poll() is None:
        # Only the leader gets SIGTERM: gunicorn and Celery stop their own children gracefully.
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
    # Whatever the leader left behind in its group goes too.
    _kill_group(process.pid)
    return process.returncode


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class RedisProcess:
    """A redis-server on 127.0.0.1, with its data (AOF) and log under one folder."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, *, retry: bool = True) -> redis.Redis:
        """A redis-py client for this server; `retry=False` fails at once when it is down."""
        if retry:
            return redis.Redis.from_url(self.url, socket_timeout=5)
        # redis-py retries a refused connection with backoff for seconds by default.
        return redis.Redis.from_url(self.url, socket_timeout=5, retry=Retry(NoBackoff(), 0))

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the server (SIGTERM flushes the AOF) and return its exit code."""
        return stop_process(self.process, timeout)


def redis_server_args(binary: str, port: int, data_dir: Path) -> list[str]:
    """A loopback-only, AOF-persisted redis-server command line."""
    return [
        binary,
        *("--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes"),
        *("--dir", str(data_dir), "--appendonly", "yes", "--save", ""),
        # Every write on disk before it is acknowledged, and a full Redis refuses writes
        # (a 503) rather than evicting job records: see docs/faults.md.
        *("--appendfsync", "always", "--maxmemory-policy", "noeviction"),
        *("--daemonize", "no", "--logfile", ""),
    ]


def start_redis(tmp_path: Path, port: int | None = None, timeout: float = 10.0) -> RedisProcess:
    """Start redis-server with its data in `tmp_path / "redis"` and wait until it answers PING.

    Starting again with the same `tmp_path` reloads what the previous server persisted.
    """
    data_dir = tmp_path / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = redis_server_args(find_redis_server(), port, data_dir)
    server = RedisProcess(
        start_process(args, None, tmp_path / "redis.log"), port, tmp_path / "redis.log"
    )
    wait_or_stop(lambda: _answers_ping(server), server.stop, timeout, interval=0.05)
    return server


def _answers_ping(server: RedisProcess) -> bool:
    if server.process.poll() is not None:
        log = server.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"redis-server exited with {server.process.returncode}:\n{log}")
    try:
        return bool(server.client(retry=False).ping())
    except redis.ConnectionError:
        return False
