"""A catalog through the service (batch API, and `cutout catalog`) against `cutout batch`.

    .venv/bin/python -m bench.catalog [--images 200] [--preset fast]

One folder of 1024 px JPEGs (bench/cli_batch.make_folder), one run of each path in the
same session, images/s for each, and the service's share of `cutout batch`'s images/s:

- `cutout batch IN OUT --preset P`: in-process, start-up included (run before and after
  the service paths; their mean is the baseline, so drifting load hits both sides).
- batch API: redis + gunicorn API + one Celery worker (as `make run`), images POSTed in
  chunks to an open batch, closed, waited on, results.zip downloaded; start-up excluded
  (the service is already running), from the first POST to the last byte of the zip.
- `cutout catalog IN OUT --server URL -o preset=P`: the client command, whole.
- interactive wait: a single job sent while a batch runs: its queue wait against the
  median item's processing time (the priority mechanism's bound is one item).

`rembg p` joins the comparison when .venv-bench exists (bench/rembg_env.sh builds it).
Where the service's time goes is read from the item records: the worker's per-job stage
timings (the mask PNG encode and the stores included) and the gaps between one job's end
and the next one's start on the worker. Writes bench/results/catalog.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cli_batch import make_folder
from bench.loopback import Service, start_service
from bench.machine import load_average, machine_info
from bench.pipeline import run_child
from bench.rembg_runner import REMBG_CLI, offline_prefix, rembg_env, rembg_missing
from shared.jobs import Job
from shared.keys import KeyStore
from tests.integration.stack import http
from tests.processes import wait_until

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "catalog.json"
CLI = [sys.executable, "-c", "from cutout.cli.main import cli; cli()"]
CHUNK = 20


def time_cutout_batch(folder: Path, out: Path, preset: str) -> dict[str, Any]:
    child = run_child([*CLI, "batch", str(folder), str(out), "--preset", preset])
    written = len(list(out.glob("*.png")))
    return {"seconds": round(child.seconds, 2), "written": written, "exit": child.returncode}


def time_rembg(folder: Path, out: Path) -> dict[str, Any] | None:
    missing = rembg_missing() or (None if REMBG_CLI.exists() else f"no {REMBG_CLI}")
    if missing:
        print(f"rembg skipped: {missing}", flush=True)
        return None
    argv = [*offline_prefix(), str(REMBG_CLI), "p", "-m", "u2netp", str(folder), str(out)]
    child = run_child(argv, env=rembg_env())
    return {"seconds": round(child.seconds, 2), "written": len(list(out.glob("*.png")))}


def tenant_key(service: Service, tenant: str) -> dict[str, str]:
    """An API key of its own tenant per path: identical images are processed once per tenant
    (deduplication), so each path must not reuse another path's results."""
    key, _ = KeyStore(service.client).create(tenant)
    return {"Authorization": f"Bearer {key}"}


def post(service: Service, path: str, fields: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = http.request("POST", f"{service.base_url}{path}", fields=fields, headers=headers)
    if response.status >= 300:
        raise RuntimeError(f"{path}: {response.status} {response.data[:300]!r}")
    return response.json()


def run_api(service: Service, images: list[Path], preset: str, out: Path) -> dict[str, Any]:
    """The batch API path: chunks to an open batch, close, wait, stream the results zip."""
    key = tenant_key(service, "bench-api")
    start = time.perf_counter()
    batch = post(service, "/v1/batches", {"stay_open": "true", "preset": preset}, key)
    for n in range(0, len(images), CHUNK):
        chunk = images[n : n + CHUNK]
        files = [("images", (p.name, p.read_bytes(), "image/jpeg")) for p in chunk]
        post(service, f"/v1/batches/{batch['id']}/items", files, key)
    post(service, f"/v1/batches/{batch['id']}/close", {}, key)
    url = f"{service.base_url}/v1/batches/{batch['id']}"
    done = lambda: http.request("GET", url, headers=key).json()["status"] == "completed"  # noqa: E731
    wait_until(done, 900, 0.2)
    response = http.request("GET", f"{url}/results.zip", preload_content=False, headers=key)
    size = 0
    with (out / "results.zip").open("wb") as target:
        for chunk in response.stream(1 << 20):
            size += target.write(chunk)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "zip_bytes": size, "batch_id": batch["id"]}


def run_client(service: Service, folder: Path, preset: str, out: Path) -> dict[str, Any]:
    argv = [*CLI, "catalog", str(folder), str(out), "--server", service.base_url]
    key = tenant_key(service, "bench-client")["Authorization"].removeprefix("Bearer ")
    child = run_child([*argv, "-o", f"preset={preset}", "--api-key", key])
    written = len(list(out.glob("*.png")))
    return {"seconds": round(child.seconds, 2), "written": written, "exit": child.returncode}


def item_records(service: Service, batch_id: str) -> list[Job]:
    ids = service.client.lrange(f"cutout:batch:{batch_id}:items", 0, -1)
    return [service.record(raw.decode()) for raw in ids]


