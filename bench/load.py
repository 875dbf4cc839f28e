"""A bounded load test on loopback: many submissions from several tenants against 2 workers.

    .venv/bin/python -m bench.load [--submissions 1000] [--tenants 5] [--clients 16]
        [--rate-limit-submit 60/minute] [--max-queue-depth 50] [--deadline 900] [--tiny-model]

Starts redis-server, the API under gunicorn with API keys required and two Celery workers
(bench/loopback.py, as `make run` starts them), makes one key per tenant (shared.keys),
then submits small generated photos with the `fast` preset from `--clients` threads. A
refused submission (429 rate limit, 503 back-pressure) is counted and sent again after its
Retry-After (at most `--max-retry-wait` s), as a well-behaved client would, until the
deadline. Then it waits for every accepted job to end and checks:

- every accepted job ends (`lost` counts those that did not by the deadline);
- none ran twice: each record was started once (`attempts == 1`, no reaper re-send) and
  the workers' logs show one task execution per job (each execution writes the result once);
- submit latency p50/p99, throughput and the count of each answer.

Results go to bench/results/load.json with the machine's load average: the machine is
shared, so the latencies are indicative; the counts are exact.

A plain threaded client (urllib3) rather than locust: the numbers needed are a fixed number
of submissions, exact per-status counts and a join on every job's end in Redis, which a
script states in a few lines, and locust is not among the project's dependencies.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.load_client import IMAGE_SIZE, Answers, submit_all
from bench.loopback import Service, start_service
from bench.machine import load_average, machine_info
from bench.service import percentile
from shared.jobs import KEY_PREFIX, Job
from shared.keys import KeyStore

RESULTS = Path("bench/results/load.json")
TERMINAL = {"succeeded", "failed", "canceled"}


@dataclass
class LoadConfig:
    submissions: int = 1000
    tenants: int = 5
    clients: int = 16
    workers: int = 2
    deadline: float = 900.0  # seconds for the whole run, submissions and jobs
    max_retry_wait: float = 5.0
    # Passed to the API as CUTOUT_RATE_LIMIT_SUBMIT / CUTOUT_MAX_QUEUE_DEPTH when given.
    rate_limit_submit: str | None = None
    max_queue_depth: int | None = None
    # An ONNX file instead of the preset's model (CUTOUT_MODEL), e.g. the tests' tiny one.
    model: str | None = None


def _environment(config: LoadConfig) -> dict[str, str]:
    env = {"CUTOUT_AUTH": "required", "CUTOUT_PRESET": "fast"}
    if config.rate_limit_submit is not None:
        env["CUTOUT_RATE_LIMIT_SUBMIT"] = config.rate_limit_submit
    if config.max_queue_depth is not None:
        env["CUTOUT_MAX_QUEUE_DEPTH"] = str(config.max_queue_depth)
    if config.model is not None:
        env["CUTOUT_MODEL"] = config.model
    return env


@contextlib.contextmanager
def _os_environ(overrides: dict[str, str]) -> Iterator[None]:
    # bench.loopback builds the children's environment from os.environ.
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def wait_for_jobs(service: Service, job_ids: Sequence[str], stop_at: float) -> dict[str, Job]:
    """The records of the jobs, once all ended or the deadline passed (unfinished included)."""
    records: dict[str, Job] = {}
    pending = list(job_ids)
    while pending:
        keys = [f"{KEY_PREFIX}job:{job_id}" for job_id in pending]
        for job_id, raw in zip(pending, service.client.mget(keys), strict=True):
            if raw:
                records[job_id] = Job.from_json(raw)
        pending = [i for i in pending if i not in records or records[i].status not in TERMINAL]
        if not pending or time.monotonic() > stop_at:
            break
        time.sleep(0.5)
    return records


def executions(service_folder: Path) -> Counter[str]:
    """Task executions per Celery task id, from every worker log ("Task ... succeeded")."""
    counted: Counter[str] = Counter()
    for log in service_folder.glob("worker*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if "Task cutout.process[" in line and "] succeeded in" in line:
                counted[line.split("cutout.process[", 1)[1].split("]", 1)[0]] += 1
    return counted


def tally(
    answers: Answers, records: dict[str, Job], runs: Counter[str], seconds: dict[str, float]
) -> dict[str, Any]:
    """The result document: answers, outcomes, duplicates, lost, latencies, throughput."""
    accepted = list(answers.accepted)
    statuses = Counter(records[i].status.value for i in accepted if i in records)
    lost = [i for i in accepted if i not in records or records[i].status.value not in TERMINAL]
    twice = [i for i in accepted if i in records and records[i].attempts > 1]
    resent = [i for i in accepted if i in records and records[i].resends > 0]
    task_ids = {records[i].task_id for i in accepted if i in records}
    repeated = {task: n for task, n in runs.items() if task in task_ids and n > 1}
    latencies = answers.latencies_ms
    finished = [r.finished_at for r in records.values() if r.finished_at]
    created = [r.created_at for r in records.values()]
    span = (max(finished) - min(created)) if finished and created else 0.0
    return {
        "requests": sum(answers.statuses.values()),  # every POST, retries included
        "answers_by_status": {str(k): v for k, v in sorted(answers.statuses.items())},
        "refusals_by_code": dict(answers.codes),
        "rate_limited_429": answers.statuses.get(429, 0),
        "back_pressure_503": answers.statuses.get(503, 0),
        "accepted_jobs": len(accepted),
        "never_accepted": answers.unsent,
        "jobs_by_status": dict(statuses),
        "lost": len(lost),
        "ran_twice": len(twice) + len(repeated),
        "resent_by_reaper": len(resent),
        "task_executions": sum(runs[t] for t in task_ids if t),
        "submit_latency_ms": {
            "p50": round(percentile(latencies, 50), 1) if latencies else None,
            "p99": round(percentile(latencies, 99), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
        },
        "job_pipeline_ms_p50": _median_pipeline_ms([records[i] for i in accepted if i in records]),
        "seconds": {name: round(value, 1) for name, value in seconds.items()},
        "throughput_jobs_per_s": round(len(finished) / span, 2) if span else None,
        "submit_rate_per_s": round(len(accepted) / seconds["submitting"], 2)
        if seconds.get("submitting")
        else None,
        "examples": {"lost": lost[:5], "ran_twice": twice[:5]},
    }


def _median_pipeline_ms(jobs: Sequence[Job]) -> float | None:
    """The median of each job's own stage timings (its work, without queueing)."""
    totals = [sum(job.timings_ms.values()) for job in jobs if job.timings_ms]
    return round(percentile(totals, 50), 1) if totals else None


