"""Turning an upload into a queued job: check, store the inputs, record, enqueue."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from api.backpressure import check_queue
from api.services import Services
from api.uploads import Upload, option_fields, read_image
from shared import capacity, idempotency, webhooks
from shared.errors import InvalidImage, InvalidOption, QueueUnavailable
from shared.idempotency import Claim
from shared.imageinfo import input_warnings
from shared.jobs import Job, new_job_id
from shared.options import MODEL_NAMES, ProcessOptions
from shared.routing import route
from shared.tasks import storage_keys


def parse_options(form: MultiDict[str, str], overrides: dict[str, Any]) -> ProcessOptions:
    """The job's options from the form (plus fixed overrides), model names checked."""
    options = ProcessOptions.parse({**option_fields(form), **overrides})
    if options.model is not None and options.model not in MODEL_NAMES:
        raise InvalidOption(f"model: unknown model {options.model!r}; use one of {MODEL_NAMES}")
    return options


def webhook_url(svc: Services, form: MultiDict[str, str]) -> str | None:
    """The form's `webhook_url`, checked by the address guard (None when not given)."""
    url = form.get("webhook_url", "").strip()
    if not url:
        return None
    allow_private = svc.settings.webhook_allow_private
    return webhooks.validate_url(url, allow_private=allow_private, resolver=svc.resolver)


def accepted_megapixels(svc: Services) -> float:
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
        "max_megapixels": accepted_megapixels(svc),
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
    tenant: str,
    route: str,
    idempotency_key: str | None = None,
    overrides: dict[str, Any] | None = None,
    wants_truth: bool = False,
) -> tuple[Job, bool]:
    """Store the uploads, record the job and enqueue it; returns (job, created).

    With an Idempotency-Key the tenant used before for the same request, nothing new is
    stored and the first job comes back; with a different request it is an error.
    """
    options = parse_options(form, overrides or {})
    callback = webhook_url(svc, form)
    uploads = _uploads(svc, files, options, wants_truth)
    options_json = options.model_dump(mode="json", exclude_none=True)
    sent = {name: upload.data for name, upload in uploads.items()}
    asked = {**options_json, "webhook_url": callback} if callback else options_json
    claim = idempotency.make_claim(
        tenant, idempotency_key, idempotency.fingerprint(route, asked, sent)
    )
    earlier = idempotency.replay(svc.store, claim) if claim else None
    if earlier is not None:
        return earlier, False
    check_queue(svc)
    job_id = new_job_id()
    keys = storage_keys(job_id)
    for name, upload in uploads.items():
        svc.storage.put(keys[name], upload.data, content_type=upload.info.media_type)
    job = Job(
        id=job_id,
        tenant=tenant,
        options=options_json,
        input=uploads["original"].facts(),
        files={name: keys[name] for name in uploads},
        warnings=input_warnings(uploads["original"].info),
        webhook_url=callback,
    )
    return _record_and_send(svc, job, claim)


def _record_and_send(svc: Services, job: Job, claim: Claim | None) -> tuple[Job, bool]:
    if claim is None:
        svc.store.create(job)
    else:
        recorded, created = idempotency.create(svc.store, job, claim)
        if not created:  # an identical request won the race: keep its job, drop our files
            svc.storage.delete_prefix(storage_keys(job.id)["prefix_inputs"])
            return recorded, False
    try:
        svc.queue.send(job.id, queue=route(job).queue)
    except QueueUnavailable as exc:
        svc.store.fail(job.id, exc.code, exc.message)
        if claim is not None:
            idempotency.release(svc.store, claim, job.id)
        raise
    if claim is not None:
        idempotency.confirm(svc.store, claim, job.id)
    return job, True
