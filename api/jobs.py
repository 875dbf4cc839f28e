"""/v1/jobs: submit, poll, download, cancel or delete."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.auth import current_tenant
from api.downloads import send_output
from api.representation import job_json
from api.services import services
from api.submission import submit
from shared.errors import NotFound
from shared.jobs import Job, Status
from shared.tasks import storage_keys

blueprint = Blueprint("jobs", __name__, url_prefix="/v1/jobs")


def find_job(job_id: str) -> Job:
    """The tenant's job, or a 404 that does not say whether it exists for anyone else."""
    job = services().store.get(job_id)
    if job is None or job.tenant != current_tenant():
        raise NotFound(f"no job {job_id} (unknown, deleted or expired)")
    return job


@blueprint.post("")
def create_job() -> tuple[Response, int, dict[str, str]]:
    """Submit an image; the job is queued and processed by a worker.
    ---
    post:
      summary: Submit a job
      tags: [jobs]
      parameters:
        - {name: Idempotency-Key, in: header, required: false, schema: {type: string}}
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {$ref: "#/components/schemas/JobForm"}
      responses:
        202:
          description: The job, queued (Location points at it)
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Job"}
        default: {$ref: "#/components/responses/Error"}
    """
    job, created = submit(
        services(),
        request.form,
        request.files,
        tenant=current_tenant(),
        route=request.path,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    body = job_json(job)
    headers = {"Location": body["links"]["self"]}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(body), 202, headers


@blueprint.get("/<job_id>")
def get_job(job_id: str) -> Response:
    """The job: status, options, timings, metrics and links to its files.
    ---
    get:
      summary: Get a job
      tags: [jobs]
      responses:
        200:
          description: The job
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Job"}
        default: {$ref: "#/components/responses/Error"}
    """
    return jsonify(job_json(find_job(job_id)))


@blueprint.get("/<job_id>/result")
def get_result(job_id: str) -> Response:
    """The result image of a succeeded job (or a redirect to a presigned link).
    ---
    get:
      summary: Download the result
      tags: [jobs]
      responses:
        200:
          description: The image
          content:
            image/png: {schema: {type: string, format: binary}}
            image/webp: {schema: {type: string, format: binary}}
            image/jpeg: {schema: {type: string, format: binary}}
        302:
          description: A presigned storage link (S3 storage)
        default: {$ref: "#/components/responses/Error"}
    """
    return send_output(services(), find_job(job_id), "result")


@blueprint.get("/<job_id>/mask")
def get_mask(job_id: str) -> Response:
    """The greyscale alpha mask of a succeeded job.
    ---
    get:
      summary: Download the mask
      tags: [jobs]
      responses:
        200:
          description: The mask as PNG
          content:
            image/png: {schema: {type: string, format: binary}}
        302:
          description: A presigned storage link (S3 storage)
        default: {$ref: "#/components/responses/Error"}
    """
    return send_output(services(), find_job(job_id), "mask")


@blueprint.delete("/<job_id>")
def delete_job(job_id: str) -> Response | tuple[str, int]:
    """Cancel a queued/processing job; delete a finished one with its files.
    ---
    delete:
      summary: Cancel or delete a job
      tags: [jobs]
      responses:
        200:
          description: The job, canceled
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Job"}
        204:
          description: Deleted with its files
        default: {$ref: "#/components/responses/Error"}
    """
    svc = services()
    job = find_job(job_id)
    if not job.status.is_terminal():
        after = svc.store.cancel(job_id)
        if after is not None and after.status is Status.CANCELED:
            if after.task_id is not None:  # stop the task that runs it, if one does
                svc.queue.revoke(after.task_id)
            return jsonify(job_json(after))
        # It finished in the meantime: delete it like any finished job.
    keys = storage_keys(job_id)
    svc.storage.delete_prefix(keys["prefix_inputs"])
    svc.storage.delete_prefix(keys["prefix_outputs"])
    svc.store.delete(job_id)
    return "", 204
