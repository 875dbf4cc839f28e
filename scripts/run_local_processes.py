"""The launcher's children (scripts/run_local.py): started, watched and stopped.

Each child runs in its own session, so a Ctrl-C in the terminal reaches only the launcher;
`check` turns a stop signal or a child's exit into `Stop`, and `stop_child` ends a child
and whatever it forked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from scripts.run_local_commands import REPO_ROOT


class Stop(Exception):
    """Why the launcher stops, and the exit code that goes with it."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(reason)
        self.code = code


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    stop_timeout: float
    log: Path | None


_signals: list[str] = []


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    _signals.append(signal.Signals(signum).name)


def catch_stop_signals() -> None:
    """Note SIGINT, SIGTERM and SIGHUP for `check`, rather than dying mid-start."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)


def check(children: list[Child]) -> None:
    """Raise Stop once a stop signal arrived or any child has exited."""
    if _signals:
        raise Stop(f"{_signals[0]} received", 0)
    for child in children:
        code = child.process.poll()
        if code is not None:
            where = f"; its log: {child.log}" if child.log else ""
            raise Stop(f"{child.name} exited unexpectedly (exit code {code}){where}", 1)


def wait_ready(children: list[Child], probe: Callable[[], bool], what: str, timeout: float) -> None:
    """Wait until `probe()` is true, watching the children and the signals meanwhile."""
    deadline = time.monotonic() + timeout
    while not probe():
        check(children)
        if time.monotonic() > deadline:
            raise Stop(f"{what} did not become ready within {timeout:.0f} s", 1)
        time.sleep(0.1)


def stop_child(child: Child) -> None:
    """SIGTERM the child, SIGKILL its whole process group after its timeout."""
    process = child.process
    if process.poll() is None:
        wait = (
            f" (up to {child.stop_timeout:.0f} s: a job in hand finishes)"
            if "worker" in child.name
            else ""
        )
        print(f"run_local: stopping {child.name}{wait}", flush=True)
        process.terminate()
        try:
            process.wait(child.stop_timeout)
        except subprocess.TimeoutExpired:
            print(f"run_local: {child.name} did not stop in time; killing it", flush=True)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    try:  # leftovers in its group (pool processes, gunicorn workers)
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def start(
    name: str,
    args: list[str],
    env: dict[str, str] | None,
    stop_timeout: float,
    log: Path | None = None,
) -> Child:
    """Start a child in its own session; its output goes to this terminal (or its `log`)."""
    process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, start_new_session=True)
    return Child(name, process, stop_timeout, log)


def require_free_port(port: int, option: str) -> None:
    """Exit with a message naming `option` if something already listens on `port`."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(
                f"run_local: port {port} on 127.0.0.1 is in use; choose another with {option}"
            ) from None


def redis_answers(url: str) -> bool:
    # No retries: redis-py would otherwise back off for seconds on a refused connection.
    client = redis.Redis.from_url(url, socket_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def port_accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
