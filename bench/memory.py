"""Peak memory of the whole worker (Celery parent + pool child) per input size and preset.

    .venv/bin/python -m bench.memory [--quick] [--sizes 512 1024 ...] [--presets fast ...]

For every size x preset a fresh worker starts in its own cgroup v1 memory group (limit 512
MB, as a container would give it) and runs full-resolution PNG cutouts of a generated photo
(bench/images.py) submitted through the API (bench/loopback.py). The group's view counts pages
shared by the parent and the child once; the sum of their VmHWM is the naive upper bound.
Prints a markdown table and writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.cgroup import MB, MemoryGroup, Peaks, Sampler, proc_status_kb, unavailable_reason
from bench.images import SIZES, make
from bench.loopback import Service, Worker, model_loads, start_service
from bench.machine import load_average
from bench.service import pipeline_ms
from shared.jobs import Job
from shared.settings import get_settings

LIMIT_MB = 512
RESULTS = Path("bench/results/memory.json")
PRESETS = ["fast", "balanced", "best"]
# worker/celery_app.py logs its budget (worker/resources.py) with this in it.
BUDGET_MESSAGE = "accepting up to"
# MB of the cgroup's peak anonymous memory (see headline_mb), from the issue.
TARGETS_MB = {
    ("1024", "fast"): 300,
    ("1024", "balanced"): 400,
    ("25mp", "fast"): 450,
    ("25mp", "balanced"): 450,
    ("25mp", "best"): 450,
}


def mb(value: float) -> float:
    return round(value / MB, 1)


def headline_mb(cgroup: dict[str, Any] | None, vmhwm_sum_mb: float) -> float:
    """The figure held against the targets: the group's sampled peak of anonymous memory.

    Without a memory group, the naive VmHWM sum (an upper bound) is all there is.
    """
    return float(cgroup["peak_rss_mb"]) if cgroup else vmhwm_sum_mb


def verdict(size: str, preset: str, peak_mb: float, problems: list[str]) -> str:
    """pass / FAIL against the size's target; any failed or retried job fails the row."""
    if problems:
        return "FAIL"
    target = TARGETS_MB.get((size, preset))
    if target is None:
        return "-"
    return "pass" if peak_mb <= target else "FAIL"


def problems_of(jobs: list[Job], oom_kills: int) -> list[str]:
    """Failed jobs, redeliveries (a killed child) and OOM kills, in words."""
    found = [f"{job.id}: {job.status} {job.error}" for job in jobs if job.status != "succeeded"]
    found += [f"{job.id}: delivered {job.attempts}x" for job in jobs if job.attempts > 1]
    found += [f"{job.id}: {job.interruptions} interruptions" for job in jobs if job.interruptions]
    if oom_kills:
        found.append(f"{oom_kills} OOM kill(s) in the group")
    return found


def run_job(service: Service, image: bytes, preset: str) -> Job | str:
    """One full-resolution PNG cutout; a refused submission comes back as its message."""
    try:
        sent = service.submit(image, preset=preset, mode="cutout", format="png")
    except RuntimeError as exc:  # e.g. 413: the worker's memory budget refuses the size
        return str(exc)
    service.wait_seen(sent.id, interval=0.02, timeout=600)
    return service.record(sent.id)


def cgroup_figures(group: MemoryGroup, idle: dict[str, int], peaks: Peaks) -> dict[str, Any]:
    after = group.stat()
    return {
        "max_usage_mb": mb(group.number("memory.max_usage_in_bytes")),
        "peak_rss_mb": mb(peaks.rss),
        "peak_usage_sampled_mb": mb(peaks.usage),
        "cache_at_peak_usage_mb": mb(peaks.cache_at_usage_peak),
        "idle_rss_mb": mb(idle.get("rss", 0)),
        "after_rss_mb": mb(after.get("rss", 0)),
        "after_cache_mb": mb(after.get("cache", 0)),
        "after_mapped_file_mb": mb(after.get("mapped_file", 0)),
        "after_shmem_mb": mb(after.get("shmem", 0)),
        "failcnt": group.number("memory.failcnt"),
        "oom_kills": group.oom_kills(),
        "samples": peaks.samples,
    }


