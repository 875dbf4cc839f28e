"""The library functions that mirror the original service's API."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from cutout import change_background_color, cut_out, remove_background
from shared.errors import InvalidOption, UnsupportedImageType
from shared.settings import Settings
from tests.conftest import encoded, subject_photo


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(encoded(subject_photo()))
    return path


def test_remove_background_to_a_path(photo: Path, tmp_path: Path, tiny_settings: Settings) -> None:
    outcome = remove_background(str(photo), tmp_path / "out.webp", settings=tiny_settings)
    assert outcome.output_format == "webp" and outcome.method == "tiny"
    assert Image.open(tmp_path / "out.webp").mode == "RGBA"


def test_change_background_color_from_bytes_to_a_stream(tiny_settings: Settings) -> None:
    target = io.BytesIO()
    outcome = change_background_color(
        encoded(subject_photo()), target, (255, 0, 0), format="jpeg", settings=tiny_settings
    )
    target.seek(0)
    assert Image.open(target).format == "JPEG" and outcome.output_size == (240, 180)


def test_cut_out_returns_objects(photo: Path, tiny_settings: Settings) -> None:
    result = cut_out(photo, settings=tiny_settings, mode="cutout", crop=True)
    assert result.image.mode == "RGBA" and result.mask.size == (240, 180)
    assert result.metrics.to_dict()["components"] >= 0 and result.method == "tiny"
    assert "inference" in result.timings_ms


def test_bad_input_leaves_no_file(tmp_path: Path, tiny_settings: Settings) -> None:
    with pytest.raises(UnsupportedImageType):
        remove_background(b"plain text", tmp_path / "x.png", settings=tiny_settings)
    assert not list(tmp_path.iterdir())


def test_bad_option_is_refused(photo: Path, tmp_path: Path, tiny_settings: Settings) -> None:
    with pytest.raises(InvalidOption, match="mode"):
        remove_background(photo, tmp_path / "x.png", mode="nope", settings=tiny_settings)


def test_cut_out_frames_and_reports_the_foreground(photo: Path, tiny_settings: Settings) -> None:
    result = cut_out(photo, settings=tiny_settings, canvas="256x256", padding=0.1, shadow="drop")
    assert result.image.size == (256, 256) and result.image.mode == "RGBA"
    box = result.foreground
    assert box is not None and min(box["left"], box["top"]) >= 0
    assert max(box["width"], box["height"]) == 256 - 2 * 26
