"""Reading remove.bg's parameters: lenient values in, Cutout job options out."""

from __future__ import annotations

import pytest
from flask import Flask

from api.removebg_params import RemoveBgRequest, job_fields, parse_request
from shared.errors import InvalidOption

app = Flask(__name__)


def _parse(**form: str) -> RemoveBgRequest:
    with app.test_request_context("/", method="POST", data={"image_file_b64": "aGk=", **form}):
        from flask import request

        return parse_request(request)


def test_legacy_values_of_old_clients_are_read() -> None:
    call = _parse(size="regular", type_level="none", roi="0 0 100% 100%", crop="false")
    assert call.image == b"hi" and call.size == "regular" and call.warnings == []
    assert job_fields(call, (400, 300)) == {}


def test_size_becomes_a_longest_side() -> None:
    fields = job_fields(_parse(size="hd"), (4000, 3000))
    assert int(fields["max_size"]) == 2309  # 4 MP at 4:3
    assert "max_size" not in job_fields(_parse(size="full"), (4000, 3000))


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"bg_color": "81d4fa"}, {"mode": "color", "bg_color": "#81d4fa"}),
        (
            {"bg_color": "red", "format": "png"},
            {"mode": "color", "bg_color": "red", "format": "png"},
        ),
        ({"format": "jpg"}, {"mode": "color", "bg_color": "#ffffff", "format": "jpg"}),
        ({"channels": "alpha"}, {"mode": "mask"}),
        ({"format": "zip", "bg_color": "fff"}, {"mode": "cutout", "format": "png"}),
        ({"crop": "true", "crop_margin": "10%"}, {"crop": "true", "crop_margin": "0.1"}),
        ({"crop": "1"}, {"crop": "true", "crop_margin": "0.0"}),
    ],
)
def test_job_fields(form: dict[str, str], expected: dict[str, str]) -> None:
    assert job_fields(_parse(**form), (400, 300)) == expected


def test_px_and_per_side_margins_are_approximated_with_a_warning() -> None:
    call = _parse(crop="true", crop_margin="40px 10%")
    fields = job_fields(call, (400, 300))
    assert fields["crop_margin"] == "0.1" and any("crop_margin" in w for w in call.warnings)


@pytest.mark.parametrize(
    "form",
    [
        {"size": "giant"},
        {"format": "gif"},
        {"crop": "maybe"},
        {"roi": "0 0 10"},
        {"bg_color": "red", "bg_image_url": "http://example.com/b.jpg"},
    ],
)
def test_bad_values_are_invalid_options(form: dict[str, str]) -> None:
    with pytest.raises(InvalidOption):
        _parse(**form)


def test_exactly_one_image_source() -> None:
    with app.test_request_context("/", method="POST", data={"size": "auto"}):
        from flask import request

        with pytest.raises(InvalidOption, match="exactly one"):
            parse_request(request)
    with pytest.raises(InvalidOption, match="got image_file_b64, image_url"):
        _parse(image_url="http://example.com/a.jpg")  # beside the b64 image
    with pytest.raises(InvalidOption, match="base64"):
        _parse(image_file_b64="@@@")
