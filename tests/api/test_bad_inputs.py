"""Every bad file and malformed request gets a stable 4xx code and message, never a 500.

Files whose header is fine are queued (202); the worker's decoder then ends their job with a
stable code (or decodes them, for awkward but valid files), never `internal_error`.
"""

from __future__ import annotations

import gzip
import io

import pytest

from shared.jobs import Status
from tests.api.bad_inputs import CORPUS, BadFile
from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo

HEADER_PASSES = [bad for bad in CORPUS if bad.status == 202]
PHOTO = encoded(subject_photo(64, 48))


def _post(api: Api, bad: BadFile, route: str = "/v1/jobs"):
    data = {"image": (io.BytesIO(bad.make()), bad.filename)}
    return api.client.post(route, data=data, content_type="multipart/form-data")


def _error(response) -> dict:  # noqa: ANN001 - a test response
    body = response.get_json()
    assert body is not None, response.data[:200]
    return body["error"]


@pytest.mark.parametrize("bad", CORPUS, ids=lambda bad: bad.name)
def test_the_api_answers_each_bad_file_with_its_code(api: Api, bad: BadFile) -> None:
    response = _post(api, bad)
    assert response.status_code == bad.status, response.get_json()
    if bad.code is None:
        return
    error = _error(response)
    assert error["code"] == bad.code and error["message"]
    assert api.storage.files == {} and api.queue.sent == []  # nothing kept of a refused file


@pytest.mark.parametrize("bad", HEADER_PASSES, ids=lambda bad: bad.name)
def test_the_worker_ends_each_queued_file_with_a_stable_outcome(
    inline_api: Api, bad: BadFile
) -> None:
    job = _post(inline_api, bad).get_json()
    finished = inline_api.store.get(job["id"])
    assert finished is not None
    if bad.decoded is None:
        assert finished.status is Status.SUCCEEDED, finished.error
    else:
        assert finished.status is Status.FAILED
        assert finished.error is not None and finished.error["code"] == bad.decoded


@pytest.mark.parametrize(
    "bad", [bad for bad in HEADER_PASSES if bad.decoded], ids=lambda bad: bad.name
)
def test_a_synchronous_route_answers_a_bad_body_with_its_code(
    inline_api: Api, bad: BadFile
) -> None:
    response = _post(inline_api, bad, "/remove-bg")
    assert response.status_code == 422 and _error(response)["code"] == bad.decoded


def test_animated_images_use_the_first_frame_and_say_so(api: Api) -> None:
    animated = next(bad for bad in CORPUS if bad.name == "animated gif")
    job = _post(api, animated).get_json()
    assert job["input"]["frames"] == 2
    assert any("first of its 2 frames" in warning for warning in job["warnings"])


def test_a_bad_background_is_refused_like_a_bad_image(api: Api) -> None:
    random = next(bad for bad in CORPUS if bad.name == "random bytes")
    data = {
        "image": (io.BytesIO(PHOTO), "p.jpg"),
        "background": (io.BytesIO(random.make()), "bg.jpg"),
        "mode": "image",
    }
    response = api.client.post("/v1/jobs", data=data)
    assert response.status_code == 415
    assert _error(response)["message"].startswith("background:")


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd.jpg",
        "C:\\Windows\\win.ini.jpg",
        "a\x00b\x1b[2J\x7f.jpg",
        "é" * 400 + ".jpg",
    ],
    ids=["unix path", "windows path", "control characters", "long"],
)
def test_file_names_are_kept_as_a_plain_short_name(api: Api, filename: str) -> None:
    data = {"image": (io.BytesIO(PHOTO), filename)}
    response = api.client.post("/v1/jobs", data=data)
    assert response.status_code == 202
    kept = response.get_json()["input"]["filename"]
    assert "/" not in kept and "\\" not in kept and len(kept) <= 255
    assert kept.isprintable()


def _multipart(parts: list[tuple[bytes, bytes]], boundary: bytes = b"XyZ") -> bytes:
    body = b""
    for headers, content in parts:
        body += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    return body + b"--" + boundary + b"--\r\n"


def _raw_post(api: Api, body: bytes, content_type: str = "multipart/form-data; boundary=XyZ"):
    return api.client.post("/v1/jobs", data=body, content_type=content_type)


