"""Metrics and logs of the real stack: /metrics after real jobs, JSON lines in both logs.

PROMETHEUS_MULTIPROC_DIR is shared by gunicorn and the Celery worker, so the API's /metrics
shows what the worker's children recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from shared.keys import KeyStore
from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import Stack, http, start_stack
from tests.processes import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("observability")
    multiproc = folder / "prometheus"
    multiproc.mkdir()
    running = start_stack(
        folder,
        require_real_model().parent,
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        CUTOUT_AUTH="required",
        CUTOUT_LOG_FORMAT="json",
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    created, _ = KeyStore(redis.Redis.from_url(stack.redis.url)).create("observer")
    return created


@pytest.fixture(scope="module")
def jobs(stack: Stack, key: str) -> dict[str, dict]:
    """One job that succeeds and one that fails (a truncated JPEG), both finished."""
    headers = {"Authorization": f"Bearer {key}"}
    photo = encoded(subject_photo(320, 240))
    ids = [stack.submit(data, headers=headers).json()["id"] for data in (photo, photo[:2000])]

    def finished(job_id: str) -> dict | None:
        job = http.request("GET", stack.url(f"/v1/jobs/{job_id}"), headers=headers).json()
        return job if job["status"] in ("succeeded", "failed") else None

    return {job_id: wait_until(partial(finished, job_id), 120, 0.2) for job_id in ids}


def _samples(stack: Stack) -> dict[tuple[str, frozenset], float]:
    response = http.request("GET", stack.url("/metrics"))
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.data.decode())
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_after_real_jobs(stack: Stack, jobs: dict[str, dict]) -> None:
    statuses = sorted(job["status"] for job in jobs.values())
    assert statuses == ["failed", "succeeded"], jobs
    samples = _samples(stack)  # no key needed: /metrics is for the scraper
    assert _value(samples, "cutout_jobs_finished_total", status="succeeded", method="u2netp") >= 1
    assert _value(samples, "cutout_jobs_finished_total", status="failed", method="none") >= 1
    for stage in ("decode", "inference", "encode", "store"):
        assert _value(samples, "cutout_job_stage_seconds_count", stage=stage) >= 1, stage
    assert _value(samples, "cutout_job_latency_seconds_count", status="succeeded") >= 1
    assert _value(samples, "cutout_worker_peak_rss_bytes") > 50 * 1024 * 1024
    assert ("cutout_queue_depth", frozenset({("queue", "cutout")})) in samples
    created = _value(
        samples, "cutout_http_requests_total", method="POST", route="/v1/jobs", status="202"
    )
    assert created >= 2


def test_json_logs_carry_the_job_id_and_no_secrets(
    stack: Stack, jobs: dict[str, dict], key: str
) -> None:
    good = next(job["id"] for job in jobs.values() if job["status"] == "succeeded")
    records = []
    for name in ("api.log", "worker.log"):
        for line in (stack.folder / name).read_text(errors="replace").splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
            assert key not in line, f"the API key leaked into {name}"
    of_job = [r for r in records if r.get("job_id") == good]
    events = {(r["service"], r.get("event")) for r in of_job}
    assert {("api", "request"), ("worker", "job_started"), ("worker", "job_finished")} <= events
    finished = next(r for r in of_job if r.get("event") == "job_finished")
    assert finished["status"] == "succeeded" and finished["timings_ms"]["inference"] > 0
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
