"""The original service's routes, kept working on top of the queue.

`/remove-bg` and `/api/remove-background` wait for the job (up to CUTOUT_SYNC_WAIT_SECONDS)
and answer with the image; `/evaluate` answers with the metrics. A job that takes longer
gets `202` with the job, like `POST /v1/jobs`, and so does every request that arrives while
CUTOUT_SYNC_WAIT_SLOTS others are already waiting in this process (api/backpressure.py).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.auth import current_tenant
from api.backpressure import sync_slot
from api.downloads import send_output
from api.errors import error_response
from api.representation import job_json
from api.services import Services, services
from api.submission import submit
from shared.errors import http_status_for
from shared.jobs import Job, Status

blueprint = Blueprint("compat", __name__)


def _submit_and_wait(svc: Services, **submit_options: object) -> Job:
    job, _ = submit(
        svc,
        request.form,
        request.files,
        tenant=current_tenant(),
        route=request.path,
        idempotency_key=request.headers.get("Idempotency-Key"),
        **submit_options,
    )
    with sync_slot() as may_wait:
        if not may_wait:  # every slot is taken: answer with the job as it stands now
            return svc.store.get(job.id) or job
        return svc.store.wait(job.id, svc.settings.sync_wait_seconds) or job


def _not_done(job: Job) -> tuple[Response, int] | None:
    if job.status is Status.SUCCEEDED:
        return None
    if job.status.is_terminal():
        error = job.error or {"code": job.status.value, "message": f"the job was {job.status}"}
        return error_response(error["code"], error["message"], http_status_for(error["code"]))
    body = job_json(job)
    response = jsonify(body)
    response.headers["Location"] = body["links"]["self"]
    return response, 202


def _remove_background() -> Response | tuple[Response, int]:
    """Cut out an image and answer with the result (rembg-style, synchronous).
    ---
    post:
      summary: Remove the background and wait for the image
      tags: [synchronous]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {$ref: "#/components/schemas/JobForm"}
      responses:
        200:
          description: The result image
          content:
            image/png: {schema: {type: string, format: binary}}
            image/webp: {schema: {type: string, format: binary}}
            image/jpeg: {schema: {type: string, format: binary}}
        202:
          description: Not finished within CUTOUT_SYNC_WAIT_SECONDS; poll the job
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Job"}
        default: {$ref: "#/components/responses/Error"}
    """
    svc = services()
    job = _submit_and_wait(svc)
    pending = _not_done(job)
    if pending is not None:
        return pending
    response = send_output(svc, job, "result", allow_redirect=False)
    response.headers["X-Job-Id"] = job.id
    response.headers["X-Cutout-Method"] = job.method or "unknown"
    if job.warnings:  # e.g. the model failed and GrabCut made the mask (ASCII, one line)
        response.headers["X-Cutout-Warnings"] = " ".join(
            "; ".join(job.warnings).encode("ascii", "replace").decode().split()
        )
    return response


blueprint.add_url_rule("/remove-bg", "remove_bg", _remove_background, methods=["POST"])
blueprint.add_url_rule(
    "/api/remove-background", "remove_background", _remove_background, methods=["POST"]
)


@blueprint.post("/evaluate")
def evaluate() -> Response | tuple[Response, int]:
    """Cut out `image` and score the mask against the ground truth `mask`.
    ---
    post:
      summary: Score the mask against a ground truth
      tags: [synchronous]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {$ref: "#/components/schemas/EvaluateForm"}
      responses:
        200:
          description: Scores and proxy metrics
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Evaluation"}
        202:
          description: Not finished in time; poll the job
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Job"}
        default: {$ref: "#/components/responses/Error"}
    """
    job = _submit_and_wait(services(), overrides={"mode": "mask"}, wants_truth=True)
    pending = _not_done(job)
    if pending is not None:
        return pending
    metrics = job.metrics or {}
    return jsonify(
        {
            "job_id": job.id,
            "method": job.method,
            "metrics": metrics.get("ground_truth"),
            "proxy": metrics.get("proxy"),
            "timings_ms": job.timings_ms,
        }
    )
