"""Serving a job's output: a redirect to a presigned URL (S3), or a stream (local storage)."""

from __future__ import annotations

from flask import Response, redirect
from werkzeug.wsgi import FileWrapper

from api.services import Services
from shared.disposition import content_disposition
from shared.errors import JobNotFinished, NotFound
from shared.jobs import Job, Status

EXTENSIONS = {"image/png": "png", "image/webp": "webp", "image/jpeg": "jpg"}


def send_output(svc: Services, job: Job, name: str, *, allow_redirect: bool = True) -> Response:
    """The file `name` ('result' or 'mask') of a succeeded job.

    The original service's routes answer with the image itself (its clients expect the
    bytes, not a redirect), so they pass `allow_redirect=False`.
    """
    if job.status is not Status.SUCCEEDED:
        raise JobNotFinished(f"job {job.id} is {job.status.value}; files exist once it succeeded")
    output = job.outputs.get(name)
    if output is None:
        raise NotFound(f"job {job.id} has no {name}")
    filename = f"{job.id}-{name}.{EXTENSIONS.get(output['media_type'], 'bin')}"
    url = svc.storage.url(output["key"], filename=filename) if allow_redirect else None
    if url is not None:
        return redirect(url, code=302)
    stream = svc.storage.open(output["key"])
    response = Response(FileWrapper(stream), mimetype=output["media_type"], direct_passthrough=True)
    response.headers["Content-Length"] = str(svc.storage.size(output["key"]))
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response
