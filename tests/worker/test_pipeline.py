"""The whole in-process pipeline with the tiny ONNX model and hand-written fake models."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared.errors import ImageTooLarge, InferenceFailed, ModelUnavailable, UnsupportedImageType
from shared.options import ProcessOptions
from shared.settings import Settings
from tests.conftest import encoded, subject_photo
from worker.models.spec import ModelSpec
from worker.pipeline.run import make_picture, process


class DiscModel:
    """A fake model that 'sees' a centred disc, whatever the image (a known answer)."""

    spec = ModelSpec("disc", "disc.onnx")
    name = "disc"

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def predict(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray:
        self.calls.append(shrink_arena)
        size = tensor.shape[-1]
        yy, xx = np.mgrid[:size, :size]
        return ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= (size / 4) ** 2).astype(np.float32)


class BrokenModel:
    """A fake model that fails the way onnxruntime errors are surfaced."""

    spec = ModelSpec("broken", "broken.onnx")
    name = "broken"

    def predict(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray:
        raise InferenceFailed("broken failed on this image: boom")


def _run(data: bytes, settings: Settings, model: object = None, **options: object):
    target = io.BytesIO()
    outcome = process(
        data,
        target,
        ProcessOptions.parse(options),
        settings=settings,
        load_model=(lambda name: model) if model else None,
    )
    target.seek(0)
    return outcome, Image.open(target)


def test_tiny_onnx_model_runs_end_to_end(tiny_settings: Settings) -> None:
    outcome, picture = _run(encoded(subject_photo()), tiny_settings)
    assert outcome.method == "tiny" and picture.mode == "RGBA" and picture.size == (240, 180)
    stages = set(outcome.timings_ms)
    assert {"decode", "preprocess", "inference", "upscale", "compose", "encode"} <= stages
    assert outcome.info.format == "JPEG" and outcome.output_format == "png"


def test_full_resolution_mask_follows_the_model(tiny_settings: Settings) -> None:
    outcome, picture = _run(
        encoded(subject_photo(), "PNG"), tiny_settings, DiscModel(), mode="mask"
    )
    mask = np.asarray(picture)
    assert picture.mode == "L" and mask.shape == (180, 240)
    assert mask[90, 120] == 255 and mask[5, 5] == 0
    assert outcome.proxy.components == 1 and not outcome.proxy.needs_review


def test_every_mode_and_format(tiny_settings: Settings) -> None:
    data = encoded(subject_photo())
    model = DiscModel()
    cases = [
        ({"mode": "cutout", "format": "webp"}, "WEBP", "RGBA"),
        ({"mode": "color", "bg_color": "white"}, "JPEG", "RGB"),
        ({"mode": "color", "bg_color": "#ff000080"}, "PNG", "RGBA"),
        ({"mode": "mask", "format": "jpeg"}, "JPEG", "L"),
        ({"crop": True, "max_size": 50}, "PNG", "RGBA"),
    ]
    for options, fmt, mode in cases:
        _, picture = _run(data, tiny_settings, model, **options)
        assert (picture.format, picture.mode) == (fmt, mode), options
    assert max(_run(data, tiny_settings, model, crop=True, max_size=50)[1].size) <= 50


def test_background_image_mode(tiny_settings: Settings) -> None:
    target = io.BytesIO()
    background = Image.new("RGB", (64, 64), (0, 0, 255))
    process(
        encoded(subject_photo()),
        target,
        ProcessOptions(mode="image"),
        settings=tiny_settings,
        load_model=lambda name: DiscModel(),
        background=background,
    )
    picture = Image.open(target)
    assert picture.getpixel((2, 2)) == pytest.approx((0, 0, 255), abs=3)


def test_model_failure_falls_back_to_grabcut_and_says_so(tiny_settings: Settings) -> None:
    outcome, picture = _run(encoded(subject_photo()), tiny_settings, BrokenModel(), mode="mask")
    assert outcome.method == "opencv-grabcut"
    assert outcome.warnings and "inference_failed" in outcome.warnings[0]
    assert np.asarray(picture)[90, 120] == 255
    assert outcome.quality is not None and outcome.quality.needs_review
    assert outcome.quality.reasons[0] == "fallback_mask" and outcome.proxy.needs_review


def test_every_result_carries_a_review_score_the_reports_agree_with(
    tiny_settings: Settings,
) -> None:
    outcome, _ = _run(encoded(subject_photo(), "PNG"), tiny_settings, DiscModel(), mode="mask")
    quality = outcome.to_dict()["quality"]
    assert 0 <= quality["score"] <= 1
    assert quality["needs_review"] == outcome.proxy.needs_review
    assert quality["reasons"] == list(outcome.proxy.review_reasons)
    flag_all = tiny_settings.model_copy(update={"review_threshold": 0.0})
    flagged, _ = _run(encoded(subject_photo(), "PNG"), flag_all, DiscModel(), mode="mask")
    assert flagged.quality is not None and flagged.quality.needs_review
    assert flagged.quality.score == outcome.quality.score and flagged.quality.reasons


def test_missing_model_falls_back(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path, model="u2netp")
    outcome, _ = _run(encoded(subject_photo()), settings)
    assert outcome.method == "opencv-grabcut" and "model_unavailable" in outcome.warnings[0]


def test_without_fallback_the_error_surfaces(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path, model="u2netp", fallback=False)
    with pytest.raises(ModelUnavailable, match="make setup"):
        _run(encoded(subject_photo()), settings)


def test_poisoned_model_never_answers_silently(tmp_path: Path, tiny_settings: Settings) -> None:
    from tests.onnx_models import build_model

    poison = build_model(tmp_path / "poison.onnx", poison=True)
    settings = Settings(model=str(poison))
    outcome, _ = _run(encoded(subject_photo()), settings)
    assert outcome.method == "opencv-grabcut"


def test_input_transparency_is_kept(tiny_settings: Settings) -> None:
    photo = subject_photo().convert("RGBA")
    photo.putalpha(Image.new("L", photo.size, 0))
    _, picture = _run(encoded(photo, "PNG"), tiny_settings, DiscModel())
    assert np.asarray(picture)[..., 3].max() == 0


def test_large_images_hand_the_arena_back(tiny_settings: Settings) -> None:
    model = DiscModel()
    _run(encoded(Image.new("RGB", (2600, 1600))), tiny_settings, model, mode="mask")
    _run(encoded(Image.new("RGB", (200, 100))), tiny_settings, model, mode="mask")
    assert model.calls == [True, False]


def test_limits_are_checked_before_anything_runs(tiny_settings: Settings) -> None:
    model = DiscModel()
    small_limit = Settings(model=tiny_settings.model, max_megapixels=0.01)
    with pytest.raises(ImageTooLarge):
        _run(encoded(subject_photo()), small_limit, model)
    with pytest.raises(UnsupportedImageType):
        _run(b"%PDF-1.7 not an image", tiny_settings, model)
    assert model.calls == []


def test_make_picture_returns_objects(tiny_settings: Settings) -> None:
    picture, outcome = make_picture(
        encoded(subject_photo()),
        ProcessOptions(),
        settings=tiny_settings,
        load_model=lambda name: DiscModel(),
    )
    assert picture.mode == "RGBA" and outcome.mask.size == picture.size


@pytest.mark.parametrize(("compat", "engine"), [(None, "openvino"), ("rembg", "onnxruntime")])
def test_compat_rembg_runs_on_onnxruntime_like_rembg(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch, compat: str | None, engine: str
) -> None:
    engines: list[str] = []

    def recording_loader(name: str, settings: Settings) -> DiscModel:
        engines.append(settings.engine)
        return DiscModel()

    monkeypatch.setattr("worker.pipeline.run.get_model", recording_loader)
    settings = tiny_settings.model_copy(update={"engine": "openvino"})
    _run(encoded(subject_photo()), settings, compat=compat)
    assert engines == [engine]
