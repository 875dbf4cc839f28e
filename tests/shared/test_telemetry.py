"""The service's Prometheus metrics, recorded in this process (single-process mode)."""

from __future__ import annotations

import fakeredis
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from shared import telemetry
from shared.jobs import Job, JobStore


@pytest.fixture(autouse=True)
def _single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(telemetry.MULTIPROC_ENV, raising=False)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_job_ending_is_counted_once_with_its_stages_and_memory() -> None:
    store = JobStore(fakeredis.FakeRedis(), retention_seconds=60)
    job = store.create(Job(id="j1", created_at=100.0))
    before = _value("cutout_jobs_finished_total", status="succeeded", method="u2netp")
    stage_before = _value("cutout_job_stage_seconds_count", stage="inference")
    store.start("j1", worker="w", max_attempts=3)

    def record(finished: Job) -> None:
        finished.method, finished.timings_ms = "u2netp", {"inference": 120.0, "encode": 8.0}
        finished.worker = {"name": "w", "peak_rss_mb": 200.0}

    store.succeed(job.id, record)
    store.cancel(job.id)  # already final: not counted again
    after = _value("cutout_jobs_finished_total", status="succeeded", method="u2netp")
    assert after == before + 1
    assert _value("cutout_job_stage_seconds_count", stage="inference") == stage_before + 1
    assert _value("cutout_worker_peak_rss_bytes") >= 200 * 1024 * 1024
    assert _value("cutout_job_latency_seconds_count", status="succeeded") >= 1


def test_callers_count_refusals_and_webhook_outcomes() -> None:
    before = _value("cutout_requests_refused_total", reason="rate_limited")
    telemetry.refused("rate_limited")
    telemetry.webhook_outcome("delivered")
    assert _value("cutout_requests_refused_total", reason="rate_limited") == before + 1
    assert _value("cutout_webhook_deliveries_total", outcome="delivered") >= 1


def test_queue_depth_counts_every_priority_list() -> None:
    redis = fakeredis.FakeRedis()
    redis.rpush("cutout", "a", "b")
    redis.rpush(f"cutout{telemetry.PRIORITY_SEP}3", "c")
    text = telemetry.exposition([telemetry.QueueDepth(redis, ["cutout", "other"])]).decode()
    samples = {
        (sample.name, sample.labels.get("queue")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("cutout_queue_depth", "cutout")] == 3
    assert samples[("cutout_queue_depth", "other")] == 0


def test_the_worker_can_serve_its_own_metrics() -> None:
    import urllib3

    from tests.processes import free_port

    port = free_port()
    telemetry.serve(port)
    telemetry.refused("queue_full")
    text = urllib3.request("GET", f"http://127.0.0.1:{port}/metrics", timeout=5).data.decode()
    assert 'cutout_requests_refused_total{reason="queue_full"}' in text
