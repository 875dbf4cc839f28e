"""Webhook delivery latency: from a job's end to the receiver's hands, on loopback.

    .venv/bin/python -m bench.webhooks [--jobs 50]

Starts the service as the integration tests do (redis-server, one Celery worker, the API,
the webhook sender: tests/integration/stack.py) and a receiver on 127.0.0.1 that verifies
every signature. Jobs are submitted one at a time with a webhook_url; for each, the latency
is the receiver's arrival time minus the job's `finished_at` (the worker's clock, the same
machine). The baseline in the same run is a client blocked on the job's end in Redis
(JobStore.wait, as the API's synchronous routes wait): the time from `finished_at` until it
returns. Writes bench/results/webhooks.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.machine import load_average, machine_info
from bench.service import percentile
from shared.jobs import JobStore
from tests.conftest import encoded, subject_photo
from tests.integration.stack import Stack, start_stack
from tests.webhook_receiver import Receiver, start_receiver

RESULTS = Path("bench/results/webhooks.json")
MODEL_DIR = Path(os.environ.get("CUTOUT_MODEL_DIR", "models"))


def one_job(
    stack: Stack, store: JobStore, receiver: Receiver, image: bytes, n: int, secret: str
) -> tuple[float, float]:
    """Submit one job; returns (webhook ms, blocked waiter ms) after its end."""
    path = f"/job/{n}"
    waited: dict[str, float] = {}
    response = stack.submit(image, webhook_url=receiver.script(path))
    job_id = response.json()["id"]

    def wait() -> None:
        store.wait(job_id, 120)
        waited["at"] = time.time()

    waiter = threading.Thread(target=wait)
    waiter.start()
    [request] = receiver.wait_for(path, 1, timeout=120)
    waiter.join(130)
    payload = request.verified(secret)
    job = store.get(job_id)
    if job is None or job.finished_at is None or payload["data"]["id"] != job_id:
        raise RuntimeError(f"job {job_id} did not end as expected: {job}")
    return (request.at - job.finished_at) * 1000, (waited["at"] - job.finished_at) * 1000


def stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 1),
        "p90": round(percentile(values, 90), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values), 1),
    }


def measure(jobs: int) -> dict[str, Any]:
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    env = {"WEBHOOK_SECRET": secret, "WEBHOOK_ALLOW_PRIVATE": "true"}
    receiver = start_receiver()
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as folder:
        stack = start_stack(Path(folder), MODEL_DIR.resolve(), webhooks=True, **env)
        try:
            store = JobStore(stack.redis.client(), retention_seconds=3600)
            image = encoded(subject_photo(320, 240))
            one_job(stack, store, receiver, image, -1, secret)  # warm-up, not counted
            pairs = []
            for n in range(jobs):
                pairs.append(one_job(stack, store, receiver, image, n, secret))
                if (n + 1) % 10 == 0:
                    print(f"{n + 1}/{jobs} jobs", file=sys.stderr, flush=True)
        finally:
            stack.stop()
            receiver.stop()
    webhook, waiter = [p[0] for p in pairs], [p[1] for p in pairs]
    return {
        "jobs": jobs,
        "webhook_ms": stats(webhook),
        "blocked_waiter_ms": stats(waiter),
        "webhook_over_waiter_p50_ms": round(percentile(webhook, 50) - percentile(waiter, 50), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50, help="jobs measured (after one warm-up)")
    args = parser.parse_args(argv)
    started = time.time()
    machine = machine_info()
    result = measure(args.jobs)
    report = {
        "command": f".venv/bin/python -m bench.webhooks --jobs {args.jobs}",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": machine,
        "load_average_at_end": load_average(),
        **result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
