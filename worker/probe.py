"""Liveness and readiness of a Celery worker, for an exec probe: `python -m worker.probe live`.

`celery inspect ping` answers the question through the broker: it starts a Celery app, sends
a broadcast and waits for the answer or its timeout (0.8 s of CPU and 53 MB resident, inside
the worker's memory limit; `live` below takes 0.06 s and 14 MB, `ready` 0.5 s and 41 MB,
measured with /usr/bin/time). These checks read a file and one Redis key instead:

- live: the worker's consumer loop touched its liveness file recently (worker/liveness.py
  schedules the touch on the loop's own timer, so a hung loop stops it). Redis is not
  asked: a Redis outage must not restart every worker.
- ready: live, and the worker's heartbeat (published by its parent to Redis with the
  largest input it accepts) is recent: the worker reaches Redis and the API counts it.

Exit status 0 means yes, 1 means no (with one line saying why). The worker's node name is
`celery@<hostname>` unless the worker was started with `-n`; pass the same with `--node`.
`live` imports nothing beyond the standard library (the worker writes its touch interval
into the file), since it runs most often; `ready` reads the settings and asks Redis.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

# A stale liveness file is this many touch intervals old: one missed touch is not a hang.
MISSED_TOUCHES = 3


def default_node() -> str:
    return f"celery@{socket.gethostname()}"


def alive_path(node: str, folder: Path | None = None) -> Path:
    """The liveness file of worker `node` (one per node, so several workers share a host)."""
    safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", node)
    return (folder or Path(tempfile.gettempdir())) / f"cutout-worker-{safe}.alive"


def check_live(
    node: str, max_age: float | None = None, now: float | None = None, folder: Path | None = None
) -> str | None:
    """None when the worker's loop touched its file within `max_age` s, else why not.

    Without `max_age`: MISSED_TOUCHES times the touch interval the worker wrote in the file.
    """
    path = alive_path(node, folder)
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
        interval = float(path.read_text())
    except FileNotFoundError:
        return f"{path} does not exist (the worker has not started consuming)"
    except ValueError:
        return f"{path} does not hold the worker's touch interval"
    limit = max_age or MISSED_TOUCHES * interval
    if age > limit:
        return f"{path} was last touched {age:.0f} s ago (limit {limit:.0f} s)"
    return None


def check_heartbeat(
    client: redis.Redis, node: str, max_age: float, now: float | None = None
) -> str | None:
    """None when `node` published a heartbeat within `max_age` s, else why not."""
    import redis  # here, not at the top: `live` needs neither redis nor the settings

    from shared.jobs import HEARTBEATS

    try:
        score = client.zscore(HEARTBEATS, node)
    except redis.RedisError as exc:
        return f"redis: {type(exc).__name__}"
    if score is None:
        return f"no heartbeat from {node} in redis"
    age = (time.time() if now is None else now) - float(score)
    if age > max_age:
        return f"last heartbeat from {node} was {age:.0f} s ago (limit {max_age:.0f} s)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", choices=("live", "ready"))
    parser.add_argument("--node", default=default_node(), help="the worker's node name")
    parser.add_argument(
        "--max-age", type=float, help="seconds; default: 3 heartbeat intervals (the setting)"
    )
    args = parser.parse_args(argv)
    problem = check_live(args.node, args.max_age)
    if problem is None and args.check == "ready":
        import redis  # only here: `live`, the frequent probe, imports nothing beyond stdlib

        from shared.settings import get_settings

        settings = get_settings()
        max_age = args.max_age or MISSED_TOUCHES * settings.heartbeat_seconds
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=2, socket_connect_timeout=2
        )
        problem = check_heartbeat(client, args.node, max_age)
    if problem is not None:
        print(f"not {args.check}: {problem}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
