"""The service end to end: real redis-server, Celery worker, gunicorn API, local and S3 storage.

Needs the real u2netp weights (`make setup`); skips without them.
"""

from __future__ import annotations

import io
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.images import synthetic_photo
from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import Stack, decode_image, http, start_stack
from tests.processes import wait_until
from tests.s3_server import create_bucket, start_s3_server, with_test_credentials

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["file", "s3"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    model_dir = require_real_model().parent
    folder = tmp_path_factory.mktemp(f"stack-{request.param}")
    if request.param == "file":
        running = start_stack(folder, model_dir)
        yield running
        running.stop()
        return
    endpoint, stop_s3 = start_s3_server()
    create_bucket(endpoint, "cutout-it")
    env = with_test_credentials({}) | {
        "STORAGE_URL": "s3://cutout-it/jobs",
        "CUTOUT_S3_ENDPOINT_URL": endpoint,
    }
    running = start_stack(folder, model_dir, **env)
    yield running
    running.stop()
    stop_s3()


@pytest.fixture(scope="module")
def photo() -> bytes:
    return encoded(subject_photo(480, 360))


MODES = [
    ({"mode": "cutout"}, "PNG", "RGBA"),
    ({"mode": "mask"}, "PNG", "L"),
    ({"mode": "color", "bg_color": "#ffffff"}, "JPEG", "RGB"),
    ({"mode": "cutout", "format": "webp", "crop": "true"}, "WEBP", "RGBA"),
]


@pytest.mark.parametrize(("fields", "fmt", "mode"), MODES)
def test_submit_poll_download(
    stack: Stack, photo: bytes, fields: dict, fmt: str, mode: str
) -> None:
    response = stack.submit(photo, **fields)
    assert response.status == 202, response.data
    job_id = response.json()["id"]
    assert response.headers["Location"].endswith(f"/v1/jobs/{job_id}")
    job = stack.wait_for(job_id)
    assert job["status"] == "succeeded", (job, stack.logs())
    assert job["method"] == "u2netp" and job["attempts"] == 1
    assert {"decode", "inference", "encode", "store"} <= set(job["timings_ms"])
    assert job["worker"]["peak_rss_mb"] > 0 and job["input"]["width"] == 480
    assert job["worker"]["engine"] in ("onnxruntime", "openvino")
    result = http.request("GET", job["links"]["result"])
    assert result.status == 200
    picture = decode_image(result.data)
    assert (picture.format, picture.mode) == (fmt, mode)
    if "crop" not in fields:
        assert picture.size == (480, 360)
    mask = decode_image(http.request("GET", job["links"]["mask"]).data)
    assert mask.mode == "L" and mask.size == (480, 360)
    assert np.asarray(mask)[180, 240] > 128 and np.asarray(mask)[5, 5] < 128


def test_background_image_mode(stack: Stack, photo: bytes) -> None:
    background = ("bg.png", encoded(Image.new("RGB", (64, 48), (0, 0, 255)), "PNG"), "image/png")
    job_id = stack.submit(photo, mode="image", background=background).json()["id"]
    job = stack.wait_for(job_id)
    picture = decode_image(http.request("GET", job["links"]["result"]).data)
    assert picture.format == "JPEG" and picture.getpixel((2, 2))[2] > 200


def test_results_come_from_the_storage_backend(stack: Stack, photo: bytes) -> None:
    job = stack.wait_for(stack.submit(photo).json()["id"])
    raw = http.request("GET", job["links"]["result"], redirect=False)
    if stack.env["STORAGE_URL"].startswith("s3://"):
        location = raw.headers["Location"]
        assert raw.status == 302 and location.startswith(stack.env["CUTOUT_S3_ENDPOINT_URL"])
        assert "Signature" in location or "X-Amz-Signature" in location
    else:
        assert raw.status == 200 and raw.headers["Content-Type"] == "image/png"


def test_compat_routes(stack: Stack, photo: bytes) -> None:
    assert http.request("GET", stack.url("/health")).json() == {"status": "ok"}
    for route in ("/remove-bg", "/api/remove-background"):
        response = stack.submit(photo, route=route)
        assert response.status == 200, response.data[:300]
        assert decode_image(response.data).mode == "RGBA"
    truth = Image.fromarray(np.asarray(Image.open(io.BytesIO(photo)).convert("L")) > 150)
    mask = ("truth.png", encoded(truth.convert("L"), "PNG"), "image/png")
    metrics = stack.submit(photo, route="/evaluate", mask=mask).json()["metrics"]
    assert metrics["iou"] > 0.8 and 0 <= metrics["mae"] < 0.1


def test_idempotency_key(stack: Stack, photo: bytes) -> None:
    headers = {"Idempotency-Key": f"retry-{time.monotonic_ns()}"}
    first = stack.submit(photo, headers=headers).json()
    second = stack.submit(photo, headers=headers)
    assert second.status == 202 and second.json()["id"] == first["id"]
    assert second.headers["Idempotent-Replayed"] == "true"


def test_bad_uploads_are_json_errors(stack: Stack) -> None:
    response = stack.submit(b"just some text, not an image")
    assert response.status == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    response = stack.submit(b"x" * (11 * 1024 * 1024))
    assert response.status == 413 and response.json()["error"]["code"] == "file_too_large"


def test_a_failed_job_does_not_disturb_the_next(stack: Stack, photo: bytes) -> None:
    truncated = photo[: len(photo) // 3]
    bad = stack.wait_for(stack.submit(truncated).json()["id"])
    assert bad["status"] == "failed" and bad["error"]["code"] == "invalid_image"
    good = stack.wait_for(stack.submit(photo).json()["id"])
    assert good["status"] == "succeeded"


@pytest.fixture(scope="module")
def fragile_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose jobs give up after two interrupted attempts."""
    model_dir = require_real_model().parent
    running = start_stack(tmp_path_factory.mktemp("fragile"), model_dir, CUTOUT_MAX_ATTEMPTS="2")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def big_photo() -> bytes:
    return encoded(synthetic_photo(6000, 4000), quality=90)


def _kill_child_once_processing(stack: Stack, job_id: str, attempt: int) -> None:
    # A killed child leaves the record at "processing": wait for the next delivery's count.
    wait_until(
        lambda: (job := stack.job(job_id))["status"] == "processing" and job["attempts"] == attempt,
        timeout=60,
        interval=0.05,
    )
    for child in stack.worker_children():
        child.send_signal(signal.SIGKILL)


def test_a_worker_killed_mid_job_leads_to_a_retry(fragile_stack: Stack, big_photo: bytes) -> None:
    job_id = fragile_stack.submit(big_photo, mode="mask").json()["id"]
    _kill_child_once_processing(fragile_stack, job_id, attempt=1)
    job = fragile_stack.wait_for(job_id)
    assert job["status"] == "succeeded", (job, fragile_stack.logs())
    assert job["attempts"] == 2


def test_a_job_that_keeps_killing_workers_ends_worker_lost(
    fragile_stack: Stack, big_photo: bytes
) -> None:
    job_id = fragile_stack.submit(big_photo, mode="mask").json()["id"]
    for attempt in (1, 2):
        _kill_child_once_processing(fragile_stack, job_id, attempt)
    job = fragile_stack.wait_for(job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "worker_lost", job
    # The worker is still healthy afterwards.
    assert (
        fragile_stack.wait_for(fragile_stack.submit(encoded(subject_photo())).json()["id"])[
            "status"
        ]
        == "succeeded"
    )


def test_ready_goes_503_when_redis_stops(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "stack", require_real_model().parent)
    try:
        assert http.request("GET", stack.url("/ready")).status == 200
        stack.redis.stop()
        response = http.request("GET", stack.url("/ready"))
        assert response.status == 503
        assert response.json()["checks"]["redis"] != "ok"
        assert http.request("GET", stack.url("/health")).status == 200
    finally:
        stack.stop()
