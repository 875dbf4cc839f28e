"""Fixtures shared by every test folder."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from shared.settings import REPO_ROOT, Settings, get_settings
from tests.onnx_models import build_model

EVAL_DIR = Path(os.environ.get("CUTOUT_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval")).resolve()
REAL_MODEL = (
    Path(os.environ.get("CUTOUT_MODEL_DIR", REPO_ROOT / "models")).resolve() / "u2netp.onnx"
)


@pytest.fixture(autouse=True)
def _restore_bomb_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    # probe may raise Pillow's process-wide guard for a large limit; keep that in one test.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


def require_eval_data(*parts: str) -> Path:
    """The eval data folder, or skip: it lives outside the repo (CUTOUT_EVAL_DIR)."""
    path = EVAL_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"evaluation data not found at {path} (set CUTOUT_EVAL_DIR)")
    return path


def require_real_model() -> Path:
    """The real u2netp file, or skip with the command that fetches it."""
    if not REAL_MODEL.is_file():
        pytest.skip(f"{REAL_MODEL} missing: run `make setup` to fetch the u2netp weights")
    return REAL_MODEL


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("models") / "tiny.onnx")


@pytest.fixture
def tiny_settings(tiny_model: Path, tmp_path: Path) -> Settings:
    """Settings whose default model is the tiny ONNX file."""
    return Settings(model_dir=tmp_path, model=str(tiny_model))


@pytest.fixture
def tiny_default_model(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tiny model as every run's default (CUTOUT_MODEL), for fresh processes too."""
    monkeypatch.setenv("CUTOUT_MODEL", str(tiny_model))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A small subject photo as a JPEG file."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(encoded(subject_photo()))
    return path


def subject_photo(width: int = 240, height: int = 180) -> Image.Image:
    """A bright disc (the subject) on a dark textured background."""
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 40, (height, width, 3), dtype=np.uint8)
    picture = Image.fromarray(noise, "RGB")
    draw = ImageDraw.Draw(picture)
    inset = min(width, height) // 4
    draw.ellipse(
        (width // 2 - inset, height // 2 - inset, width // 2 + inset, height // 2 + inset),
        fill=(230, 200, 60),
    )
    return picture


def encoded(picture: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **params)
    return buffer.getvalue()
