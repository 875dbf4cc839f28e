"""/v1/batches: a catalog in (images, zips, URL lists), progress, report, results, cancel."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from api import batchfiles
from api.auth import current_tenant
from api.batches_docs import (
    ADD_ITEMS,
    CANCEL,
    CLOSE,
    CREATE,
    GET,
    JOBS,
    REPORT,
    RESULTS,
    documented,
)
from api.batchintake import (
    add_intake,
    batches,
    item_summary,
    new_batch_fields,
    read_intake,
    stays_open,
)
from api.representation import job_json
from api.services import services
from shared import webhooks
from shared.batches import Batch, BatchStatus, new_batch_id
from shared.batchevents import completed_message_id, deliver
from shared.batchview import describe
from shared.errors import BatchClosed, InvalidOption, NotFound
from shared.jobs import Job, Status

blueprint = Blueprint("batches", __name__, url_prefix="/v1/batches")
PAGE, MAX_PAGE = 100, 1000
MAX_INT_ARG = 2**53 - 1  # the largest integer every JSON client reads exactly
MAX_FORM_PARTS = 5000  # files and fields in one multipart request (Flask's default: 1000)


def find_batch(batch_id: str) -> Batch:
    """The tenant's batch, or a 404 that does not say whether it exists for anyone else."""
    batch = batches(services()).get(batch_id)
    if batch is None or batch.tenant != current_tenant():
        raise NotFound(f"no batch {batch_id} (unknown, deleted or expired)")
    return batch


def _view(batch_id: str) -> dict[str, Any]:
    client = services().store.redis
    deliver(client, base_url=request.host_url.rstrip("/"))
    batch = find_batch(batch_id)
    body = describe(batch, request.host_url.rstrip("/"))
    if batch.webhook_url is not None:
        body["webhook_url"] = webhooks.redact_url(batch.webhook_url)
        message_id = completed_message_id(batch.id)
        body["webhook"] = webhooks.view_for(client, message_id, batch.webhook_url)
    return body


def _allow_big_request() -> None:
    # Flask reads these per request: batches may carry many images or a large zip.
    request.max_content_length = services().settings.batch_max_request_bytes
    request.max_form_parts = MAX_FORM_PARTS


@blueprint.post("")
@documented(CREATE)
def create_batch() -> tuple[Response, int, dict[str, str]]:
    _allow_big_request()
    svc = services()
    intake, values = read_intake(request)
    fields = new_batch_fields(values, svc)
    batch = batches(svc).create(Batch(id=new_batch_id(), tenant=current_tenant(), **fields))
    added = add_intake(svc, batch, intake)
    has_items = bool(intake.images or intake.sources)
    if has_items and not stays_open(values):
        batches(svc).close(batch.id)
    body = {**_view(batch.id), **added}
    return jsonify(body), 202, {"Location": body["links"]["self"]}


@blueprint.post("/<batch_id>/items")
@documented(ADD_ITEMS)
def add_items(batch_id: str) -> tuple[Response, int]:
    _allow_big_request()
    batch = find_batch(batch_id)
    if batch.status is not BatchStatus.OPEN:
        raise BatchClosed(f"batch {batch_id} is {batch.status.value}; items cannot be added")
    intake, _ = read_intake(request)
    if not intake.images and not intake.sources:
        raise InvalidOption("images: send files in 'images', a zip in 'archive' or 'urls'")
    added = add_intake(services(), batch, intake)
    return jsonify({**_view(batch_id), **added}), 202


@blueprint.post("/<batch_id>/close")
@documented(CLOSE)
def close_batch(batch_id: str) -> Response:
    find_batch(batch_id)
    batches(services()).close(batch_id)
    return jsonify(_view(batch_id))


@blueprint.get("/<batch_id>")
@documented(GET)
def get_batch(batch_id: str) -> Response:
    return jsonify(_view(batch_id))


@blueprint.get("/<batch_id>/jobs")
@documented(JOBS)
def list_jobs(batch_id: str) -> Response:
    """A page of items in the order they were added; `cursor` continues where one ended."""
    find_batch(batch_id)
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in Status}:
        raise InvalidOption(f"status: one of {[s.value for s in Status]}")
    cursor = _int_arg("cursor", 0)
    limit = min(max(_int_arg("limit", PAGE), 1), MAX_PAGE)
    found, next_cursor = batchfiles.page(services(), batch_id, cursor, limit, status)
    expired = {"name": None, "status": "expired", "error": None, "deduplicated_from": None}
    jobs = [
        {**item_summary(job), "job": job_json(job)} if job else {**expired, "job_id": job_id}
        for job_id, job in found
    ]
    return jsonify({"jobs": jobs, "next_cursor": next_cursor})


@blueprint.get("/<batch_id>/report.csv")
@documented(REPORT)
def report(batch_id: str) -> Response:
    find_batch(batch_id)
    return batchfiles.report_response(services(), batch_id)


@blueprint.get("/<batch_id>/results.zip")
@documented(RESULTS)
def results(batch_id: str) -> Response:
    batch = find_batch(batch_id)
    return batchfiles.results_response(services(), batch)


@blueprint.delete("/<batch_id>")
@documented(CANCEL)
def cancel_batch(batch_id: str) -> Response:
    """Cancel the batch: items not started yet are canceled, running ones finish."""
    find_batch(batch_id)
    svc = services()
    batches(svc).cancel(batch_id)
    canceled = 0
    for job in batchfiles.all_jobs(svc, batch_id):
        if job.status is Status.QUEUED and _cancel_if_queued(svc.store, job.id):
            canceled += 1
    return jsonify({**_view(batch_id), "canceled": canceled})


def _cancel_if_queued(store: Any, job_id: str) -> bool:
    def change(job: Job) -> bool:
        if job.status is not Status.QUEUED:
            return False
        job.status, job.finished_at = Status.CANCELED, time.time()
        return True

    after = store.update(job_id, change)
    return after is not None and after.status is Status.CANCELED


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidOption(f"{name}: an integer is expected") from exc
    # Redis list indexes are 64-bit: a larger one is a store error, not an empty page.
    if not 0 <= number <= MAX_INT_ARG:
        raise InvalidOption(f"{name}: an integer from 0 to {MAX_INT_ARG} is expected")
    return number