def measure_worker(
    service: Service, worker: Worker, group: MemoryGroup | None, image: bytes, preset: str, n: int
) -> dict[str, Any]:
    """Run `n` jobs on a ready worker and read its memory while it still lives."""
    time.sleep(0.3)  # let the freshly forked pool child settle before the idle reading
    idle = group.stat() if group else {}
    sampler = Sampler(group) if group else None
    jobs = []
    with sampler or contextlib.nullcontext():
        for _ in range(n):
            jobs.append(run_job(service, image, preset))
    parent = proc_status_kb(worker.process.pid)
    child = _status_or_empty(_pool_child(worker))
    done = [job for job in jobs if isinstance(job, Job)]
    peaks = [(job.worker or {}).get("peak_rss_mb", 0.0) for job in done]
    figures: dict[str, Any] = {
        "jobs": done,
        "refused": [job for job in jobs if isinstance(job, str)],
        "parent_hwm_mb": kb_to_mb(parent.get("VmHWM", 0)),
        "parent_rss_anon_mb": kb_to_mb(parent.get("RssAnon", 0)),
        "parent_rss_file_mb": kb_to_mb(parent.get("RssFile", 0)),
        # Each job records its child's ru_maxrss: the child's VmHWM even if it was replaced.
        "child_hwm_mb": max(peaks, default=0.0),
        "child_rss_file_mb": kb_to_mb(child.get("RssFile", 0)),
    }
    if group and sampler:
        figures["cgroup"] = cgroup_figures(group, idle, sampler.peaks)
    return figures


def kb_to_mb(value: int) -> float:
    return round(value / 1024, 1)


def _pool_child(worker: Worker) -> int | None:
    """The pid of the worker's pool child (None while it is being replaced)."""
    children = psutil.Process(worker.process.pid).children()
    return children[0].pid if children else None


def _status_or_empty(pid: int | None) -> dict[str, int]:
    try:
        return proc_status_kb(pid) if pid else {}
    except FileNotFoundError:
        return {}


def budget_line(log: Path) -> str | None:
    """What the worker logged about its memory limit and the inputs it accepts, if it did."""
    for line in log.read_text(errors="replace").splitlines():
        if BUDGET_MESSAGE in line:
            return line[line.find("memory limit") :].strip()
    return None


def measure(
    service: Service, size: str, preset: str, jobs: int, group: MemoryGroup | None
) -> dict[str, Any]:
    """One size x preset on a fresh worker (in `group` when there is one)."""
    image = make(size, Path("bench/images")).read_bytes()
    worker = service.start_worker(1, wrapper=group.wrapper() if group else ())
    try:
        service.wait_ready(worker)
        figures = measure_worker(service, worker, group, image, preset, jobs)
    finally:
        service.stop_worker(worker)
    figures["worker_budget"] = budget_line(worker.log)
    # A child whose peak RSS passed worker_max_memory_per_child is replaced after its job;
    # the next child loads the model again.
    figures["model_loads"] = model_loads(worker.log.read_text(errors="replace"))
    done: list[Job] = figures.pop("jobs")
    cgroup = figures.get("cgroup")
    problems = figures.pop("refused") + problems_of(done, cgroup["oom_kills"] if cgroup else 0)
    vmhwm_sum = round(figures["parent_hwm_mb"] + figures["child_hwm_mb"], 1)
    peak = headline_mb(cgroup, vmhwm_sum)
    width, height = SIZES[size]
    return {
        "size": size,
        "pixels": f"{width}x{height}",
        "preset": preset,
        "jobs": jobs,
        "succeeded": sum(job.status == "succeeded" for job in done),
        "pipeline_ms": round(statistics.median([pipeline_ms(job) for job in done] or [0])),
        **figures,
        "vmhwm_sum_mb": vmhwm_sum,
        "peak_mb": peak,
        "target_mb": TARGETS_MB.get((size, preset)),
        "verdict": verdict(size, preset, peak, problems),
        "problems": problems,
    }


