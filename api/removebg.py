"""A remove.bg-compatible API: `POST /v1.0/removebg` and `GET /v1.0/account`.

Existing remove.bg integrations point their base URL at Cutout and keep their code: the key
comes in `X-Api-Key`, the answer is the image with remove.bg's `X-*` headers (or JSON with
`result_b64` for `Accept: application/json`), and errors use remove.bg's shape and statuses.
The call is an ordinary Cutout job of the key's tenant, waited for like `/remove-bg`.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict

from api.auth import current_tenant
from api.removebg_params import RemoveBgRequest, job_fields, parse_request
from api.services import Services, services
from api.submission import submit
from shared import netguard
from shared.errors import CutoutError, http_status_for
from shared.imageinfo import probe
from shared.jobs import Job, Status

blueprint = Blueprint("removebg", __name__, url_prefix="/v1.0")
# Cutout meters nothing; clients that check their balance before a call get a large number.
UNMETERED_CREDITS = 1_000_000
# Statuses remove.bg does not use, as the ones its clients expect.
STATUSES = {401: 403, 413: 400, 415: 400, 422: 400}
# A URL that could not be fetched is the request's fault for remove.bg (400), not a 502/504.
CODE_STATUSES = {"fetch_failed": 400, "fetch_timeout": 400}
TITLES = {403: "Forbidden", 400: "Invalid parameters or input file", 429: "Rate limit exceeded"}
# Longest a client's server may take to send an image_url or bg_image_url.
FETCH_SECONDS = 15.0
# The subject's box counts pixels at least half opaque, so faint specks do not widen it.
OPAQUE_ENOUGH = 128


@blueprint.after_request
def _removebg_errors(response: Response) -> Response:
    """Every error on these routes (auth and rate limits included) in remove.bg's shape."""
    if response.status_code < 400 or not response.is_json:
        return response
    body = response.get_json(silent=True) or {}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return response
    status = CODE_STATUSES.get(error.get("code", ""), response.status_code)
    status = STATUSES.get(status, status)
    title = TITLES.get(status, error.get("code", "error").replace("_", " ").capitalize())
    detail = {"title": title, "detail": error.get("message", ""), "code": error.get("code")}
    response.set_data(json.dumps({"errors": [detail]}))
    response.status_code = status
    response.headers.pop("WWW-Authenticate", None)
    return response


def _fetch(url: str, svc: Services) -> bytes:
    """A file from a client's URL, through the address guard (public addresses only)."""
    fetched = netguard.fetch(
        url,
        max_bytes=svc.settings.max_upload_bytes,
        timeout=FETCH_SECONDS,
        allow_private=svc.settings.webhook_allow_private,
        resolver=svc.resolver,
    )
    return fetched.data


def _upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_length=len(data))


def _submit(svc: Services, call: RemoveBgRequest) -> Job:
    if call.image is None:
        call.image = _fetch(str(call.image_url), svc)
    if call.background is None and call.background_url:
        call.background = _fetch(call.background_url, svc)
    size = probe(call.image, max_megapixels=svc.settings.max_megapixels).oriented_size
    form = MultiDict(job_fields(call, size))
    files = MultiDict({"image": _upload(call.image, "image_file")})
    if call.background is not None and form.get("mode") == "image":
        files["background"] = _upload(call.background, "bg_image_file")
    job, _ = submit(svc, form, files, tenant=current_tenant(), route=request.path)
    return svc.store.wait(job.id, svc.settings.sync_wait_seconds) or job


