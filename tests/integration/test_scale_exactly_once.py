"""Three workers on one redis-server and one bucket take 300 jobs while one of them is
SIGKILLed mid-job and started again: every job ends, each result is written exactly once
(counted as object versions in a versioned bucket), none is lost.

The killed worker runs a slow model, so the kill lands inside a job for certain: that job is
redelivered after the visibility timeout (20 s here), runs again on a live worker, and its
result is written once, by the second run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kombu.transport.redis import PRIORITY_STEPS, Channel

from api.queue import CeleryQueue
from scripts.run_local_commands import WORKER_OPTIONS
from shared import capacity
from shared.imageinfo import probe
from shared.jobs import Job, JobStore, Status, new_job_id
from shared.settings import Settings
from shared.storage.s3 import S3Storage
from shared.tasks import storage_keys
from tests.conftest import encoded, subject_photo
from tests.integration.scale import build_slow_model, small_photo
from tests.processes import RedisProcess, start_process, start_redis, stop_process, wait_until
from tests.s3_server import s3_client, start_s3_server, with_test_credentials

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
JOBS = 300
BUCKET = "scale-exactly-once"
# Short limits keep the redelivery of the killed job within seconds (soft < hard < visibility),
# with room for a slow job on a loaded machine.
LIMITS = {
    "CUTOUT_TASK_SOFT_TIME_LIMIT": "15",
    "CUTOUT_TASK_TIME_LIMIT": "18",
    "CUTOUT_BROKER_VISIBILITY_TIMEOUT": "20",
}


@dataclass
class Fleet:
    redis: RedisProcess
    endpoint: str
    folder: Path
    env: dict[str, str]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_worker(self, name: str, **env: str) -> None:
        args = [BIN / "celery", "-A", "worker.celery_app:app", "worker", *WORKER_OPTIONS]
        node = f"{name}@scale-test"
        log = self.folder / f"{name}.log"
        self.workers[name] = start_process([*args, "-n", node], self.env | env, log)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )


@pytest.fixture
def fleet(tmp_path: Path, tiny_model: Path) -> Iterator[Fleet]:
    endpoint, stop_s3 = start_s3_server()
    client = s3_client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    redis = start_redis(tmp_path)
    env = with_test_credentials(os.environ) | {
        "REDIS_URL": redis.url,
        "STORAGE_URL": f"s3://{BUCKET}/jobs",
        "CUTOUT_S3_ENDPOINT_URL": endpoint,
        "CUTOUT_MODEL": str(tiny_model),
        "CUTOUT_INFERENCE_THREADS": "1",
        "CUTOUT_HEARTBEAT_SECONDS": "1",
        **LIMITS,
    }
    running = Fleet(redis, endpoint, tmp_path, env)
    try:
        yield running
    finally:
        for process in running.workers.values():
            stop_process(process, timeout=20)
        redis.stop()
        stop_s3()


def send_jobs(fleet: Fleet, count: int, image: bytes) -> list[str]:
    """Store `count` inputs and records, and queue them as the API does."""
    settings = Settings(redis_url=fleet.redis.url)
    storage = S3Storage(
        BUCKET, "jobs", endpoint_url=fleet.endpoint, client=s3_client(fleet.endpoint)
    )
    store = JobStore(fleet.redis.client(), retention_seconds=3600)
    queue = CeleryQueue(settings)
    facts = probe(image, max_megapixels=25).to_dict()
    ids = []
    for _ in range(count):
        job_id = new_job_id()
        key = storage_keys(job_id)["original"]
        storage.put(key, image, content_type="image/jpeg")
        store.create(Job(id=job_id, input=facts, files={"original": key}))
        queue.send(job_id, queue=capacity.queue_for_input(facts))
        ids.append(job_id)
    return ids


def jobs(fleet: Fleet, ids: list[str]) -> list[Job]:
    store = JobStore(fleet.redis.client(), retention_seconds=3600)
    found = [store.get(job_id) for job_id in ids]
    assert all(job is not None for job in found)
    return [job for job in found if job is not None]


def result_versions(endpoint: str) -> dict[str, int]:
    """How many times each object under jobs/outputs/ was written (versions per key)."""
    counts: dict[str, int] = {}
    pages = s3_client(endpoint).get_paginator("list_object_versions")
    for page in pages.paginate(Bucket=BUCKET, Prefix="jobs/outputs/"):
        for version in page.get("Versions", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def processing_on(fleet: Fleet, ids: list[str], worker: str) -> Job | None:
    store = JobStore(fleet.redis.client(), retention_seconds=3600)
    for job_id in ids:
        job = store.get(job_id)
        if (
            job
            and job.status is Status.PROCESSING
            and (job.worker or {}).get("name", "").startswith(worker)
        ):
            return job
    return None


def test_300_jobs_3_workers_one_killed(fleet: Fleet, tmp_path: Path) -> None:
    slow = build_slow_model(tmp_path / "slow.onnx", layers=60)
    fleet.start_worker("w1")
    fleet.start_worker("w2", CUTOUT_MODEL=str(slow))  # the one to be killed, mid-job
    fleet.start_worker("w3")
    client = fleet.redis.client()
    wait_until(lambda: client.zcard("cutout:heartbeats") == 3, timeout=90, interval=0.2)
    # A few larger photos go to the next size class's queue, which these workers consume too.
    larger = encoded(subject_photo(1200, 1000))
    assert capacity.queue_for_input(probe(larger, max_megapixels=25).to_dict()) != "cutout"
    ids = send_jobs(fleet, JOBS - 10, small_photo()) + send_jobs(fleet, 10, larger)

    wait_until(lambda: processing_on(fleet, ids, "w2"), timeout=90, interval=0.02)
    os.killpg(fleet.workers["w2"].pid, signal.SIGKILL)  # parent and pool child, no warning
    fleet.workers["w2"].wait(timeout=10)
    killed_at = time.time()
    # What the dead worker held: its record still says processing, on w2.
    victim = processing_on(fleet, ids, "w2")
    assert victim is not None, "w2 was between jobs when killed"
    fleet.start_worker("w2")  # the same node, now with the tiny model

    def all_ended() -> bool:
        return all(job.status.is_terminal() for job in jobs(fleet, ids))

    try:
        wait_until(all_ended, timeout=240, interval=0.5)
    except TimeoutError:
        stuck = [job for job in jobs(fleet, ids) if not job.status.is_terminal()]
        raise AssertionError(
            f"{len(stuck)} jobs did not end: {stuck[:3]}\n{fleet.logs()}"
        ) from None

    final = {job.id: job for job in jobs(fleet, ids)}
    assert {job.status for job in final.values()} == {Status.SUCCEEDED}, fleet.logs()
    # The job in the killed worker's hands ran again elsewhere, after the kill.
    redelivered = final[victim.id]
    assert (redelivered.attempts, redelivered.interruptions) == (2, 1), redelivered
    assert redelivered.finished_at is not None and redelivered.finished_at > killed_at
    others = [job for job in final.values() if job.id != victim.id]
    assert all((job.attempts, job.interruptions) == (1, 0) for job in others)
    # Exactly one write of each job's result and mask: nothing processed twice to the end.
    versions = result_versions(fleet.endpoint)
    expected = {
        f"jobs/{job.outputs[name]['key']}" for job in final.values() for name in ("result", "mask")
    }
    assert set(versions) == expected
    assert [key for key, count in versions.items() if count != 1] == []
    # Nothing left behind in the broker: no queued list, no unacknowledged message.
    assert client.hlen("unacked") == 0
    assert all(client.llen(name) == 0 for name in capacity.all_queues())
    names = {job.worker["name"].split("@")[0] for job in final.values() if job.worker}
    assert {"w1", "w3"} <= names


def test_the_lists_kombu_makes_per_priority(tmp_path: Path) -> None:
    """deploy/kubernetes/keda.yaml watches NAME and NAME + sep + step: what kombu writes."""
    redis = start_redis(tmp_path)
    try:
        queue = CeleryQueue(Settings(redis_url=redis.url))
        app = queue._app  # the API's own Celery app, as it publishes
        for priority in range(10):
            app.send_task(
                "cutout.never-run", args=[priority], queue="prio-check", priority=priority
            )
        keys = {key.decode() for key in redis.client().keys("prio-check*")}
        steps = {step for step in PRIORITY_STEPS}
        assert keys == {"prio-check" if s == 0 else f"prio-check{Channel.sep}{s}" for s in steps}
        assert redis.client().llen("prio-check") == 3  # priorities 0, 1, 2
        # Without a priority (as the API sends jobs), the message lands on the plain list.
        app.send_task("cutout.never-run", args=["none"], queue="plain-check")
        assert {key.decode() for key in redis.client().keys("plain-check*")} == {"plain-check"}
        # The queue the API names wins over the task's default route.
        queue.send("job-id", queue=capacity.queue_for(20))
        assert redis.client().llen(capacity.queue_for(20)) == 1
        assert redis.client().llen(capacity.all_queues()[0]) == 0
    finally:
        redis.stop()
