"""remove.bg's Python client from PyPI, unmodified but for its endpoint, against the live stack.

`removebg.removebg.API_ENDPOINT` is read at call time, so pointing it at the loopback API is
the only change; the client sends its legacy values (`size=regular`, X-Api-Key).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
import requests
from PIL import Image

from shared.keys import KeyStore
from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import Stack, start_stack

removebg = pytest.importorskip("removebg.removebg")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("removebg")
    running = start_stack(folder, require_real_model().parent, CUTOUT_AUTH="required")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api_key(stack: Stack) -> str:
    key, _ = KeyStore(redis.Redis.from_url(stack.redis.url)).create("removebg-client")
    return key


@pytest.fixture
def endpoint(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    url = stack.url("/v1.0/removebg")
    monkeypatch.setattr(removebg, "API_ENDPOINT", url)
    return url


def _assert_cut_out(path: Path, size: tuple[int, int]) -> None:
    picture = Image.open(path)
    assert (picture.format, picture.mode, picture.size) == ("PNG", "RGBA", size)
    alpha = np.asarray(picture.getchannel("A"))
    height, width = alpha.shape
    assert alpha[height // 2, width // 2] > 200, "the subject (the centred disc) was kept"
    assert alpha[3, 3] < 30 and alpha[-3, -3] < 30, "the background was removed"


def test_client_file_upload_gives_a_correct_cutout(
    endpoint: str, api_key: str, tmp_path: Path
) -> None:
    photo = tmp_path / "disc.jpg"
    photo.write_bytes(encoded(subject_photo(480, 360)))
    client = removebg.RemoveBg(api_key, str(tmp_path / "errors.log"))
    client.remove_background_from_img_file(str(photo))  # size="regular": 0.25 MP at most
    written = Path(f"{photo}_no_bg.png")
    _assert_cut_out(written, (480, 360))


def test_client_base64_upload(endpoint: str, api_key: str, tmp_path: Path) -> None:
    import base64

    client = removebg.RemoveBg(api_key, str(tmp_path / "errors.log"))
    data = base64.b64encode(encoded(subject_photo(320, 240))).decode()
    out = tmp_path / "b64.png"
    client.remove_background_from_base64_img(data, new_file_name=str(out))
    _assert_cut_out(out, (320, 240))


def test_removebg_headers_and_errors_over_http(endpoint: str, api_key: str) -> None:
    files = {"image_file": ("disc.jpg", encoded(subject_photo(480, 360)), "image/jpeg")}
    headers = {"X-Api-Key": api_key}
    response = requests.post(
        endpoint, files=files, data={"size": "full"}, headers=headers, timeout=60
    )
    assert response.status_code == 200, response.text[:300]
    assert response.headers["X-Width"] == "480" and response.headers["X-Credits-Charged"] == "0"
    top, height = (
        int(response.headers["X-Foreground-Top"]),
        int(response.headers["X-Foreground-Height"]),
    )
    assert 60 < top < 180 and 0 < height < 360
    text = {"image_file": ("x.txt", b"text", "text/plain")}
    bad = requests.post(endpoint, files=text, headers=headers, timeout=60)
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "unsupported_media_type"
    keyless = requests.post(endpoint, files=files, timeout=60)
    assert keyless.status_code == 403 and keyless.json()["errors"][0]["title"] == "Forbidden"
