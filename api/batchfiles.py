"""A batch's items read back: pages of jobs, the CSV report, the streamed results zip."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, url_for
from zipstream import ZIP_STORED, ZipStream

from api.services import Services
from shared.batches import Batch, BatchStore
from shared.disposition import content_disposition
from shared.jobs import Job, JobStore, Status
from shared.metrics.report_columns import PROXY_COLUMNS
from shared.storage import Storage
from shared.storage.base import CHUNK_BYTES

SCAN = 200  # item records read per Redis round trip
EXTENSIONS = {"image/png": "png", "image/webp": "webp", "image/jpeg": "jpg"}
REPORT_COLUMNS = [
    "name",
    "job_id",
    "status",
    "error_code",
    "error_message",
    "deduplicated_from",
    "width",
    "height",
    *PROXY_COLUMNS,
    "quality_score",
    "wait_ms",
    "processing_ms",
    "inference_ms",
    "result_url",
]


def _store(svc: Services) -> BatchStore:
    return BatchStore(svc.store.redis, retention_seconds=svc.settings.job_retention_seconds)


def _records(store: JobStore, ids: list[str]) -> list[tuple[str, Job | None]]:
    raw = store.redis.mget([store._key(job_id) for job_id in ids]) if ids else []
    pairs = zip(ids, raw, strict=True)
    return [(job_id, Job.from_json(value) if value else None) for job_id, value in pairs]


def scan(svc: Services, batch_id: str, start: int = 0) -> Iterator[tuple[str, Job | None]]:
    """Every item from position `start` on, as (job id, record or None if it expired)."""
    position = start
    while ids := _store(svc).item_ids(batch_id, position, SCAN):
        yield from _records(svc.store, ids)
        position += len(ids)


def all_jobs(svc: Services, batch_id: str) -> Iterator[Job]:
    return (job for _, job in scan(svc, batch_id) if job is not None)


def page(
    svc: Services, batch_id: str, cursor: int, limit: int, status: str | None
) -> tuple[list[tuple[str, Job | None]], int | None]:
    """Up to `limit` items with `status` from `cursor`; the next cursor (None at the end).

    Without a status filter every position is listed, an expired record as (id, None), so
    a client can count positions.
    """
    found: list[tuple[str, Job | None]] = []
    position = cursor
    for job_id, job in scan(svc, batch_id, cursor):
        position += 1
        wanted = job is None if status is None else False
        if job is not None:
            wanted = status is None or job.status.value == status
        if wanted:
            found.append((job_id, job))
            if len(found) == limit:
                break
    more = len(found) == limit and bool(_store(svc).item_ids(batch_id, position, 1))
    return found, position if more else None


def _plain(value: Any) -> str:
    """CSV cells as plain values: lists joined with ';', booleans lower-case, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(_plain(v) for v in value)
    return str(value)


def _ms(start: float | None, end: float | None) -> float | None:
    return round((end - start) * 1000, 1) if start is not None and end is not None else None


def report_row(job_id: str, job: Job | None) -> dict[str, str]:
    """One report line; `result_url` is filled in by the caller (it needs the request)."""
    if job is None:
        return {"job_id": job_id, "status": "expired"}
    proxy = (job.metrics or {}).get("proxy") or {}
    quality = (job.metrics or {}).get("quality") or {}
    row: dict[str, Any] = {
        "name": job.input.get("filename"),
        "job_id": job.id,
        "status": job.status.value,
        "error_code": (job.error or {}).get("code"),
        "error_message": (job.error or {}).get("message"),
        "deduplicated_from": job.deduplicated_from,
        "width": job.input.get("width"),
        "height": job.input.get("height"),
        **{name: proxy.get(name) for name in PROXY_COLUMNS},
        "quality_score": quality.get("score") if isinstance(quality, dict) else quality,
        "wait_ms": _ms(job.created_at, job.started_at),
        "processing_ms": _ms(job.started_at, job.finished_at),
        "inference_ms": (job.timings_ms or {}).get("inference"),
    }
    return {name: _plain(value) for name, value in row.items()}


def report_lines(svc: Services, batch_id: str, result_url: Any) -> Iterator[str]:
    """The CSV report, a line at a time (never the whole batch in memory)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, REPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for job_id, job in scan(svc, batch_id):
        row = report_row(job_id, job)
        if job is not None and job.status is Status.SUCCEEDED:
            row["result_url"] = result_url(job.id)
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def _result_url_maker() -> Any:
    # Built while the request is alive: the streaming generator runs after it.
    template = url_for("jobs.get_result", job_id="JOBID", _external=True)
    return lambda job_id: template.replace("JOBID", job_id)


def report_response(svc: Services, batch_id: str) -> Response:
    lines = report_lines(svc, batch_id, _result_url_maker())
    response = Response(lines, mimetype="text/csv")
    response.headers["Content-Disposition"] = content_disposition(
        f"{batch_id}-report.csv", "attachment"
    )
    return response


def _chunks(storage: Storage, key: str) -> Iterator[bytes]:
    with storage.open(key) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk


def archive_name(label: str, media_type: str, taken: set[str]) -> str:
    """A flat file name for an item's result: its label's last part, new extension, unique."""
    base = label.replace("\\", "/").rsplit("/", 1)[-1].lstrip(".") or "item"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    extension = EXTENSIONS.get(media_type, "bin")
    name, number = f"{stem}.{extension}", 1
    while name.lower() in taken:
        number += 1
        name = f"{stem}-{number}.{extension}"
    taken.add(name.lower())
    return name


def results_zip(svc: Services, batch_id: str, report: Iterable[str]) -> ZipStream:
    """The succeeded items' results and the report, read from storage as the zip is sent."""
    archive = ZipStream(compress_type=ZIP_STORED)
    taken: set[str] = {"report.csv"}
    for job in all_jobs(svc, batch_id):
        output = job.outputs.get("result") if job.status is Status.SUCCEEDED else None
        if output is None:
            continue
        name = archive_name(str(job.input.get("filename") or job.id), output["media_type"], taken)
        archive.add(_chunks(svc.storage, output["key"]), name)
    archive.add((line.encode() for line in report), "report.csv")
    return archive


def results_response(svc: Services, batch: Batch) -> Response:
    report = report_lines(svc, batch.id, _result_url_maker())
    response = Response(iter(results_zip(svc, batch.id, report)), mimetype="application/zip")
    filename = f"{batch.name or batch.id}-results.zip"
    response.headers["Content-Disposition"] = content_disposition(filename, "attachment")
    return response