def measure_in_group(
    service: Service, size: str, preset: str, jobs: int, name: str | None, limit_mb: int
) -> dict[str, Any]:
    """`measure` inside a fresh memory group called `name` (None: no group), removed after."""
    group = MemoryGroup.create(name, limit_mb * MB) if name else None
    try:
        return measure(service, size, preset, jobs, group)
    finally:
        if group:
            group.remove()


def print_table(rows: list[dict[str, Any]], cgroup_note: str | None) -> None:
    print("\nPeak memory of the whole worker, full-resolution PNG cutout (MB)\n")
    if cgroup_note:
        print(f"(no memory cgroup: {cgroup_note}; only the VmHWM sums are measured)\n")
    head = "| size | preset | peak anon (cgroup) | max_usage (cgroup, incl. cache) | idle anon "
    head += "| after-job anon | parent HWM | child HWM | HWM sum | failcnt | OOM "
    head += "| model loads | target | result |"
    print(head + "\n|" + " --- |" * 14)
    for row in rows:
        cg = row.get("cgroup") or {}
        cells = [row["size"], row["preset"], cg.get("peak_rss_mb", "-")]
        cells += [cg.get("max_usage_mb", "-"), cg.get("idle_rss_mb", "-")]
        cells += [cg.get("after_rss_mb", "-"), row["parent_hwm_mb"], row["child_hwm_mb"]]
        cells += [row["vmhwm_sum_mb"], cg.get("failcnt", "-"), cg.get("oom_kills", "-")]
        cells += [len(row["model_loads"])]
        cells += [row["target_mb"] or "-", row["verdict"]]
        print("| " + " | ".join(str(cell) for cell in cells) + " |")
    for row in rows:
        for problem in row["problems"]:
            print(f"problem: {row['size']} {row['preset']}: {problem}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1024 and 25mp, one job each")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES))
    parser.add_argument("--presets", nargs="+", choices=PRESETS)
    parser.add_argument("--jobs", type=int, help="jobs per configuration (2; quick: 1)")
    parser.add_argument("--limit-mb", type=int, default=LIMIT_MB, help="the group's limit")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.sizes = args.sizes or (["1024", "25mp"] if args.quick else list(SIZES))
    args.presets = args.presets or PRESETS
    args.jobs = args.jobs or (1 if args.quick else 2)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    note = unavailable_reason()
    settings = get_settings()
    results: dict[str, Any] = {
        "command": " ".join(["python -m bench.memory", *sys.argv[1:]]),
        "cgroup": note or f"v1 memory group per configuration, limit {args.limit_mb} MB",
        "headline": "peak anon = highest memory.stat rss sampled every 5 ms (no page cache)",
        "worker_settings": {
            "worker_max_memory_per_child_mb": settings.worker_max_memory_per_child_mb,
            "worker_max_tasks_per_child": settings.worker_max_tasks_per_child,
            "inference_threads": settings.inference_threads,
            "max_megapixels": settings.max_megapixels,
        },
        "load_average_before": load_average(),
    }
    started, rows = time.time(), []
    with tempfile.TemporaryDirectory(prefix="cutout-bench-") as folder:
        service = start_service(Path(folder))
        try:
            for index, (size, preset) in enumerate(
                (size, preset) for size in args.sizes for preset in args.presets
            ):
                name = None if note else f"cutout-bench-{os.getpid()}-{index}"
                rows.append(measure_in_group(service, size, preset, args.jobs, name, args.limit_mb))
                print(f"{size} {preset}: {rows[-1]['peak_mb']} MB", flush=True)
        finally:
            service.stop()
    results |= {"rows": rows, "load_average_after": load_average()}
    results["wall_seconds"] = round(time.time() - started, 1)
    print_table(rows, note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    failed = [row for row in rows if row["succeeded"] < row["jobs"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
