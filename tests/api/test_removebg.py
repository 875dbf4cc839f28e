"""The remove.bg-compatible routes with the in-process worker (tiny model)."""

from __future__ import annotations

import base64
import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from shared.keys import KeyStore
from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo

ROUTE = "/v1.0/removebg"


def _file(width: int = 240, height: int = 180) -> tuple[io.BytesIO, str]:
    return io.BytesIO(encoded(subject_photo(width, height))), "photo.jpg"


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_multipart_answers_the_cutout_with_removebg_headers(inline_api: Api) -> None:
    response = inline_api.client.post(
        ROUTE, data={"image_file": _file(), "size": "regular", "type_level": "none"}
    )
    assert response.status_code == 200, response.get_json()
    picture = _image(response.data)
    assert (picture.format, picture.mode, picture.size) == ("PNG", "RGBA", (240, 180))
    headers = response.headers
    assert (headers["X-Width"], headers["X-Height"]) == ("240", "180")
    assert headers["X-Credits-Charged"] == "0" and headers["X-Type"] == "other"
    box = [int(headers[f"X-Foreground-{k}"]) for k in ("Left", "Top", "Width", "Height")]
    alpha = picture.getchannel("A").point(lambda v: 255 if v >= 128 else 0)
    left, top, right, bottom = alpha.getbbox()
    assert box == [left, top, right - left, bottom - top]
    assert 0 < box[2] < 240 and "X-Cutout-Warning" not in headers


def test_json_body_with_base64_and_a_json_answer(inline_api: Api) -> None:
    payload = {
        "image_file_b64": base64.b64encode(_file()[0].getvalue()).decode(),
        "bg_color": "ff0000",
        "crop": True,
    }
    response = inline_api.client.post(ROUTE, json=payload, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    picture = _image(base64.b64decode(data["result_b64"]))
    assert picture.format == "JPEG" and picture.size[0] < 240  # cropped, opaque red
    assert picture.getpixel((1, 1))[0] > 200 and picture.getpixel((1, 1))[1] < 60
    assert {"foreground_top", "foreground_left", "foreground_width", "foreground_height"} <= set(
        data
    )


def test_size_preview_limits_the_megapixels(inline_api: Api) -> None:
    response = inline_api.client.post(ROUTE, data={"image_file": _file(800, 600)})
    assert response.status_code == 200, response.get_json()
    width, height = _image(response.data).size
    assert width * height <= 250_000 and width == int(response.headers["X-Width"]) > 500


def test_channels_alpha_and_zip(inline_api: Api) -> None:
    alpha = inline_api.client.post(ROUTE, data={"image_file": _file(), "channels": "alpha"})
    assert _image(alpha.data).mode == "L"
    bundle = inline_api.client.post(ROUTE, data={"image_file": _file(), "format": "zip"})
    assert bundle.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        assert sorted(archive.namelist()) == ["alpha.png", "color.jpg"]
        assert _image(archive.read("color.jpg")).mode == "RGB"
        assert _image(archive.read("alpha.png")).mode == "L"


def test_unsupported_options_are_accepted_with_a_warning(inline_api: Api) -> None:
    response = inline_api.client.post(
        ROUTE, data={"image_file": _file(), "roi": "10% 10% 90% 90%", "semitransparency": "false"}
    )
    assert response.status_code == 200
    warnings = response.headers.getlist("X-Cutout-Warning")
    assert any("roi" in w for w in warnings) and any("semitransparency" in w for w in warnings)


def test_scale_position_and_shadow_map_onto_framing(inline_api: Api) -> None:
    response = inline_api.client.post(
        ROUTE,
        data={
            "image_file": _file(),
            "size": "full",
            "scale": "50%",
            "position": "50% 100%",
            "add_shadow": "true",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert not response.headers.getlist("X-Cutout-Warning")
    job = inline_api.store.get(response.headers["X-Job-Id"])
    assert job is not None
    width, height = job.input["width"], job.input["height"]
    assert job.options["canvas"] == [width, height] and job.options["scale"] == 0.5
    assert job.options["vertical_alignment"] == "bottom" and job.options["shadow"] == "drop"
    assert (int(response.headers["X-Width"]), int(response.headers["X-Height"])) == (width, height)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({}, "invalid_option"),
        ({"image_file": (io.BytesIO(b"not an image"), "x.txt")}, "unsupported_media_type"),
        ({"image_file": _file(), "size": "huge"}, "invalid_option"),
        ({"image_file": _file(), "crop_margin": "lots", "crop": "true"}, "invalid_option"),
    ],
)
def test_errors_use_removebg_shape_and_status(inline_api: Api, data: dict, code: str) -> None:
    response = inline_api.client.post(ROUTE, data=data)
    assert response.status_code == 400
    (error,) = response.get_json()["errors"]
    assert error["code"] == code and error["title"] and error["detail"]


def test_a_bad_key_is_403_and_a_good_x_api_key_works(inline_api: Api) -> None:
    keys: KeyStore = inline_api.app.extensions["cutout"].keys
    inline_api.app.extensions["cutout"].settings.auth = "required"
    key, _ = keys.create("acme")
    refused = inline_api.client.post(ROUTE, data={"image_file": _file()})
    assert refused.status_code == 403 and refused.get_json()["errors"][0]["code"]
    wrong = inline_api.client.get("/v1.0/account", headers={"X-Api-Key": "nope"})
    assert wrong.status_code == 403 and "WWW-Authenticate" not in wrong.headers
    ok = inline_api.client.post(ROUTE, data={"image_file": _file()}, headers={"X-Api-Key": key})
    assert ok.status_code == 200
    job = inline_api.store.get(ok.headers["X-Job-Id"])
    assert job is not None and job.tenant == "acme"


def test_account_reports_unmetered_credits(api: Api) -> None:
    attributes = api.client.get("/v1.0/account").get_json()["data"]["attributes"]
    assert attributes["credits"]["total"] > 0 and attributes["api"]["sizes"] == "all"


def test_an_image_url_on_loopback_is_refused_by_the_address_guard(api: Api) -> None:
    response = api.client.post(ROUTE, data={"image_url": "http://127.0.0.1:9/a.jpg"})
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["code"] == "destination_refused"


@pytest.fixture
def image_server() -> Iterator[str]:
    """A loopback HTTP server with one photo at /photo.jpg (and 404 elsewhere)."""
    photo = encoded(subject_photo())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            found = self.path == "/photo.jpg"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(photo if found else b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_image_url_is_fetched_where_private_addresses_are_allowed(
    inline_api: Api, image_server: str
) -> None:
    inline_api.settings.webhook_allow_private = True
    response = inline_api.client.post(ROUTE, json={"image_url": f"{image_server}/photo.jpg"})
    assert response.status_code == 200, response.get_json()
    assert _image(response.data).size == (240, 180)
    missing = inline_api.client.post(ROUTE, json={"image_url": f"{image_server}/gone.jpg"})
    assert missing.status_code == 400
    assert missing.get_json()["errors"][0]["code"] == "fetch_failed"


def test_a_job_not_finished_in_time_is_504_naming_the_job(api: Api) -> None:
    response = api.client.post(ROUTE, data={"image_file": _file()})
    assert response.status_code == 504
    (error,) = response.get_json()["errors"]
    assert error["code"] == "timeout" and api.queue.sent[0] in error["detail"]


def test_a_failed_job_is_a_400_with_its_code(inline_api: Api) -> None:
    truncated = encoded(subject_photo())[:300]
    response = inline_api.client.post(ROUTE, data={"image_file": (io.BytesIO(truncated), "t.jpg")})
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["code"] == "invalid_image"
