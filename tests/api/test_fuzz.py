"""A bounded fuzz run: real image bytes, mutated, through the header check, the decoder and
the upload route. Whatever the bytes, the answer is an image or a stable 4xx code, never a
crash. Bounded (max_examples) and without deadlines, so a slow shared machine cannot fail it.
A longer run: CUTOUT_FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/api/test_fuzz.py
"""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import CutoutError
from shared.imageinfo import probe
from tests.api.conftest import Api, build_api
from tests.conftest import encoded, subject_photo
from worker.pipeline.decode import decode

FORMATS = {
    "JPEG": {},
    "PNG": {},
    "WEBP": {"quality": 80},
    "GIF": {},
    "TIFF": {"compression": "tiff_deflate"},
    "BMP": {},
}
# Every code a client can be given for the bytes of an upload.
FILE_CODES = {"invalid_image", "unsupported_media_type", "image_too_large"}
MAX_MEGAPIXELS = 1.0
FUZZ = settings(
    max_examples=int(os.environ.get("CUTOUT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,  # so nothing to remember between runs (no .hypothesis/ folder)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@cache
def original(fmt: str) -> bytes:
    return encoded(subject_photo(48, 36), fmt, **FORMATS[fmt])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real image's bytes with a few bytes changed, a slice cut out or junk inserted."""
    data = bytearray(original(draw(st.sampled_from(sorted(FORMATS)))))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if kind == "flip":
            data[where] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[where : where + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=32))
        else:
            del data[max(where, 1) :]
        if not data:
            break
    return bytes(data)


def _outcome(run: object) -> str:
    try:
        run()  # type: ignore[operator]
    except CutoutError as exc:
        return exc.code
    return "ok"


@FUZZ
@given(data=mutated())
def test_the_header_check_and_decoder_end_in_an_image_or_a_stable_code(data: bytes) -> None:
    allowed = FILE_CODES | {"ok"}
    probed = _outcome(lambda: probe(data, max_megapixels=MAX_MEGAPIXELS))
    assert probed in allowed
    if probed == "ok":
        assert _outcome(lambda: decode(data, max_megapixels=MAX_MEGAPIXELS)) in allowed


@pytest.fixture
def unlimited_api(tiny_model: Path) -> Api:
    """One API for every example: no rate limit, which would count them all."""
    return build_api(tiny_model, rate_limit_submit="", rate_limit="")


@pytest.mark.timeout(600)
@FUZZ
@given(data=mutated())
def test_the_upload_route_answers_202_or_a_stable_4xx(unlimited_api: Api, data: bytes) -> None:
    response = unlimited_api.client.post("/v1/jobs", data={"image": (io.BytesIO(data), "fuzz.bin")})
    if response.status_code == 202:
        return
    error = response.get_json()["error"]
    assert 400 <= response.status_code < 500 and error["code"] in FILE_CODES, error
