"""rembg's HTTP server against our service on the same photos: latency, throughput, memory.

    .venv/bin/python -m bench.server_compare [--requests 20] [--size 1024]

rembg: `rembg s --no-ui` from .venv-bench on loopback (our u2netp copy, see
bench/rembg_runner.py; its proxy variables point at a closed port, so it cannot
download), `POST /api/remove` with the photo and `model=u2netp`; the PNG comes back.
Ours: redis-server, the API under gunicorn and one worker, started as `make run` does
(bench/loopback.py), `POST /api/remove-background` (the rembg-style route that waits for
the job and answers with the PNG), with the worker's default preset `fast`, then `balanced`.

Each server gets the same photos: one warm-up request, then `--requests` sequential ones
(latency) and the same number from two clients at once (throughput). Memory is read from
/proc after the requests: every process of each side (rembg: one; ours: gunicorn's master
and workers, the Celery parent and child, redis-server), as proportional set size (PSS:
pages shared between processes counted once in total) and as each process's peak resident
set (VmHWM, which counts shared pages in every process that maps them: an upper bound).
rembg's figure after two requests is kept apart, as the issue quoted it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import urllib3

from bench.cgroup import proc_status_kb
from bench.images import SIZES, make
from bench.loopback import Service, start_service
from bench.machine import load_average, machine_info
from bench.rembg_runner import REMBG_CLI, rembg_env, rembg_missing
from tests.processes import answers_http, free_port, start_process, stop_process, wait_until

RESULTS = Path("bench/results/server_compare.json")
http = urllib3.PoolManager(maxsize=4, timeout=urllib3.Timeout(connect=5, read=300))
CLIENTS = 2
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there


def post(url: str, image: bytes, field: str, **form: str) -> float:
    """One request; its wall time in ms. Raises unless the answer is a PNG."""
    start = time.perf_counter()
    response = http.request("POST", url, fields={field: ("photo.jpg", image, "image/jpeg"), **form})
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200 or not response.data.startswith(b"\x89PNG"):
        raise RuntimeError(f"{url} answered {response.status}: {response.data[:200]!r}")
    return elapsed


def tree_memory(root_pids: list[int]) -> dict[str, Any]:
    """PSS summed over the processes and their descendants, and their VmHWM sum, in MB."""
    processes: dict[int, psutil.Process] = {}
    for pid in root_pids:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            processes[process.pid] = process
    pss = hwm = 0
    names = []
    for process in processes.values():
        try:
            pss += process.memory_full_info().pss
            hwm += proc_status_kb(process.pid).get("VmHWM", 0) * 1024
            names.append(process.name())
        except (psutil.NoSuchProcess, FileNotFoundError):
            continue
    return {"processes": sorted(names), "pss_mb": _mb(pss), "vmhwm_sum_mb": _mb(hwm)}


def _mb(value: float) -> float:
    return round(value / 2**20, 1)


def measure(send: Any, images: list[bytes], requests: int) -> dict[str, Any]:
    """Sequential latency over `requests`, then throughput with CLIENTS at once."""
    latencies = [send(images[i % len(images)]) for i in range(requests)]
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send, [images[i % len(images)] for i in range(requests)]))
    wall = time.perf_counter() - start
    return {
        "latency_ms": {
            "median": round(statistics.median(latencies), 1),
            "min": round(min(latencies), 1),
            "max": round(max(latencies), 1),
            "n": len(latencies),
        },
        "throughput_per_s": round(requests / wall, 2),
    }


def run_rembg(images: list[bytes], requests: int, folder: Path) -> dict[str, Any]:
    port = free_port()
    command = [str(REMBG_CLI), "s", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    # A server cannot run in `unshare -n` (its loopback would not be ours); a proxy that
    # refuses every connection makes any download attempt fail instead.
    no_downloads = {"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "NO_PROXY": ""}
    process = start_process(command, {**rembg_env(), **no_downloads}, folder / "rembg.log")
    url = f"http://127.0.0.1:{port}/api/remove"
    try:

        def tail() -> str:
            return (folder / "rembg.log").read_text(errors="replace")[-2000:]

        ready = f"http://127.0.0.1:{port}/api"
        wait_until(lambda: answers_http(ready, {"rembg s": process}, tail), 120, 0.2)

        def send(image: bytes) -> float:
            return post(url, image, "file", model="u2netp")

        send(images[0])
        send(images[1 % len(images)])
        after_two = tree_memory([process.pid])
        result = measure(send, images, requests)
        result["memory_after_two_requests"] = after_two
        result["memory"] = tree_memory([process.pid])
        return result
    finally:
        stop_process(process, timeout=15)


def run_ours(images: list[bytes], requests: int, folder: Path, preset: str) -> dict[str, Any]:
    service: Service = start_service(folder / preset)
    try:
        worker = service.start_worker(1, env={"CUTOUT_PRESET": preset})
        service.wait_ready(worker)
        url = f"{service.base_url}/api/remove-background"

        def send(image: bytes) -> float:
            return post(url, image, "image")

        send(images[0])
        send(images[1 % len(images)])
        result = measure(send, images, requests)
        pids = [service.api.pid, worker.process.pid, service.redis.process.pid]
        result["memory"] = tree_memory(pids)
        result["worker_memory"] = tree_memory([worker.process.pid])
        return result
    finally:
        service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--size", choices=list(SIZES), default="1024")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    missing = rembg_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    images = [make(args.size, Path("bench/images")).read_bytes()]
    start_load = load_average()
    with tempfile.TemporaryDirectory(prefix="cutout-servers-") as tmp:
        folder = Path(tmp)
        rows = {
            "rembg s (u2netp)": run_rembg(images, args.requests, folder),
            "cutout, preset fast": run_ours(images, args.requests, folder, "fast"),
            "cutout, preset balanced": run_ours(images, args.requests, folder, "balanced"),
        }
    result = {
        "command": " ".join(["python -m bench.server_compare", *(argv or sys.argv[1:])]),
        "machine": machine_info(),
        "load_average": {"start": start_load, "end": load_average()},
        "size": args.size,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print_table(rows)
    return 0


def print_table(rows: dict[str, Any]) -> None:
    rembg = rows["rembg s (u2netp)"]
    print(
        "| server | latency ms (median, min-max) | vs rembg | images/s, 2 clients | vs rembg "
        "| PSS MB (all processes) | vs rembg | VmHWM sum MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, row in rows.items():
        latency = row["latency_ms"]
        cells = [
            name,
            f"{latency['median']} ({latency['min']}-{latency['max']})",
            f"{latency['median'] / rembg['latency_ms']['median']:.2f}x",
            row["throughput_per_s"],
            f"{row['throughput_per_s'] / rembg['throughput_per_s']:.2f}x",
            row["memory"]["pss_mb"],
            f"{row['memory']['pss_mb'] / rembg['memory']['pss_mb']:.2f}x",
            row["memory"]["vmhwm_sum_mb"],
        ]
        print("| " + " | ".join(map(str, cells)) + " |")


if __name__ == "__main__":
    sys.exit(main())
