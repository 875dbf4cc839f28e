"""Turning an upload into a queued job: check, store the inputs, record, enqueue."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from api.services import Services
from api.uploads import Upload, option_fields, read_image
from shared import capacity
from shared.errors import InvalidImage, InvalidOption, QueueUnavailable
from shared.jobs import Job, new_job_id
from shared.options import MODEL_NAMES, ProcessOptions
from shared.tasks import storage_keys


def parse_options(form: MultiDict[str, str], overrides: dict[str, Any]) -> ProcessOptions:
    """The job's options from the form (plus fixed overrides), model names checked."""
    options = ProcessOptions.parse({**option_fields(form), **overrides})
    if options.model is not None and options.model not in MODEL_NAMES:
        raise InvalidOption(f"model: unknown model {options.model!r}; use one of {MODEL_NAMES}")
    return options


def _accepted_megapixels(svc: Services) -> float:
    """The API's limit, lowered to the largest size class a live worker holds."""
    return capacity.accepted_megapixels(
        svc.store.redis,
        configured=svc.settings.max_megapixels,
        max_age=svc.settings.ready_heartbeat_max_age,
    )


def _uploads(
    svc: Services, files: MultiDict[str, FileStorage], options: ProcessOptions, wants_truth: bool
) -> dict[str, Upload]:
    limits = {
        "max_megapixels": _accepted_megapixels(svc),
        "max_bytes": svc.settings.max_upload_bytes,
    }
    found = {"original": read_image(files, "image", **limits)}
    background = read_image(files, "background", required=options.mode == "image", **limits)
    if background is not None:
        if options.mode != "image":
            raise InvalidOption("background: goes with mode=image")
        found["background"] = background
    truth = read_image(files, "mask", required=wants_truth, **limits)
    if truth is not None:
        image, mask = found["original"].info.oriented_size, truth.info.oriented_size
        if image != mask:
            raise InvalidImage(
                f"mask: it is {mask[0]}x{mask[1]} but the image is {image[0]}x{image[1]}"
            )
        found["truth"] = truth
    return {name: upload for name, upload in found.items() if upload is not None}


def submit(
    svc: Services,
    form: MultiDict[str, str],
    files: MultiDict[str, FileStorage],
    *,
    idempotency_key: str | None = None,
    overrides: dict[str, Any] | None = None,
    wants_truth: bool = False,
) -> tuple[Job, bool]:
    """Store the uploads, record the job and enqueue it; returns (job, created).

    With an Idempotency-Key seen before, nothing new is stored and the first job comes back.
    """
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidOption("Idempotency-Key: 1 to 255 characters")
    options = parse_options(form, overrides or {})
    uploads = _uploads(svc, files, options, wants_truth)
    job_id = new_job_id()
    keys = storage_keys(job_id)
    for name, upload in uploads.items():
        svc.storage.put(keys[name], upload.data, content_type=upload.info.media_type)
    job = Job(
        id=job_id,
        options=options.model_dump(mode="json", exclude_none=True),
        input=uploads["original"].facts(),
        files={name: keys[name] for name in uploads},
    )
    job, created = svc.store.create(job, idempotency_key=idempotency_key)
    if not created:
        svc.storage.delete_prefix(keys["prefix_inputs"])
        return job, False
    try:
        svc.queue.send(job_id, queue=capacity.queue_for_input(job.input))
    except QueueUnavailable as exc:
        svc.store.fail(job_id, exc.code, exc.message)
        raise
    return job, True
