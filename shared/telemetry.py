"""Prometheus metrics of the job service, recorded by whichever process sees the event.

Several processes record (gunicorn's workers, the Celery children, the worker's parent), so
with `PROMETHEUS_MULTIPROC_DIR` set (an empty folder, shared by every process of the host)
prometheus-client keeps the values in files there and any `/metrics` endpoint adds them up
(`registry()`). Without it, each process counts for itself: fine for one process, wrong for
several, which is why `make run` and the compose file set it.

Other parts call the small functions below (`job_finished`, `webhook_outcome`, `refused`)
rather than the metric objects, so names and labels stay in this one file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: a stage of a small image takes milliseconds, a 25 MP job several seconds.
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900)
# Celery's Redis transport keeps priorities 1-9 in lists named queue + SEP + digit.
PRIORITY_SEP = "\x06\x16"

JOBS_FINISHED = Counter(
    "cutout_jobs_finished_total", "Jobs that reached a final status.", ["status", "method"]
)
STAGE_SECONDS = Histogram(
    "cutout_job_stage_seconds",
    "Time per pipeline stage of a job.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
JOB_LATENCY = Histogram(
    "cutout_job_latency_seconds",
    "From submission to final status (queueing included).",
    ["status"],
    buckets=LATENCY_BUCKETS,
)
WORKER_PEAK_RSS = Gauge(
    "cutout_worker_peak_rss_bytes",
    "Highest peak resident memory a worker process reported for a job.",
    multiprocess_mode="max",
)
WEBHOOK_DELIVERIES = Counter(
    "cutout_webhook_deliveries_total", "Webhook delivery attempts by outcome.", ["outcome"]
)
REFUSALS = Counter(
    "cutout_requests_refused_total",
    "Requests refused before any work: rate limits and back-pressure.",
    ["reason"],
)
HTTP_REQUESTS = Counter(
    "cutout_http_requests_total", "API requests answered.", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "cutout_http_request_seconds",
    "Time to answer an API request.",
    ["route"],
    buckets=STAGE_BUCKETS,
)


def job_finished(job: Any) -> None:
    """Count a job that just reached a final status (called once, by JobStore.update)."""
    status = getattr(job.status, "value", str(job.status))
    JOBS_FINISHED.labels(status=status, method=job.method or "none").inc()
    if job.finished_at is not None:
        JOB_LATENCY.labels(status=status).observe(max(0.0, job.finished_at - job.created_at))
    for stage, milliseconds in (job.timings_ms or {}).items():
        STAGE_SECONDS.labels(stage=stage).observe(milliseconds / 1000)
    peak_mb = (job.worker or {}).get("peak_rss_mb")
    if peak_mb:
        WORKER_PEAK_RSS.set(peak_mb * 1024 * 1024)


def webhook_outcome(outcome: str) -> None:
    """Count one webhook attempt: e.g. delivered, retrying, failed, refused."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


def refused(reason: str) -> None:
    """Count a request refused up front: e.g. rate_limited, queue_full, overloaded."""
    REFUSALS.labels(reason=reason).inc()


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered API request (route is the URL rule, never the raw path)."""
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_SECONDS.labels(route=route).observe(seconds)


class QueueDepth(Collector):
    """Jobs waiting in each Celery queue, read from Redis when /metrics is scraped."""

    def __init__(self, redis: Any, queues: Iterable[str]) -> None:
        self.redis = redis
        self.queues = sorted(set(queues))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "cutout_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        for queue in self.queues:
            names = [queue, *(f"{queue}{PRIORITY_SEP}{p}" for p in range(1, 10))]
            with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.llen(name)
                family.add_metric([queue], sum(pipe.execute()))
        yield family


def registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """What a /metrics endpoint shows: every process's values, plus `extra` collectors."""
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
    else:
        merged = CollectorRegistry()
        merged.register(_Forward(REGISTRY))
    for collector in extra:
        merged.register(collector)
    return merged


class _Forward(Collector):
    """This process's default registry inside another registry (single-process mode)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        yield from self.source.collect()


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The Prometheus text format of `registry(extra)`."""
    return generate_latest(registry(extra))


def serve(port: int) -> None:
    """Serve `registry()` over HTTP on `port` in a thread (the worker's own /metrics); 0: off."""
    if port:
        start_http_server(port, registry=registry())
