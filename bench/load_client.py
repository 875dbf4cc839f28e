"""The load test's client: threads that POST jobs and count every answer (bench/load.py).

A refused submission (429 rate limit, 503 back-pressure) is sent again after its Retry-After,
at most `max_wait` s later, until the deadline, as a well-behaved client would.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import urllib3

from bench.images import synthetic_photo

IMAGE_SIZE = (320, 240)


@dataclass
class Answers:
    """What the clients saw, shared by their threads."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    accepted: dict[str, str] = field(default_factory=dict)  # job id -> tenant
    unsent: int = 0  # submissions still refused when the deadline came
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, status: int, latency_ms: float, code: str | None) -> None:
        with self.lock:
            self.latencies_ms.append(latency_ms)
            self.statuses[status] += 1
            if code:
                self.codes[code] += 1


def _photo() -> bytes:
    buffer = io.BytesIO()
    synthetic_photo(*IMAGE_SIZE, seed=3).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _submit_one(
    http: urllib3.PoolManager,
    url: str,
    key: str,
    image: bytes,
    answers: Answers,
    *,
    stop_at: float,
    max_wait: float,
) -> str | None:
    """POST until accepted (202) or the deadline; returns the job id."""
    form = {"image": ("photo.jpg", image, "image/jpeg")}
    headers = {"Authorization": f"Bearer {key}"}
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        try:
            response = http.request("POST", url, fields=form, headers=headers)
        except urllib3.exceptions.HTTPError:
            answers.note(0, (time.perf_counter() - start) * 1000, "connection_error")
            time.sleep(0.5)
            continue
        latency = (time.perf_counter() - start) * 1000
        body = _json(response.data)
        code = (body.get("error") or {}).get("code") if response.status != 202 else None
        answers.note(response.status, latency, code)
        if response.status == 202:
            return str(body["id"])
        if response.status not in (429, 503):
            return None  # a refusal that retrying cannot cure; counted by its code
        retry_after = float(response.headers.get("Retry-After") or 1)
        time.sleep(max(0.0, min(retry_after, max_wait, stop_at - time.monotonic())))
    with answers.lock:
        answers.unsent += 1
    return None


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def submit_all(
    base_url: str,
    keys: Sequence[tuple[str, str]],
    *,
    submissions: int,
    clients: int,
    max_wait: float,
    stop_at: float,
) -> tuple[Answers, float]:
    """`submissions` POSTs from `clients` threads, tenants in turn; answers and seconds taken."""
    http = urllib3.PoolManager(
        maxsize=clients,
        timeout=urllib3.Timeout(connect=5, read=60),
        retries=False,
    )
    answers, image, url = Answers(), _photo(), f"{base_url}/v1/jobs"

    def one(number: int) -> None:
        tenant, key = keys[number % len(keys)]
        job_id = _submit_one(http, url, key, image, answers, stop_at=stop_at, max_wait=max_wait)
        if job_id is not None:
            with answers.lock:
                answers.accepted[job_id] = tenant

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(submissions)))
    return answers, time.perf_counter() - started
