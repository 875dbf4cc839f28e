"""What the API adds for faults: cancel revokes the running task; a fallback is never invisible."""

from __future__ import annotations

import io
from pathlib import Path

from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo


def _files() -> dict:
    return {"image": (io.BytesIO(encoded(subject_photo())), "p.jpg")}


def test_canceling_a_processing_job_revokes_its_task(api: Api) -> None:
    job_id = api.client.post("/v1/jobs", data=_files()).get_json()["id"]
    queued = api.client.post("/v1/jobs", data=_files()).get_json()["id"]
    api.store.start(job_id, worker="w", max_attempts=3, task_id="task-1")
    assert api.client.delete(f"/v1/jobs/{job_id}").get_json()["status"] == "canceled"
    # A queued job never started has no task to stop: its delivery finds it canceled.
    assert api.client.delete(f"/v1/jobs/{queued}").get_json()["status"] == "canceled"
    assert api.queue.revoked == ["task-1"]


def test_compat_routes_say_which_method_made_the_image(inline_api: Api, tmp_path: Path) -> None:
    made = inline_api.client.post("/remove-bg", data=_files())
    assert made.status_code == 200 and made.headers["X-Cutout-Method"] == "tiny"
    assert "X-Cutout-Warnings" not in made.headers
    # No model file: GrabCut makes the image, and the answer says so.
    inline_api.settings = inline_api.settings.model_copy(
        update={"model": "u2netp", "model_dir": tmp_path}
    )
    fallback = inline_api.client.post("/api/remove-background", data=_files())
    assert fallback.status_code == 200
    assert fallback.headers["X-Cutout-Method"] == "opencv-grabcut"
    assert fallback.headers["X-Cutout-Warnings"].startswith("model_unavailable: ")
