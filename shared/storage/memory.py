"""An in-memory `Storage` for unit tests of code that takes a storage (the API, the worker)."""

from __future__ import annotations

import io
from typing import BinaryIO

from shared.errors import NotFound, StorageUnavailable
from shared.storage.base import CHUNK_BYTES, Storage, validate_key, validate_prefix


class MemoryStorage(Storage):
    """Values in a dict; `url` is None, as for local storage, so callers stream them."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        # Tests set this to see how callers treat a backend that is down (every call raises).
        self.unavailable = False

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str) -> None:
        """Store a copy of `data`, reading streams in chunks like the real backends."""
        key = self._key(key)
        if isinstance(data, bytes | bytearray | memoryview):
            value = bytes(data)
        else:
            buffer = bytearray()
            while chunk := data.read(CHUNK_BYTES):
                buffer += chunk
            value = bytes(buffer)
        self.files[key] = value
        self.content_types[key] = content_type

    def get(self, key: str) -> bytes:
        """The stored value."""
        key = self._key(key)
        if key not in self.files:
            raise NotFound(f"no stored file {key!r}")
        return self.files[key]

    def open(self, key: str) -> BinaryIO:
        """A stream over the stored value."""
        return io.BytesIO(self.get(key))

    def exists(self, key: str) -> bool:
        """Whether `key` holds a value."""
        return self._key(key) in self.files

    def size(self, key: str) -> int:
        """The stored value's length."""
        return len(self.get(key))

    def url(self, key: str, *, filename: str | None = None) -> str | None:
        """Always None: callers stream the value, as with local storage."""
        self._key(key)
        return None

    def delete(self, key: str) -> None:
        """Forget `key` if present."""
        key = self._key(key)
        self.files.pop(key, None)
        self.content_types.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        """Forget every key under the folder `prefix`; return how many."""
        self._check()
        folder = validate_prefix(prefix)
        doomed = [key for key in self.files if key.startswith(folder)]
        for key in doomed:
            self.delete(key)
        return len(doomed)

    def ping(self) -> None:
        """Raise StorageUnavailable when a test marked the store unavailable."""
        self._check()

    def _key(self, key: str) -> str:
        self._check()
        return validate_key(key)

    def _check(self) -> None:
        if self.unavailable:
            raise StorageUnavailable("memory storage marked unavailable")
