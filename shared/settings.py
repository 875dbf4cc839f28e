"""One settings object, built from the environment in one place.

Every field has a default and a one-line description; the README's configuration table is
checked against this class by a test (tests/shared/test_settings.py).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Cutout's configuration; each field is read from `CUTOUT_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="CUTOUT_", extra="ignore")

    model_dir: Path = Field(
        REPO_ROOT / "models", description="Folder holding the ONNX model files."
    )
    model: str = Field(
        "u2netp",
        description="Default model: a registered name or a path to a u2net-family ONNX file.",
    )
    inference_threads: int = Field(
        0, ge=0, description="Threads per inference; 0 = the CPUs this process may really use."
    )
    execution_provider: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="onnxruntime provider; auto picks CUDA when available, else CPU."
    )
    max_megapixels: float = Field(
        25.0, gt=0, description="Largest input accepted, checked from the header before decoding."
    )
    fallback: bool = Field(
        True, description="Use the OpenCV GrabCut fallback when the model cannot load or fails."
    )
    png_compress_level: int = Field(
        1, ge=0, le=9, description="zlib level for PNG output (chosen from bench/encode_levels.py)."
    )
    eval_dir: Path = Field(
        REPO_ROOT.parent / "shared" / "eval",
        description="Evaluation data (benchmark images, masks, rembg fixtures).",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


def settings_table() -> str:
    """The README's configuration table, generated from the fields above."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = _relative_to_repo(default)
        lines.append(f"| `{prefix}{name.upper()}` | `{default}` | {field.description} |")
    return "\n".join(lines)


def _relative_to_repo(path: Path) -> str:
    # Defaults are absolute at run time; the README shows where they point from the checkout.
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return f"../{path.relative_to(REPO_ROOT.parent)}"


if __name__ == "__main__":
    print(settings_table())
