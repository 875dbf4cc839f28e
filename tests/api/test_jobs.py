"""POST/GET/DELETE /v1/jobs and downloads, against in-memory fakes."""

from __future__ import annotations

import io

import pytest

from shared import heartbeats
from shared.jobs import Status
from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo
from worker.jobrunner import run_job


def _form(data: bytes | None = None, name: str = "photo.jpg", **fields: str) -> dict:
    form: dict = dict(fields)
    form["image"] = (io.BytesIO(data if data is not None else encoded(subject_photo())), name)
    return form


def _post(api: Api, form: dict, **headers: str):
    return api.client.post(
        "/v1/jobs", data=form, content_type="multipart/form-data", headers=headers
    )


def test_submit_answers_202_with_the_job_and_a_location(api: Api) -> None:
    response = _post(api, _form(mode="mask"))
    assert response.status_code == 202
    job = response.get_json()
    assert job["status"] == "queued" and response.headers["Location"].endswith(job["id"])
    assert job["options"]["mode"] == "mask" and job["input"]["format"] == "JPEG"
    assert job["input"]["width"] == 240 and api.queue.sent == [job["id"]]
    assert api.storage.exists(f"inputs/{job['id']}/original")


def test_poll_then_download_after_the_worker_ran(api: Api) -> None:
    job_id = _post(api, _form(mode="color", bg_color="white")).get_json()["id"]
    run_job(job_id, store=api.store, storage=api.storage, settings=api.settings, worker_name="test")
    job = api.client.get(f"/v1/jobs/{job_id}").get_json()
    assert job["status"] == "succeeded" and job["method"] == "tiny"
    assert job["outputs"]["result"]["media_type"] == "image/jpeg"
    assert {"decode", "inference", "encode"} <= set(job["timings_ms"])
    assert job["worker"]["peak_rss_mb"] > 0 and job["metrics"]["proxy"]["components"] >= 0
    assert 0 <= job["quality"]["score"] <= 1 and job["quality"] == job["metrics"]["quality"]
    assert job["quality"]["needs_review"] == job["metrics"]["proxy"]["needs_review"]
    result = api.client.get(job["links"]["result"])
    assert result.status_code == 200 and result.mimetype == "image/jpeg"
    assert result.data[:2] == b"\xff\xd8"
    mask = api.client.get(f"/v1/jobs/{job_id}/mask")
    assert mask.mimetype == "image/png" and mask.data[:4] == b"\x89PNG"


def test_download_before_success_is_a_conflict(api: Api) -> None:
    job_id = _post(api, _form()).get_json()["id"]
    response = api.client.get(f"/v1/jobs/{job_id}/result")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "job_not_finished"


def test_idempotency_key_returns_the_same_job(api: Api) -> None:
    first = _post(api, _form(), **{"Idempotency-Key": "abc"})
    second = _post(api, _form(), **{"Idempotency-Key": "abc"})
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true" and len(api.queue.sent) == 1
    assert len([k for k in api.storage.files if k.endswith("/original")]) == 1


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"image": (io.BytesIO(b"%PDF-1.4 hello"), "a.jpg")}, 415, "unsupported_media_type"),
        ({"image": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "a.png")}, 422, "invalid_image"),
        ({}, 400, "invalid_option"),
        ({"mode": "color"}, 400, "invalid_option"),
        ({"model": "/etc/passwd"}, 400, "invalid_option"),
    ],
)
def test_rejections_are_json_with_stable_codes(
    api: Api, form: dict, status: int, code: str
) -> None:
    if "image" not in form and code == "invalid_option" and form:
        form = _form(**form)
    response = _post(api, form)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code and api.queue.sent == []


def test_megapixels_are_checked_from_the_header(api: Api) -> None:
    big = encoded(subject_photo(1400, 1000))  # 1.4 MP, limit 1.0
    response = _post(api, _form(big))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "image_too_large"


def test_a_limit_published_by_the_live_workers_is_applied_up_front(api: Api) -> None:
    picture = encoded(subject_photo(600, 400))  # 0.24 MP: under the API's own 1.0
    heartbeats.beat(api.store.redis, "small-worker", max_megapixels=0.2)
    response = _post(api, _form(picture))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "image_too_large"
    assert "0.2 megapixels" in response.get_json()["error"]["message"] and api.queue.sent == []


def test_file_size_limit(api: Api) -> None:
    noisy = encoded(subject_photo(600, 400), "PNG", compress_level=0)
    response = _post(api, _form(noisy))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "file_too_large"


def test_queue_down_fails_the_job_and_says_503(api: Api) -> None:
    api.queue.down = True
    response = _post(api, _form())
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "queue_unavailable"


def test_cancel_a_queued_job_then_delete_it(api: Api) -> None:
    job_id = _post(api, _form()).get_json()["id"]
    canceled = api.client.delete(f"/v1/jobs/{job_id}")
    assert canceled.status_code == 200 and canceled.get_json()["status"] == "canceled"
    assert (
        run_job(
            job_id, store=api.store, storage=api.storage, settings=api.settings, worker_name="t"
        ).status
        is Status.CANCELED
    )  # type: ignore[union-attr]
    assert api.client.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert api.client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert not [k for k in api.storage.files if job_id in k]


def test_unknown_job_and_unknown_route_are_json_404(api: Api) -> None:
    assert api.client.get("/v1/jobs/nope").get_json()["error"]["code"] == "not_found"
    assert api.client.get("/nowhere").get_json()["error"]["code"] == "not_found"
    assert api.client.put("/v1/jobs").get_json()["error"]["code"] == "method_not_allowed"


def test_background_image_job(api: Api) -> None:
    form = _form(mode="image")
    form["background"] = (io.BytesIO(encoded(subject_photo(50, 50), "PNG")), "bg.png")
    job_id = _post(api, form).get_json()["id"]
    job = run_job(
        job_id, store=api.store, storage=api.storage, settings=api.settings, worker_name="t"
    )
    assert job is not None and job.status is Status.SUCCEEDED
    assert _post(api, _form(mode="image")).get_json()["error"]["code"] == "invalid_option"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"canvas": "big"}, "canvas"),
        ({"padding": "0.1", "scale": "0.8"}, "give one of them"),
        ({"shadow_blur": "4"}, "shadow=drop"),
    ],
)
def test_bad_framing_options_are_400_invalid_option(api: Api, fields: dict, message: str) -> None:
    response = _post(api, _form(**fields))
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid_option"
    assert message in error["message"] and api.queue.sent == []


def test_framed_job_reports_the_foreground_box(inline_api: Api) -> None:
    form = _form(canvas="300x200", padding="10%", vertical_alignment="bottom", add_shadow="true")
    job = _post(inline_api, form).get_json()
    job = inline_api.client.get(f"/v1/jobs/{job['id']}").get_json()
    assert job["status"] == "succeeded", job
    assert job["options"]["shadow"] == "drop" and job["options"]["canvas"] == [300, 200]
    result = job["outputs"]["result"]
    assert (result["width"], result["height"]) == (300, 200)
    box = result["foreground"]
    assert box["top"] + box["height"] == 200 - 20 and box["left"] >= 30
    assert box["left"] + box["width"] <= 300 - 30