class JobOutcome(CutoutError):
    """A job that did not succeed, answered with its own code (and that code's status)."""

    def __init__(self, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status or http_status_for(code)


def _check_finished(job: Job, svc: Services) -> None:
    if job.status is Status.SUCCEEDED:
        return
    if job.status.is_terminal():
        error = job.error or {"code": job.status.value, "message": f"the job was {job.status}"}
        raise JobOutcome(error["code"], error["message"])
    waited = svc.settings.sync_wait_seconds
    raise JobOutcome(
        "timeout",
        f"the result was not ready within {waited:.0f} s; the job goes on as {job.id}",
        504,
    )


def _box(mask: Image.Image) -> dict[str, int]:
    solid = mask.point(lambda value: 255 if value >= OPAQUE_ENOUGH else 0)
    left, top, right, bottom = solid.getbbox() or (0, 0, 0, 0)
    return {"left": left, "top": top, "width": right - left, "height": bottom - top}


def _foreground(job: Job, data: bytes, svc: Services, warnings: list[str]) -> dict[str, int]:
    """The subject's box in the result, as remove.bg counts it (pixels at least half opaque).

    From the result's own alpha when it has one; for an opaque result, the box the worker
    recorded (which includes soft edges), else the mask's.
    """
    with Image.open(io.BytesIO(data)) as result:
        if result.mode in ("RGBA", "LA", "L"):
            return _box(result.getchannel("A") if "A" in result.mode else result)
        size = result.size
    recorded = job.outputs["result"].get("foreground")
    if recorded:
        return {key: int(recorded[key]) for key in ("left", "top", "width", "height")}
    with Image.open(io.BytesIO(svc.storage.get(job.outputs["mask"]["key"]))) as mask:
        if job.options.get("crop"):
            warnings.append("X-Foreground-* approximate: cropped result on a background")
        return _box(mask.convert("L").resize(size))


def _zip(data: bytes) -> bytes:
    """remove.bg's zip: color.jpg (the subject's colours) and alpha.png (its opacity)."""
    with Image.open(io.BytesIO(data)) as result:
        rgba = result.convert("RGBA")
    color, alpha = io.BytesIO(), io.BytesIO()
    rgba.convert("RGB").save(color, "JPEG", quality=90)
    rgba.getchannel("A").save(alpha, "PNG")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        bundle.writestr("color.jpg", color.getvalue())
        bundle.writestr("alpha.png", alpha.getvalue())
    return archive.getvalue()


def _answer(job: Job, call: RemoveBgRequest, svc: Services) -> Response:
    output = job.outputs["result"]
    data = svc.storage.get(output["key"])
    box = _foreground(job, data, svc, call.warnings)
    media_type = output["media_type"]
    if call.format == "zip":
        data, media_type = _zip(data), "application/zip"
    detected = call.type if call.type != "auto" else "other"
    if "application/json" in request.headers.get("Accept", ""):
        body: dict[str, Any] = {"result_b64": base64.b64encode(data).decode("ascii")}
        body.update({f"foreground_{key}": value for key, value in box.items()})
        response = jsonify({"data": body})
    else:
        response = current_app.response_class(data, mimetype=media_type)
    response.headers.update(
        {
            "X-Width": str(output["width"]),
            "X-Height": str(output["height"]),
            "X-Type": detected,
            "X-Credits-Charged": "0",
            "X-Job-Id": job.id,
            **{f"X-Foreground-{key.capitalize()}": str(value) for key, value in box.items()},
        }
    )
    for warning in call.warnings:
        response.headers.add("X-Cutout-Warning", warning)
    return response


@blueprint.post("/removebg")
def remove_background() -> Response:
    """Cut out one image, remove.bg style (see docs/api.md for the parameters).
    ---
    post:
      summary: remove.bg-compatible background removal
      tags: [remove.bg]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {$ref: "#/components/schemas/RemoveBgForm"}
          application/x-www-form-urlencoded:
            schema: {$ref: "#/components/schemas/RemoveBgForm"}
          application/json:
            schema: {$ref: "#/components/schemas/RemoveBgForm"}
      responses:
        200:
          description: The image with X-Width, X-Height, X-Type, X-Credits-Charged and
            X-Foreground-Top/Left/Width/Height headers; JSON with Accept application/json
          content:
            image/png: {schema: {type: string, format: binary}}
            image/jpeg: {schema: {type: string, format: binary}}
            image/webp: {schema: {type: string, format: binary}}
            application/zip: {schema: {type: string, format: binary}}
            application/json:
              schema: {$ref: "#/components/schemas/RemoveBgJson"}
        default: {$ref: "#/components/responses/RemoveBgError"}
    """
    svc = services()
    call = parse_request(request)
    job = _submit(svc, call)
    _check_finished(job, svc)
    return _answer(job, call, svc)


@blueprint.get("/account")
def account() -> Response:
    """remove.bg's account answer; nothing is metered, so credits never run out.
    ---
    get:
      summary: remove.bg-compatible account
      tags: [remove.bg]
      responses:
        200:
          description: Credits (unmetered)
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Account"}
        default: {$ref: "#/components/responses/RemoveBgError"}
    """
    credits = {"total": UNMETERED_CREDITS, "subscription": 0, "payg": UNMETERED_CREDITS}
    attributes = {
        "credits": {**credits, "enterprise": 0},
        "api": {"free_calls": UNMETERED_CREDITS, "sizes": "all"},
    }
    return jsonify({"data": {"attributes": attributes}})
