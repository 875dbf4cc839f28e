"""Local output files are written whole or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_output(target: Path) -> Iterator[BinaryIO]:
    """A handle to a hidden partial file that replaces `target` only if the block succeeds."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("wb") as handle:
            yield handle
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
