"""Checks on a model file before any engine loads it, shared by every engine."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shared.errors import ModelUnavailable
from worker.models.spec import ModelSpec

FETCH_HINT = (
    "run `make setup`: it fetches and verifies u2netp.onnx (scripts/fetch_model.py) and builds "
    "u2netp-int8.onnx from it (scripts/quantize_model.py)"
)


def file_digest(path: Path) -> str:
    """The file's sha256, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_file(spec: ModelSpec, path: Path) -> str | None:
    """Raise ModelUnavailable, naming the fix, when the file is missing or not the pinned one.

    Returns the digest when the check computed one (the spec pins a hash), so a caller that
    needs it too does not read and hash the file again.
    """
    if not path.is_file():
        raise ModelUnavailable(f"model file {path} is missing: {FETCH_HINT}")
    if spec.sha256 is None:
        return None
    digest = file_digest(path)
    if digest != spec.sha256:
        raise ModelUnavailable(
            f"model file {path} is corrupt (sha256 {digest[:12]}...): {FETCH_HINT}"
        )
    return digest