def test_a_non_utf8_file_name_is_a_clear_400(api: Api) -> None:
    # Werkzeug reads part headers as UTF-8 (RFC 7578); it would otherwise drop the part and
    # the client would be told that it sent no file at all.
    header = b'Content-Disposition: form-data; name="image"; filename="\xff\xfe\x80.jpg"'
    response = _raw_post(api, _multipart([(header, PHOTO)]))
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "malformed_request" and "UTF-8" in error["message"]


@pytest.mark.parametrize("route", ["/v1/jobs", "/v1/batches", "/remove-bg"])
def test_a_field_name_with_a_broken_quote_is_a_400(api: Api, route: str) -> None:
    # `name="odd\"`: the backslash escapes the closing quote, so Werkzeug gives no name.
    field = (b'Content-Disposition: form-data; name="odd\\"', b"true")
    photo = (b'Content-Disposition: form-data; name="image"; filename="a.jpg"', PHOTO)
    body = _multipart([field, photo])
    response = api.client.post(route, data=body, content_type="multipart/form-data; boundary=XyZ")
    assert response.status_code == 400 and _error(response)["code"] == "malformed_request"


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n"
         + PHOTO[:500], "multipart/form-data; boundary=XyZ", "malformed_request"),  # never closed
        (b"garbage without any boundary", "multipart/form-data; boundary=XyZ",
         "malformed_request"),
        (PHOTO, "multipart/form-data", "malformed_request"),  # no boundary parameter at all
        (b"--XyZ\r\nno headers, no blank line", "multipart/form-data; boundary=XyZ",
         "malformed_request"),
        (PHOTO, "image/jpeg", "invalid_option"),  # a raw body instead of a form: no file field
        (b"", "multipart/form-data; boundary=XyZ", "invalid_option"),  # an empty form
    ],
    ids=["unterminated", "no boundary in body", "no boundary", "no part headers", "raw jpeg",
         "empty"],
)  # fmt: skip
def test_a_malformed_body_is_a_400(api: Api, body: bytes, content_type: str, code: str) -> None:
    response = _raw_post(api, body, content_type)
    assert response.status_code == 400 and _error(response)["code"] == code


def test_an_oversized_form_field_is_refused_without_echoing_it(api: Api) -> None:
    data = {"image": (io.BytesIO(PHOTO), "p.jpg"), "bg_color": "#" + "f" * 300_000}
    response = api.client.post("/v1/jobs", data=data)
    assert response.status_code == 413 and _error(response)["code"] == "form_too_large"
    assert len(response.data) < 1000


def test_a_long_option_value_is_refused_without_echoing_it(api: Api) -> None:
    data = {"image": (io.BytesIO(PHOTO), "p.jpg"), "bg_color": "#" + "f" * 5_000}
    response = api.client.post("/v1/jobs", data=data)
    assert response.status_code == 400 and _error(response)["code"] == "invalid_option"
    assert len(response.data) < 1000


def test_a_long_unknown_field_name_is_not_echoed_whole(api: Api) -> None:
    data = {"image": (io.BytesIO(PHOTO), "p.jpg"), "x" * 5000: "1"}
    response = api.client.post("/v1/jobs", data=data)
    assert response.status_code == 400 and _error(response)["code"] == "invalid_option"
    assert len(response.data) < 1000


def test_too_many_fields_are_refused(api: Api) -> None:
    data: dict[str, object] = {f"f{number}": "1" for number in range(500)}
    data["image"] = (io.BytesIO(PHOTO), "p.jpg")
    response = api.client.post("/v1/jobs", data=data)
    assert response.status_code == 413 and _error(response)["code"] == "form_too_large"


def test_many_files_in_one_request_are_refused(api: Api) -> None:
    data = {f"image{number}": (io.BytesIO(PHOTO), "p.jpg") for number in range(40)}
    response = api.client.post("/v1/jobs", data=data)
    assert response.status_code in (400, 413)
    assert _error(response)["code"] in {"invalid_option", "form_too_large"}


def test_a_gzip_encoded_body_is_never_inflated(api: Api) -> None:
    # 20 MB of form compressed to ~20 KB: the API reads bodies as sent, so it stays 20 KB.
    inner = _multipart(
        [(b'Content-Disposition: form-data; name="image"; filename="a.jpg"', bytes(20_000_000))]
    )
    body = gzip.compress(inner)
    response = api.client.post(
        "/v1/jobs",
        data=body,
        content_type="multipart/form-data; boundary=XyZ",
        headers={"Content-Encoding": "gzip"},
    )
    assert response.status_code == 400 and _error(response)["code"] == "malformed_request"
