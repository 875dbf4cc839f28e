"""Throughput and memory per worker for 1, 2 and 3 workers, and the CPU cost of an image.

    .venv/bin/python -m bench.workers [--burst 24] [--counts 1 2 3]

Starts redis-server, the API and N Celery workers on loopback (bench/loopback.py, as `make
run` does), warms every worker up, submits a burst of generated 1024 px photos over HTTP and
measures: images per second, the CPU seconds the workers spent per image (parent and pool
child, from /proc via psutil), and each worker's memory after the burst (RSS and PSS of
parent + child) and its child's peak (the job records' peak_rss_mb).

CPU seconds per image is the measured per-core cost: a core gives 1 / cost images per
second at most, so a machine with C cores gives at most C / cost, times the efficiency the
2-core runs reached (images per second measured / the CPU-bound ceiling). Each worker gets
max(1, cores / N) inference threads, as a CPU limit of that size gives it.

The machine may be shared: the load average before and after is recorded, and throughput
from a busy machine is low and noisy; the CPU cost per image is the steadier number.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.images import SIZES, make
from bench.loopback import Service, Worker, start_service
from bench.machine import load_average, machine_info
from bench.service import loaded_models, pipeline_ms, summary, wait_all, warm_up
from worker.models.cpu import usable_cpus

SIZE = "1024"
PRESET = "balanced"
RESULTS = Path("bench/results/workers.json")
MB = 1024 * 1024
PROJECTED_CORES = (4, 8)


def worker_processes(worker: Worker) -> list[psutil.Process]:
    parent = psutil.Process(worker.process.pid)
    return [parent, *parent.children(recursive=True)]


def cpu_seconds(workers: list[Worker]) -> float:
    """User + system CPU time of every worker process so far."""
    total = 0.0
    for worker in workers:
        for process in worker_processes(worker):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def memory_mb(worker: Worker) -> dict[str, float]:
    """RSS and PSS (shared pages split between the processes sharing them) of parent + child."""
    rss = pss = 0.0
    for process in worker_processes(worker):
        info = process.memory_full_info()
        rss, pss = rss + info.rss / MB, pss + info.pss / MB
    return {"rss_mb": round(rss, 1), "pss_mb": round(pss, 1)}


def measure(service: Service, image: bytes, count: int, burst: int) -> dict[str, Any]:
    """A burst on `count` warm workers: throughput, CPU per image, memory per worker."""
    threads = max(1, usable_cpus() // count)
    env = {"CUTOUT_INFERENCE_THREADS": str(threads)}
    workers = [service.start_worker(n, env=env) for n in range(1, count + 1)]
    try:
        for worker in workers:
            service.wait_ready(worker)
        warm_up(service, image, count)
        cpu_before, started = cpu_seconds(workers), time.time()
        ids = [service.submit(image, preset=PRESET).id for _ in range(burst)]
        jobs = wait_all(service, ids)
        span = max(job.finished_at or 0.0 for job in jobs) - started
        cpu = cpu_seconds(workers) - cpu_before
        memory = [memory_mb(worker) for worker in workers]
        models = loaded_models(workers)
    finally:
        for worker in workers:
            service.stop_worker(worker)
    peaks: dict[str, float] = {}
    for job in jobs:
        name = (job.worker or {}).get("name", "?")
        peaks[name] = max(peaks.get(name, 0.0), float((job.worker or {}).get("peak_rss_mb", 0)))
    return {
        "workers": count,
        "threads_per_worker": threads,
        "jobs": burst,
        "failed": [job.id for job in jobs if job.status != "succeeded"],
        "seconds": round(span, 2),
        "images_per_s": round(burst / span, 2),
        "cpu_seconds_per_image": round(cpu / burst, 3),
        "pipeline_ms": summary([pipeline_ms(job) for job in jobs]),
        "memory_after_burst": memory,
        "child_peak_rss_mb": sorted(peaks.values()),
        "model": models,
    }


def projections(rows: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    """What C cores would give: at most C / (CPU s per image), and that ceiling scaled by the
    efficiency measured here (low when other work shares the machine)."""
    best = max(rows, key=lambda row: row["images_per_s"])
    cost = best["cpu_seconds_per_image"]
    efficiency = best["images_per_s"] / (cores / cost)
    counts = (cores, *PROJECTED_CORES)
    return {
        "from_workers": best["workers"],
        "cpu_seconds_per_image": cost,
        "images_per_core_second": round(1 / cost, 2),
        "efficiency_on_this_machine": round(efficiency, 2),
        "ceiling_images_per_s": {str(c): round(c / cost, 1) for c in counts},
        "images_per_s": {str(c): round(c / cost * efficiency, 1) for c in counts},
    }


def print_table(results: dict[str, Any]) -> None:
    print("| workers | threads each | images/s | CPU s / image | PSS per worker (MB) |")
    print("| --- | --- | --- | --- | --- |")
    for row in results["rows"]:
        pss = max(m["pss_mb"] for m in row["memory_after_burst"])
        print(
            f"| {row['workers']} | {row['threads_per_worker']} | {row['images_per_s']} "
            f"| {row['cpu_seconds_per_image']} | {pss} |"
        )
    print(json.dumps(results["projection"], indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=24, help="jobs per measurement")
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 3], help="worker counts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    image = make(SIZE, Path("bench/images")).read_bytes()
    started = time.time()
    results: dict[str, Any] = {
        "command": " ".join(["python -m bench.workers", *(argv or sys.argv[1:])]),
        "image": f"{SIZES[SIZE][0]}x{SIZES[SIZE][1]} JPEG ({len(image) // 1024} KB), {PRESET}",
        "machine": machine_info(),
        "load_average_before": load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="cutout-bench-") as folder:
        service = start_service(Path(folder))
        try:
            results["rows"] = [measure(service, image, n, args.burst) for n in args.counts]
        finally:
            service.stop()
    results["load_average_after"] = load_average()
    results["projection"] = projections(results["rows"], usable_cpus())
    results["wall_seconds"] = round(time.time() - started, 1)
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