def where_time_goes(jobs: list[Job]) -> dict[str, Any]:
    """Per item on the worker: stage timings, busy time, and the gap before the next job."""
    ordered = sorted(
        (j for j in jobs if j.started_at and j.finished_at), key=lambda j: j.started_at
    )
    busy = [(j.finished_at - j.started_at) * 1000 for j in ordered]  # type: ignore[operator]
    gaps = [
        (b.started_at - a.finished_at) * 1000  # type: ignore[operator]
        for a, b in zip(ordered, ordered[1:], strict=False)
    ]
    stages: dict[str, list[float]] = {}
    for job in ordered:
        for name, ms in (job.timings_ms or {}).items():
            stages.setdefault(name, []).append(ms)
    return {
        "items": len(ordered),
        "busy_ms_median": round(statistics.median(busy), 1),
        "gap_ms_median": round(statistics.median(gaps), 1) if gaps else None,
        "stage_ms_median": {k: round(statistics.median(v), 1) for k, v in stages.items()},
    }


def interactive_wait(service: Service, images: list[Path], preset: str) -> dict[str, Any]:
    """A single job sent behind a running batch: its wait against one item's processing."""
    fields = [("images", (p.name, p.read_bytes(), "image/jpeg")) for p in images]
    key = tenant_key(service, "bench-interactive")
    batch = post(service, "/v1/batches", [*fields, ("preset", preset)], key)
    first = batch["added"][0]["job_id"]
    wait_until(lambda: service.record(first).status.value != "queued", 120, 0.01)
    single = service.submit(images[0].read_bytes(), preset=preset)
    service.store.wait(single.id, 120)
    job = service.record(single.id)
    items = item_records(service, batch["id"])
    http.request("DELETE", f"{service.base_url}/v1/batches/{batch['id']}", headers=key)
    busy = [(j.finished_at - j.started_at) * 1000 for j in items if j.finished_at and j.started_at]
    wait_ms = (job.started_at - job.created_at) * 1000  # type: ignore[operator]
    queued_behind = sum(1 for j in items if j.started_at is None or j.started_at > job.started_at)
    return {
        "batch_items": len(items),
        "items_still_queued_when_it_started": queued_behind,
        "single_job_wait_ms": round(wait_ms, 1),
        "item_processing_ms_median": round(statistics.median(busy), 1),
        "wait_over_one_item": round(wait_ms / statistics.median(busy), 2),
    }


def measure(count: int, preset: str) -> dict[str, Any]:
    folder = make_folder(count)
    images = sorted(folder.glob("*.jpg"))
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        runs["cutout_batch_before"] = time_cutout_batch(folder, work / "b1", preset)
        print("cutout batch:", runs["cutout_batch_before"], flush=True)
        service = start_service(work / "service")
        try:
            worker = service.start_worker(1)
            service.wait_ready(worker, timeout=120)
            warm = service.submit(images[0].read_bytes(), preset=preset)
            service.store.wait(warm.id, 120)
            (work / "api").mkdir()
            runs["batch_api"] = run_api(service, images, preset, work / "api")
            print("batch API:", runs["batch_api"], flush=True)
            runs["where_time_goes"] = where_time_goes(
                item_records(service, runs["batch_api"]["batch_id"])
            )
            runs["client"] = run_client(service, folder, preset, work / "client")
            print("cutout catalog:", runs["client"], flush=True)
            runs["interactive"] = interactive_wait(service, images[:60], preset)
            print("interactive:", runs["interactive"], flush=True)
        finally:
            service.stop()
        runs["cutout_batch_after"] = time_cutout_batch(folder, work / "b2", preset)
        runs["rembg"] = time_rembg(folder, work / "rembg")
    return {"folder": str(folder.relative_to(ROOT)), "images": count, **runs}


def ratios(document: dict[str, Any]) -> dict[str, Any]:
    count = document["images"]
    baseline = statistics.mean(
        [document["cutout_batch_before"]["seconds"], document["cutout_batch_after"]["seconds"]]
    )
    speed = {"cutout_batch": count / baseline}
    for name in ("batch_api", "client", "rembg"):
        if document.get(name):
            speed[name] = count / document[name]["seconds"]
    return {
        "images_per_second": {k: round(v, 2) for k, v in speed.items()},
        "share_of_cutout_batch": {
            k: round(v / speed["cutout_batch"], 3) for k, v in speed.items() if k != "cutout_batch"
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    machine = machine_info()
    document = measure(args.images, args.preset)
    machine["load_average_at_end"] = load_average()
    document = {
        "command": " ".join(["python -m bench.catalog", *sys.argv[1:]]),
        "machine": machine,
        "preset": args.preset,
        **document,
        **ratios(document),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps({k: document[k] for k in ("images_per_second", "share_of_cutout_batch")}))


if __name__ == "__main__":
    main()