def run_load(config: LoadConfig, folder: Path) -> dict[str, Any]:
    """Start the service, run the load, stop everything; the result document."""
    stop_at = time.monotonic() + config.deadline
    started_load = load_average()
    with _os_environ(_environment(config)):
        service = start_service(folder)
    try:
        workers = [service.start_worker(n) for n in range(1, config.workers + 1)]
        for worker in workers:
            service.wait_ready(worker, timeout=120)
        store = KeyStore(service.client)
        keys = [(f"tenant{n}", store.create(f"tenant{n}")[0]) for n in range(config.tenants)]
        answers, submitting = submit_all(
            service.base_url,
            keys,
            submissions=config.submissions,
            clients=config.clients,
            max_wait=config.max_retry_wait,
            stop_at=stop_at,
        )
        started_waiting = time.perf_counter()
        records = wait_for_jobs(service, list(answers.accepted), stop_at)
        waited = time.perf_counter() - started_waiting
    finally:
        service.stop()
    runs = executions(folder)
    result = tally(answers, records, runs, {"submitting": submitting, "waiting_after": waited})
    result["tenants_seen"] = len(set(answers.accepted.values()))
    result["config"] = asdict(config) | {"image": list(IMAGE_SIZE), "preset": "fast"}
    result["load_average_at_start"] = started_load
    result["load_average_at_end"] = load_average()
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = LoadConfig()
    for name, value in asdict(defaults).items():
        kind = type(value) if value is not None else str
        if name == "max_queue_depth":
            kind = int
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    parser.add_argument(
        "--tiny-model",
        action="store_true",
        help="run the tests' tiny ONNX model instead of the preset's (the service, not the model)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k not in ("output", "tiny_model")}
    config = LoadConfig(**options)
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="cutout-load-") as folder:
        if args.tiny_model:
            from tests.onnx_models import build_model

            config.model = str(build_model(Path(folder) / "tiny.onnx"))
        result = run_load(config, Path(folder))
    if args.tiny_model:  # not the temporary path it was written to
        result["config"]["model"] = "tiny (tests/onnx_models.py build_model)"
    result = {
        "command": "python -m bench.load " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": info,
        **result,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    complete = result["lost"] == 0 and result["ran_twice"] == 0
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
