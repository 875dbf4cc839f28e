"""Run the job service locally: redis-server, Celery worker(s), the webhook sender and the API.

`make run` runs this launcher. Each child runs in its own session, so a Ctrl-C in the
terminal reaches only the launcher, which then stops the API, the webhook sender, the
worker(s) and Redis in that order. If a child dies, the rest are stopped and the launcher
exits 1 naming it. Without WEBHOOK_SECRET in the environment, one is generated once and kept
beside Redis's data. The children and their commands: scripts/run_local_processes.py and
scripts/run_local_commands.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Run as a script, only scripts/ is on the path: the launcher's own modules, and this
# checkout's settings (as the children, started in the checkout, read them), come from there.
_CHECKOUT = str(Path(__file__).resolve().parents[1])
if _CHECKOUT not in sys.path:
    sys.path.insert(0, _CHECKOUT)

from scripts.run_local_commands import (  # noqa: E402
    REPO_ROOT,
    SECRET_NAMES,
    api_command,
    child_env,
    redis_command,
    webhooks_command,
    worker_command,
)
from scripts.run_local_processes import (  # noqa: E402
    Child,
    Stop,
    catch_stop_signals,
    check,
    port_accepts,
    redis_answers,
    require_free_port,
    start,
    stop_child,
    wait_ready,
)

EVAL_DIR = Path(os.environ.get("CUTOUT_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval"))
SAMPLE = EVAL_DIR / "rembg-fixtures" / "fixtures" / "car-1.jpg"
# Seconds between SIGTERM and SIGKILL. A worker gets its job's hard time limit and this
# margin (worker_stop_timeout): Celery finishes the job in hand before it exits.
API_STOP, WORKER_STOP_MARGIN, REDIS_STOP = 10.0, 30.0, 10.0
# The webhook sender finishes the attempts in hand (15 s each at most) before it exits.
WEBHOOKS_STOP = 20.0


def worker_stop_timeout() -> float:
    """Seconds a stopping worker may take: the longest a job may run, plus a margin."""
    # Imported here: only a launch that starts workers loads the settings (and pydantic).
    from shared.settings import Settings

    return Settings().task_time_limit + WORKER_STOP_MARGIN


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
        stop_timeout = worker_stop_timeout()
        for number in range(1, args.workers + 1):
            name = "worker" if args.workers == 1 else f"worker{number}"
            children.append(start(name, worker_command(number), env, stop_timeout))
        if not args.no_webhooks:
            children.append(start("webhooks", webhooks_command(), env, WEBHOOKS_STOP))
    if not args.no_api:
        children.append(start("api", api_command(args.api_port), env, API_STOP))
        wait_ready(children, lambda: port_accepts(args.api_port), "api", 30)
    print_usage(args, redis_url, env)
    while True:
        check(children)
        time.sleep(0.5)


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
    catch_stop_signals()
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
