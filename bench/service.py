"""Queue overhead, throughput and cold start of the job service, measured on loopback.

    .venv/bin/python -m bench.service [--quick] [--jobs 100] [--burst 20] [--cold-starts 3]

Starts a real redis-server, the API under gunicorn and Celery workers (bench/loopback.py),
submits generated 1024 px photos (bench/images.py) over HTTP, prints markdown tables and
writes bench/results/service.json.

Overhead is what a job costs beyond its pipeline (the sum of its stage timings). It is taken
twice: by the client (POST sent until a GET through the API shows `succeeded`; the client
blocks on the job's end in Redis, as the API's synchronous routes do, to know when to GET)
and from the job record's own timestamps (created, started, finished).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.images import SIZES, make
from bench.loopback import (
    API_WORKERS,
    Service,
    Submitted,
    Worker,
    model_loads,
    start_service,
)
from bench.machine import load_average
from shared.jobs import Job

SIZE = "1024"
PRESET = "balanced"
POLL_SECONDS = 0.002
OVERHEAD_TARGET_MS = 30.0
COLD_START_TARGET_S = 3.0
RESULTS = Path("bench/results/service.json")
# Celery's start-up handshakes with other workers (mingle waits ~1 s for answers), off or on.
COLD_START_OPTIONS: list[tuple[str, ...]] = [(), ("--without-mingle", "--without-gossip")]
# (worker processes, inference threads each) on the 2-core machine.
LAYOUTS = [(1, 2), (2, 1)]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks, as numpy's default."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p90, min and max, rounded to 0.1."""
    return {
        "median": round(percentile(values, 50), 1),
        "p90": round(percentile(values, 90), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def pipeline_ms(job: Job) -> float:
    """The worker's own processing time: the sum of the job's stage timings."""
    return sum((job.timings_ms or {}).values())


def record_overheads(job: Job) -> dict[str, float]:
    """Where a finished job's time went besides the pipeline, from its record's timestamps.

    queue: created (the API stored the upload) until a worker child started it;
    worker_untimed: started to finished minus the timed stages (model load on a first job,
    the mask PNG, the status writes); total: created to finished minus the pipeline.
    """
    if job.started_at is None or job.finished_at is None:
        raise ValueError(f"job {job.id} has not finished ({job.status})")
    pipeline = pipeline_ms(job)
    return {
        "queue_ms": (job.started_at - job.created_at) * 1000,
        "worker_untimed_ms": (job.finished_at - job.started_at) * 1000 - pipeline,
        "record_overhead_ms": (job.finished_at - job.created_at) * 1000 - pipeline,
    }


def client_overheads(sent: Submitted, seen_at: float, job: Job) -> dict[str, float]:
    """The client's view: POST sent until `succeeded` was seen, minus the pipeline."""
    if job.finished_at is None:
        raise ValueError(f"job {job.id} has not finished ({job.status})")
    latency = (seen_at - sent.sent_at) * 1000
    return {
        "latency_ms": latency,
        "pipeline_ms": pipeline_ms(job),
        "client_overhead_ms": latency - pipeline_ms(job),
        "post_ms": sent.post_ms,
        "api_before_record_ms": (job.created_at - sent.sent_at) * 1000,
        "noticed_after_ms": (seen_at - job.finished_at) * 1000,
    }


def run_job(
    service: Service, image: bytes, interval: float = POLL_SECONDS
) -> tuple[str, dict[str, float]]:
    """One job submitted and polled to the end: its id and every overhead figure of it."""
    sent = service.submit(image, preset=PRESET, format="png")
    seen_at = service.wait_seen(sent.id, interval)
    job = service.record(sent.id)
    if job.status != "succeeded":
        raise RuntimeError(f"job {job.id} {job.status}: {job.error}")
    return job.id, client_overheads(sent, seen_at, job) | record_overheads(job)


def loaded_models(workers: list[Worker]) -> list[str]:
    """What each worker's children loaded (model, engine, threads), from their logs."""
    return [load for w in workers for load in model_loads(w.log.read_text(errors="replace"))]


def measure_overhead(service: Service, image: bytes, jobs: int) -> dict[str, Any]:
    """Sequential jobs on one warm worker (default threads): overhead median and p90."""
    worker = service.start_worker(1)
    service.wait_ready(worker)
    for _ in range(2):  # the first job loads the model; neither counts
        run_job(service, image)
    finished = [run_job(service, image) for _ in range(jobs)]
    poll_rtt = _get_round_trip_ms(service, finished[-1][0])
    service.stop_worker(worker)
    samples = [figures for _, figures in finished]
    keys = samples[0].keys()
    result: dict[str, Any] = {k: summary([s[k] for s in samples]) for k in keys}
    result |= {"jobs": jobs, "poll_interval_ms": POLL_SECONDS * 1000, "poll_get_ms": poll_rtt}
    result["model"] = loaded_models([worker])
    result["target_ms"] = OVERHEAD_TARGET_MS
    result["pass"] = result["client_overhead_ms"]["median"] <= OVERHEAD_TARGET_MS
    return result


def _get_round_trip_ms(service: Service, job_id: str) -> dict[str, float]:
    """How long one status GET takes: the floor under the client's detection delay."""
    times = []
    for _ in range(30):
        start = time.perf_counter()
        service.job(job_id)
        times.append((time.perf_counter() - start) * 1000)
    return summary(times)


def wait_all(service: Service, ids: list[str], timeout: float = 600.0) -> list[Job]:
    """Poll the records (in Redis, every 50 ms: cheap for the busy CPUs) until all are done."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = [service.record(job_id) for job_id in ids]
        if all(job.status.is_terminal() for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sum(not j.status.is_terminal() for j in jobs)} jobs unfinished")
        time.sleep(0.05)


def warm_up(service: Service, image: bytes, processes: int) -> None:
    """Run jobs in rounds of `processes` until every worker has loaded its model."""
    seen: set[str] = set()
    for _ in range(6):
        ids = [service.submit(image, preset=PRESET).id for _ in range(processes)]
        seen |= {(job.worker or {}).get("name", "") for job in wait_all(service, ids)}
        if len(seen) >= processes:
            return
    raise RuntimeError(f"only {sorted(seen)} of {processes} workers took a job")


def measure_throughput(
    service: Service, image: bytes, processes: int, threads: int, burst: int
) -> dict[str, Any]:
    """A burst of jobs on `processes` warm workers with `threads` inference threads each."""
    env = {"CUTOUT_INFERENCE_THREADS": str(threads)}
    workers = [service.start_worker(n, env=env) for n in range(1, processes + 1)]
    for worker in workers:
        service.wait_ready(worker)
    warm_up(service, image, processes)
    sent = [service.submit(image, preset=PRESET) for _ in range(burst)]
    jobs = wait_all(service, [s.id for s in sent])
    for worker in workers:
        service.stop_worker(worker)
    failed = [job.id for job in jobs if job.status != "succeeded"]
    span = max(job.finished_at or 0.0 for job in jobs) - sent[0].sent_at
    per_worker: dict[str, int] = {}
    for job in jobs:
        name = (job.worker or {}).get("name", "?")
        per_worker[name] = per_worker.get(name, 0) + 1
    return {
        "layout": f"{processes} process x {threads} thread",
        "processes": processes,
        "threads": threads,
        "jobs": burst,
        "failed": failed,
        "seconds": round(span, 2),
        "images_per_s": round(burst / span, 2),
        "pipeline_ms": summary([pipeline_ms(job) for job in jobs]),
        "jobs_per_worker": sorted(per_worker.values()),
        "model": loaded_models(workers),
    }


def measure_cold_start(
    service: Service, image: bytes, options: Sequence[str] = ()
) -> dict[str, float]:
    """Launch a worker and submit at once: time to ready, to start, to `succeeded`."""
    # One heartbeat per run: the score left in Redis is the moment the worker became ready.
    env = {"CUTOUT_HEARTBEAT_SECONDS": "3600"}
    worker = service.start_worker(1, env=env, options=options)
    sent = service.submit(image, preset=PRESET, format="png")
    seen_at = service.wait_seen(sent.id, timeout=120)
    ready_at = service.ready_at(worker) or math.nan
    job = service.record(sent.id)
    service.stop_worker(worker)
    if job.status != "succeeded" or job.started_at is None or job.finished_at is None:
        raise RuntimeError(f"cold-start job {job.id} {job.status}: {job.error}")
    launched = worker.launched_at
    return {
        "ready_s": ready_at - launched,
        "job_started_s": job.started_at - launched,
        "first_job_s": job.finished_at - job.started_at,
        "first_job_pipeline_s": pipeline_ms(job) / 1000,
        "first_job_untimed_s": record_overheads(job)["worker_untimed_ms"] / 1000,
        "succeeded_s": job.finished_at - launched,
        "seen_by_client_s": seen_at - launched,
    }


def measure_cold_starts(
    service: Service, image: bytes, repeats: int, options: Sequence[str] = ()
) -> dict[str, Any]:
    """Median of `repeats` cold starts of the worker command with Celery `options` added."""
    runs = [measure_cold_start(service, image, options) for _ in range(repeats)]
    result: dict[str, Any] = {
        key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]
    }
    result |= {"options": " ".join(options) or "as make run", "runs": repeats}
    result["target_s"] = COLD_START_TARGET_S
    result["pass"] = result["seen_by_client_s"] <= COLD_START_TARGET_S
    result["each"] = [{k: round(v, 3) for k, v in run.items()} for run in runs]
    return result


def print_tables(results: dict[str, Any]) -> None:
    _print_overhead(results["queue_overhead"])
    _print_throughput(results["throughput"])
    _print_cold_starts(results["cold_start"])


def _print_overhead(overhead: dict[str, Any]) -> None:
    print(f"\nQueue overhead, {overhead['jobs']} sequential {SIZE} px jobs (ms)\n")
    print("| measure | median | p90 | min | max |\n| --- | --- | --- | --- | --- |")
    for key in (
        *("client_overhead_ms", "record_overhead_ms", "queue_ms", "worker_untimed_ms"),
        *("post_ms", "noticed_after_ms", "pipeline_ms", "latency_ms"),
    ):
        row = overhead[key]
        print(f"| {key} | {row['median']} | {row['p90']} | {row['min']} | {row['max']} |")
    verdict = "pass" if overhead["pass"] else "FAIL"
    print(f"\ntarget: client overhead median <= {OVERHEAD_TARGET_MS:.0f} ms: {verdict}")


def _print_throughput(rows: list[dict[str, Any]]) -> None:
    print(f"\nThroughput, burst of {rows[0]['jobs']} {SIZE} px jobs\n")
    print("| layout | images/s | seconds | pipeline median ms | jobs per worker | failed | model |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        cells = [row["layout"], row["images_per_s"], row["seconds"], row["pipeline_ms"]["median"]]
        cells += [row["jobs_per_worker"], len(row["failed"]), "; ".join(sorted(set(row["model"])))]
        print("| " + " | ".join(str(cell) for cell in cells) + " |")


def _print_cold_starts(cold_starts: list[dict[str, Any]]) -> None:
    print(f"\nWorker cold start, median of {cold_starts[0]['runs']} (s)\n")
    keys = list(cold_starts[0]["each"][0])
    print("| worker options | " + " | ".join(keys) + " | result |")
    print("|" + " --- |" * (len(keys) + 2))
    for cold in cold_starts:
        verdict = "pass" if cold["pass"] else "FAIL"
        print("| " + " | ".join([cold["options"], *(str(cold[k]) for k in keys), verdict]) + " |")
    print(f"\ntarget: first result < {COLD_START_TARGET_S:.0f} s after launch")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few jobs: a smoke run")
    parser.add_argument("--jobs", type=int, help="sequential jobs for the overhead (100)")
    parser.add_argument("--burst", type=int, help="jobs per throughput burst (20)")
    parser.add_argument("--cold-starts", type=int, help="worker cold starts (3)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    quick = {"jobs": 8, "burst": 6, "cold_starts": 1}
    full = {"jobs": 100, "burst": 20, "cold_starts": 3}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    image = make(SIZE, Path("bench/images")).read_bytes()
    started = time.time()
    results: dict[str, Any] = {
        "command": " ".join(["python -m bench.service", *sys.argv[1:]]),
        "image": f"{SIZES[SIZE][0]}x{SIZES[SIZE][1]} JPEG ({len(image) // 1024} KB), {PRESET}",
        "api_server": API_WORKERS,
        "load_average_before": load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="cutout-bench-") as folder:
        service = start_service(Path(folder))
        try:
            results["cold_start"] = [
                measure_cold_starts(service, image, args.cold_starts, options)
                for options in COLD_START_OPTIONS
            ]
            results["queue_overhead"] = measure_overhead(service, image, args.jobs)
            results["throughput"] = [
                measure_throughput(service, image, processes, threads, args.burst)
                for processes, threads in LAYOUTS
            ]
        finally:
            service.stop()
    results["load_average_after"] = load_average()
    results["wall_seconds"] = round(time.time() - started, 1)
    print_tables(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
