"""What the API's guards cost a request: rate limits and the queue cap on against off.

    .venv/bin/python -m bench.guards [--requests 200] [--rounds 3]

Two apps in this process share one real redis-server: one with the rate limiter (counters in
Redis) and the queue cap checked on every request but never refusing (limits far above what
is sent), one with both off. Each round times `--requests` submissions (a 64x48 JPEG, the
queue a no-op so the broker is not measured) and as many polls on each app, in alternating
order so a busy machine slows both alike. Reported: median milliseconds per request and the
guarded/open ratio. Writes bench/results/guards.json.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask

from api.app import create_app
from bench.machine import load_average, machine_info
from shared.jobs import JobStore
from shared.settings import Settings
from shared.storage.memory import MemoryStorage
from tests.conftest import encoded, subject_photo
from tests.processes import RedisProcess, start_redis

RESULTS = Path(__file__).resolve().parent / "results" / "guards.json"
PHOTO = encoded(subject_photo(64, 48))
UNREACHABLE = "1000000/minute"  # checked on every request, never reached


class NoQueue:
    """Accepts every job and sends nothing: the broker is not what is measured."""

    def send(self, job_id: str) -> None:
        return None


def make_app(server: RedisProcess, guarded: bool) -> Flask:
    limits = UNREACHABLE if guarded else ""
    settings = Settings(
        redis_url=server.url,
        rate_limit=limits,
        rate_limit_submit=limits,
        max_queue_depth=1_000_000 if guarded else 0,
    )
    store = JobStore(server.client(), retention_seconds=600)
    return create_app(settings=settings, store=store, storage=MemoryStorage(), queue=NoQueue())


def timed(app: Flask, count: int) -> dict[str, list[float]]:
    """Milliseconds per submission and per poll, `count` of each."""
    client = app.test_client()
    submits, polls = [], []
    for _ in range(count):
        start = time.perf_counter()
        response = client.post("/v1/jobs", data={"image": (io.BytesIO(PHOTO), "p.jpg")})
        submits.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 202, response.get_json()
        start = time.perf_counter()
        assert client.get(f"/v1/jobs/{response.get_json()['id']}").status_code == 200
        polls.append((time.perf_counter() - start) * 1000)
    return {"submit": submits, "poll": polls}


def run(requests: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        server = start_redis(Path(folder))
        try:
            apps = {"guarded": make_app(server, True), "open": make_app(server, False)}
            samples: dict[str, dict[str, list[float]]] = {
                name: {"submit": [], "poll": []} for name in apps
            }
            for number in range(rounds):
                order = list(apps) if number % 2 == 0 else list(reversed(apps))
                for name in order:
                    for kind, values in timed(apps[name], requests).items():
                        samples[name][kind] += values
        finally:
            server.stop()
    medians = {
        name: {kind: round(statistics.median(values), 3) for kind, values in kinds.items()}
        for name, kinds in samples.items()
    }
    ratios = {
        kind: round(medians["guarded"][kind] / medians["open"][kind], 3)
        for kind in ("submit", "poll")
    }
    return {"median_ms": medians, "guarded_over_open": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = {
        "command": f"python -m bench.guards --requests {args.requests} --rounds {args.rounds}",
        "machine": machine_info(),
        **run(args.requests, args.rounds),
        "load_average_at_end": load_average(),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: result[key] for key in ("median_ms", "guarded_over_open")}, indent=2))


if __name__ == "__main__":
    main()
