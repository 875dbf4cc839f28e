"""Reading a batch request: the options for every item, the images, the zips and URL lists.

Images sent with the request become items at once; a zip or a URL list is only stored and
handed to the worker's expand task (never opened inside the request).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Request
from werkzeug.datastructures import FileStorage, MultiDict

from api.queue import TaskQueue
from api.services import Services
from api.submission import accepted_megapixels, parse_options, webhook_url
from shared.batches import Batch, BatchStore, source_key
from shared.batchitems import ItemMaker
from shared.errors import FileTooLarge, InvalidOption, QueueUnavailable
from shared.jobs import Job
from shared.tasks import EXPAND_PRIORITY, EXPAND_TASK

BATCH_FIELDS = ("name", "webhook_url", "stay_open", "progress_every")
FILE_FIELDS = ("images", "archive", "urls")
ZIP_MAGIC = b"PK\x03\x04"
TRUE = {"1", "true", "yes", "on"}


@dataclass
class Intake:
    """What one request brings: uploaded images, and sources (zip/url list) to expand."""

    images: list[FileStorage] = field(default_factory=list)
    sources: list[tuple[str, str, FileStorage | bytes]] = field(default_factory=list)


def batches(svc: Services) -> BatchStore:
    return BatchStore(svc.store.redis, retention_seconds=svc.settings.job_retention_seconds)


def new_batch_fields(values: MultiDict[str, str] | dict[str, Any], svc: Services) -> dict:
    """The batch's own fields and its items' options, checked."""
    skip = (*BATCH_FIELDS, *FILE_FIELDS)
    options_in = {k: _text(k, v) for k, v in values.items() if k not in skip}
    options = parse_options(MultiDict(options_in), {})
    webhook = webhook_url(svc, MultiDict({"webhook_url": str(values.get("webhook_url") or "")}))
    every = _number(values.get("progress_every"), "progress_every")
    if every and every < svc.settings.batch_progress_min_seconds:
        raise InvalidOption(
            f"progress_every: at least {svc.settings.batch_progress_min_seconds} seconds"
        )
    return {
        "name": str(values.get("name") or "")[:200] or None,
        "webhook_url": webhook,
        "progress_every": every,
        "options": options.model_dump(mode="json", exclude_none=True),
    }


def stays_open(values: MultiDict[str, str] | dict[str, Any]) -> bool:
    return str(values.get("stay_open", "")).lower() in TRUE


def read_intake(request: Request) -> tuple[Intake, MultiDict[str, str] | dict[str, Any]]:
    """The request's items and its other fields (multipart form, or a JSON URL list)."""
    intake = Intake()
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidOption("body: a JSON object is expected")
        urls = body.pop("urls", None)
        if urls is not None:
            intake.sources.append(("json", "urls.json", json.dumps(urls).encode()))
        return intake, body
    for upload in request.files.getlist("images"):
        if upload.stream.read(4) == ZIP_MAGIC:
            intake.sources.append(("zip", upload.filename or "archive.zip", upload))
        else:
            intake.images.append(upload)
        upload.stream.seek(0)
    for upload in request.files.getlist("archive"):
        intake.sources.append(("zip", upload.filename or "archive.zip", upload))
    for upload in request.files.getlist("urls"):
        intake.sources.append((_list_kind(upload), upload.filename or "urls", upload))
    if request.form.get("urls"):
        text = request.form["urls"].encode()
        intake.sources.append((_list_kind(text), "urls", text))
    return intake, request.form


def add_intake(svc: Services, batch: Batch, intake: Intake) -> dict[str, list]:
    """Store the sources and queue their expansion, then add the images as items."""
    store = batches(svc)
    sources = []
    for kind, name, content in intake.sources:
        sources.append(_add_source(svc, store, batch, kind, name, content))
    maker = item_maker(svc, store)
    limit = svc.settings.max_upload_bytes
    items = [_add_upload(maker, batch, upload, limit) for upload in intake.images]
    return {"added": [item_summary(job) for job in items], "sources": sources}


def item_maker(svc: Services, store: BatchStore) -> ItemMaker:
    queue = cast(TaskQueue, svc.queue)
    return ItemMaker(
        store=svc.store,
        batches=store,
        storage=svc.storage,
        send=queue.send_task,
        max_bytes=svc.settings.max_upload_bytes,
        # The same limit as single jobs: an item no live worker's size class holds would
        # wait on a queue nobody consumes.
        max_megapixels=accepted_megapixels(svc),
    )


def item_summary(job: Job) -> dict[str, Any]:
    return {
        "name": job.input.get("filename"),
        "job_id": job.id,
        "status": job.status.value,
        "error": job.error,
        "deduplicated_from": job.deduplicated_from,
    }


def _add_upload(maker: ItemMaker, batch: Batch, upload: FileStorage, limit: int) -> Job:
    data = upload.stream.read(limit + 1)
    name = upload.filename or "image"
    if len(data) > limit:
        return maker.add_failed(batch, name, FileTooLarge(f"images are limited to {limit} bytes"))
    return maker.add_image(batch, name, data)


def _add_source(
    svc: Services, store: BatchStore, batch: Batch, kind: str, name: str, content: Any
) -> dict[str, Any]:
    number = store.add_source(batch.id)
    key = source_key(batch.id, number, kind)
    data = content if isinstance(content, bytes) else content.stream
    svc.storage.put(key, data, content_type="application/octet-stream")
    try:
        cast(TaskQueue, svc.queue).send_task(EXPAND_TASK, [batch.id, key, kind, 0], EXPAND_PRIORITY)
    except QueueUnavailable as exc:
        item_maker(svc, store).add_failed(batch, name, exc)
        store.source_done(batch.id)
    return {"number": number, "kind": kind, "name": name}


def _list_kind(content: FileStorage | bytes) -> str:
    if isinstance(content, FileStorage):
        if (content.filename or "").lower().endswith(".csv"):
            return "csv"
        head = content.stream.read(64)
        content.stream.seek(0)
    else:
        head = content[:64]
    return "json" if head.lstrip()[:1] in (b"[", b"{") else "csv"


def _text(name: str, value: Any) -> str:
    """A JSON body's option as form text: options are read from text either way."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return json.dumps(value)  # true/false, as a form would send them
    raise InvalidOption(f"{name[:64]}: a string, a number or a boolean is expected")


def _number(value: Any, name: str) -> float:
    if value in (None, ""):
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidOption(f"{name}: a number of seconds is expected") from exc
