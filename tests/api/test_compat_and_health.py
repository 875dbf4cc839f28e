"""The original service's routes and the health/readiness checks."""

from __future__ import annotations

import io
import time

from PIL import Image

from shared import heartbeats
from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo


def _files(**extra: object) -> dict:
    return {"image": (io.BytesIO(encoded(subject_photo())), "p.jpg"), **extra}


def test_health_is_always_ok(api: Api) -> None:
    response = api.client.get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_remove_bg_returns_the_png_when_the_job_finishes_in_time(inline_api: Api) -> None:
    for route in ("/remove-bg", "/api/remove-background"):
        response = inline_api.client.post(route, data=_files())
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert Image.open(io.BytesIO(response.data)).mode == "RGBA"
        assert response.headers["X-Job-Id"]


def test_remove_bg_answers_202_when_the_job_takes_longer(api: Api) -> None:
    response = api.client.post("/remove-bg", data=_files())
    assert response.status_code == 202 and response.get_json()["status"] == "queued"
    assert response.headers["Location"].endswith(response.get_json()["id"])


def test_remove_bg_passes_a_failed_jobs_error_through(inline_api: Api) -> None:
    truncated = encoded(subject_photo())[:300]
    response = inline_api.client.post(
        "/remove-bg", data={"image": (io.BytesIO(truncated), "t.jpg")}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_image"


def test_evaluate_scores_against_the_given_mask(inline_api: Api) -> None:
    photo = subject_photo()
    truth = Image.eval(photo.convert("L"), lambda v: 255 if v > 120 else 0)
    data = _files(mask=(io.BytesIO(encoded(truth, "PNG")), "m.png"))
    response = inline_api.client.post("/evaluate", data=data)
    assert response.status_code == 200, response.get_json()
    metrics = response.get_json()["metrics"]
    assert {
        "iou",
        "dice",
        "precision",
        "recall",
        "accuracy",
        "mae",
        "max_f",
        "s_measure",
        "mean_e",
        "weighted_f",
    } <= set(metrics)
    assert all(0 <= value <= 1 for value in metrics.values())


def test_evaluate_needs_a_mask_of_the_same_size(api: Api) -> None:
    assert api.client.post("/evaluate", data=_files()).status_code == 400
    small = (io.BytesIO(encoded(Image.new("L", (10, 10)), "PNG")), "m.png")
    response = api.client.post("/evaluate", data=_files(mask=small))
    assert response.status_code == 422 and "mask" in response.get_json()["error"]["message"]


def test_ready_needs_a_recent_worker_heartbeat(api: Api) -> None:
    response = api.client.get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["worker"] == "no worker has reported yet"
    heartbeats.beat(api.store.redis, "w1")
    assert api.client.get("/ready").status_code == 200
    heartbeats.beat(api.store.redis, "w1", now=time.time() - 3600)
    assert api.client.get("/ready").status_code == 503


def test_ready_reports_storage_down(api: Api) -> None:
    heartbeats.beat(api.store.redis, "w1")
    api.storage.unavailable = True
    response = api.client.get("/ready")
    assert response.status_code == 503 and response.get_json()["checks"]["storage"] != "ok"
