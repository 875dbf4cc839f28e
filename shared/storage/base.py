"""The storage interface every backend implements, and the key rules they all share.

Keys are relative, slash-separated paths such as "inputs/<id>/original" or
"outputs/<id>/result.png". They form a folder tree: a prefix names a folder, so
`delete_prefix("inputs/ab")` never touches "inputs/abc/...". A missing key raises
`NotFound`; a backend that cannot be reached raises `StorageUnavailable` (transient).
"""

from __future__ import annotations

from typing import BinaryIO, Protocol, runtime_checkable

# S3's own limit on key length; applied everywhere so a key valid locally is valid on S3.
MAX_KEY_BYTES = 1024
# Reads from caller-supplied streams happen in chunks this size, never whole.
CHUNK_BYTES = 1024 * 1024


@runtime_checkable
class Storage(Protocol):
    """Where job inputs and results live; `api/` and `worker/` only talk to this."""

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str) -> None:
        """Store `data` under `key`, replacing any previous value; streams are not read whole."""

    def get(self, key: str) -> bytes:
        """The whole value of `key`."""

    def open(self, key: str) -> BinaryIO:
        """A readable stream of `key`'s value; the caller closes it."""

    def exists(self, key: str) -> bool:
        """Whether `key` holds a value."""

    def size(self, key: str) -> int:
        """The length in bytes of `key`'s value."""

    def url(self, key: str, *, filename: str | None = None) -> str | None:
        """A time-limited download link, or None when the API must stream the value itself."""

    def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every key under the folder `prefix` and return how many there were."""

    def ping(self) -> None:
        """Raise `StorageUnavailable` when the backend cannot be reached."""


def validate_key(key: str) -> str:
    """Return `key` unchanged, or raise ValueError if it could escape the storage root."""
    if not isinstance(key, str) or not key:
        raise ValueError("storage key must be a non-empty string")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"storage key must not contain backslashes or NUL: {key!r}")
    if key.startswith("/"):
        raise ValueError(f"storage key must be relative: {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"storage key has an empty, '.' or '..' segment: {key!r}")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"storage key is longer than {MAX_KEY_BYTES} bytes")
    return key


def validate_prefix(prefix: str) -> str:
    """Return the folder `prefix` with one trailing slash; an empty prefix is refused."""
    if isinstance(prefix, str) and prefix.endswith("/"):
        prefix = prefix[:-1]
    # Refusing "" keeps a mistaken empty job id from wiping the whole store.
    return validate_key(prefix) + "/"
