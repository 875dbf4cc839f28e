"""Local output files: checked before any work, written whole or not at all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from shared.errors import InputNotFound, InvalidOption, OutputNotWritable
from shared.options import MODEL_NAMES

# Output formats by file suffix; any other suffix would be a file named unlike its content.
SUFFIX_FORMATS = {".png": "png", ".webp": "webp", ".jpg": "jpeg", ".jpeg": "jpeg"}


def check_input(path: Path) -> None:
    """Raise InputNotFound unless `path` is an existing file."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise InputNotFound(f"{path} {what}")


def check_output(path: Path) -> None:
    """Raise OutputNotWritable unless a file can be written at `path` (checked before work)."""
    folder = path.parent
    if path.is_dir():
        raise OutputNotWritable(f"{path} is a folder; name a file")
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputNotWritable(f"cannot write {path}: the folder {folder} {what}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputNotWritable(f"cannot write {path}: the folder {folder} is not writable")


def format_for(path: Path, fmt: str | None) -> str | None:
    """The output format for `path`: `fmt` when given (it must match a known suffix), else
    the one its suffix names; InvalidOption when neither says or they disagree."""
    suffix = path.suffix.lower()
    by_suffix = SUFFIX_FORMATS.get(suffix)
    known = ", ".join(SUFFIX_FORMATS)
    if fmt is None and by_suffix is None:
        shown = f"'{suffix}'" if suffix else "no suffix"
        raise InvalidOption(f"{path}: {shown} is not an output type; use {known}")
    if fmt is not None and suffix and by_suffix != ("jpeg" if fmt == "jpg" else fmt):
        raise InvalidOption(f"{path}: the suffix '{suffix}' does not match the format {fmt}")
    return fmt or by_suffix


def check_model(value: str | None) -> None:
    """Raise InvalidOption for a model that is neither a known name nor an existing file.

    Without this a typo would reach the model loader as a missing file, and the run would
    quietly fall back to GrabCut.
    """
    if value is None or value in MODEL_NAMES or Path(value).is_file():
        return
    names = ", ".join(MODEL_NAMES)
    raise InvalidOption(f"model: unknown model {value!r}; use one of {names} or an ONNX file path")


@contextmanager
def atomic_output(target: Path) -> Iterator[BinaryIO]:
    """A handle to a hidden partial file that replaces `target` only if the block succeeds."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        handle = partial.open("wb")
    except OSError as exc:
        raise OutputNotWritable(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        with handle:
            yield handle
        try:
            partial.replace(target)
        except OSError as exc:
            raise OutputNotWritable(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
