"""scripts/run_local.py starts Redis, stops it cleanly on Ctrl-C, and reports a dead child."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.settings import REPO_ROOT
from tests.processes import free_port, port_is_free, stop_process, wait_until

pytestmark = pytest.mark.integration
SCRIPT = REPO_ROOT / "scripts" / "run_local.py"


def launch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.fixture
def redis_only(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], redis.Redis]]:
    port = free_port()
    launcher = launch(
        "--no-api", "--no-worker", "--redis-port", str(port), "--data-dir", str(tmp_path)
    )
    client = redis.Redis(port=port, socket_timeout=2, retry=Retry(NoBackoff(), 0))
    try:
        wait_until(lambda: _answers(client), timeout=15)
        yield launcher, client
    finally:
        stop_process(launcher)  # a no-op once the test has stopped it


def test_ctrl_c_stops_redis_cleanly(
    redis_only: tuple[subprocess.Popen[str], redis.Redis], tmp_path: Path
) -> None:
    launcher, client = redis_only
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("bind")["bind"] == "127.0.0.1"
    client.set("kept", "yes")
    launcher.send_signal(signal.SIGINT)
    out, err = launcher.communicate(timeout=20)

    assert launcher.returncode == 0, err
    assert "SIGINT received" in out and "Ctrl-C stops everything" in out
    assert not _answers(client)
    assert port_is_free(client.connection_pool.connection_kwargs["port"])
    # Redis 6 writes appendonly.aof, Redis 7 an appendonlydir/ of files.
    aof = [path for path in (tmp_path / "redis").rglob("appendonly*") if path.is_file()]
    assert any(b"kept" in path.read_bytes() for path in aof)


def test_a_dead_child_stops_the_launcher(
    redis_only: tuple[subprocess.Popen[str], redis.Redis],
) -> None:
    launcher, client = redis_only
    client.shutdown(nosave=True)
    _, err = launcher.communicate(timeout=20)

    assert launcher.returncode == 1
    assert "redis exited unexpectedly" in err


def test_a_busy_redis_port_names_the_option(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        launcher = launch(
            "--no-api", "--no-worker", "--redis-port", str(port), "--data-dir", str(tmp_path)
        )
        _, err = launcher.communicate(timeout=20)
    assert launcher.returncode == 1
    assert "--redis-port" in err and str(port) in err


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_a_webhook_secret_is_made_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scripts.run_local import child_env
    from shared.settings import check_webhook_secret

    for name in ("WEBHOOK_SECRET", "CUTOUT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    first = child_env("redis://127.0.0.1:1/0", tmp_path)["WEBHOOK_SECRET"]
    assert len(check_webhook_secret(first)) == 32
    assert (tmp_path / "webhook-secret").stat().st_mode & 0o077 == 0  # the owner's only
    assert child_env("redis://127.0.0.1:1/0", tmp_path)["WEBHOOK_SECRET"] == first
    monkeypatch.setenv("CUTOUT_WEBHOOK_SECRET", "whsec_" + "A" * 32)
    assert "WEBHOOK_SECRET" not in child_env("redis://127.0.0.1:1/0", tmp_path / "other")
