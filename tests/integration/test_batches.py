"""Batches with real processes: redis-server, a Celery worker on the tiny model, gunicorn.

A mixed batch (files, a zip, a URL list served on loopback) ends with every good item
succeeded and every bad one failed with its code; a single job submitted behind 200 queued
batch items starts before all but at most one of them (message priorities).
"""

from __future__ import annotations

import base64
import csv
import io
import os
import threading
import zipfile
from collections.abc import Iterator
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.api.batchfakes import zip_of
from tests.conftest import encoded, subject_photo
from tests.integration.stack import Stack, http, start_stack
from tests.processes import wait_until
from tests.webhook_receiver import Receiver, start_receiver

pytestmark = pytest.mark.integration
GOOD = encoded(subject_photo(160, 120))
OTHER = encoded(subject_photo(120, 160))


SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = start_receiver()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("batches")
    running = start_stack(
        folder,
        tiny_model.parent,
        webhooks=True,
        CUTOUT_MODEL=str(tiny_model),
        WEBHOOK_ALLOW_PRIVATE="true",
        WEBHOOK_SECRET=SECRET,
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("shop")
    (root / "a.jpg").write_bytes(GOOD)
    (root / "b.jpg").write_bytes(OTHER)
    handler = lambda *a: SimpleHTTPRequestHandler(*a, directory=str(root))  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _wait_batch(stack: Stack, batch_id: str, timeout: float = 120) -> dict:
    def done() -> dict | None:
        batch = http.request("GET", stack.url(f"/v1/batches/{batch_id}")).json()
        return batch if batch["status"] in ("completed", "canceled") else None

    try:
        return wait_until(done, timeout, interval=0.2)
    except TimeoutError as exc:
        raise AssertionError(stack.logs()) from exc


def test_mixed_batch_ends_with_a_report_and_a_results_zip(
    stack: Stack, image_server: str, receiver: Receiver
) -> None:
    listing = f"url\n{image_server}/a.jpg\n{image_server}/missing.jpg\n{image_server}/b.jpg\n"
    archive = zip_of({"z/one.jpg": OTHER, "z/bad.jpg": b"garbage", "../two.jpg": GOOD})
    fields = [
        ("images", ("a.jpg", GOOD, "image/jpeg")),
        ("images", ("broken.jpg", b"nope", "image/jpeg")),
        ("archive", ("catalog.zip", archive, "application/zip")),
        ("urls", ("feed.csv", listing.encode(), "text/csv")),
        ("mode", "mask"),
        ("webhook_url", receiver.script("/catalog")),
    ]
    response = http.request("POST", stack.url("/v1/batches"), fields=fields)
    assert response.status == 202, response.data
    batch = _wait_batch(stack, response.json()["id"])
    assert batch["status"] == "completed", batch
    assert batch["items"] == 8 and batch["counts"]["succeeded"] == 5
    report = list(
        csv.DictReader(io.StringIO(http.request("GET", batch["links"]["report"]).data.decode()))
    )
    codes = {row["name"]: row["error_code"] for row in report if row["status"] == "failed"}
    assert codes == {
        "broken.jpg": "unsupported_media_type",
        "z/bad.jpg": "unsupported_media_type",
        "missing.jpg": "fetch_failed",
    }, report
    # GOOD came three times (a file, a zip entry, a URL) and OTHER twice: two processed.
    assert sum(bool(row["deduplicated_from"]) for row in report) == 3
    zipped = http.request("GET", batch["links"]["results"])
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive_out:
        names = archive_out.namelist()
    assert sorted(names) == ["a-2.png", "a.png", "b.png", "one.png", "report.csv", "two.png"]
    (call,) = receiver.wait_for("/catalog", 1)
    payload = call.verified(SECRET)
    assert payload["type"] == "batch.completed" and payload["data"]["id"] == batch["id"]
    assert payload["data"]["counts"] == batch["counts"]
    emitted = stack.redis.client().hget(f"cutout:batch:{batch['id']}", "events:batch.completed")
    assert int(emitted) == 1 and len(receiver.at("/catalog")) == 1


def _started(stack: Stack, job_id: str) -> datetime:
    job = stack.job(job_id)
    return datetime.fromisoformat(job["started_at"])


def test_a_single_job_overtakes_200_queued_batch_items(stack: Stack) -> None:
    fields = [
        ("images", (f"{n}.jpg", encoded(subject_photo(160 + n, 120)), "image/jpeg"))
        for n in range(200)
    ]
    response = http.request("POST", stack.url("/v1/batches"), fields=fields)
    assert response.status == 202, response.data
    items = [item["job_id"] for item in response.json()["added"]]
    wait_until(lambda: stack.job(items[0])["status"] != "queued", 60, interval=0.05)
    submitted = datetime.now().astimezone()
    single = stack.submit(GOOD).json()["id"]
    job = stack.wait_for(single)
    assert job["status"] == "succeeded"
    started = datetime.fromisoformat(job["started_at"])
    jobs = [stack.job(item) for item in items]
    overtaking = [
        j["id"]
        for j in jobs
        if j["started_at"] and submitted < datetime.fromisoformat(j["started_at"]) < started
    ]
    # At most the one item a worker may have taken between our send and its next fetch.
    assert len(overtaking) <= 1, overtaking
    still_queued = sum(j["status"] == "queued" for j in jobs)
    assert still_queued > 100, still_queued
    http.request("DELETE", stack.url(f"/v1/batches/{response.json()['id']}"))
