"""The behaviour every storage backend shares, run against local, memory and S3 (moto server)."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.errors import NotFound
from shared.storage import Storage
from shared.storage.local import LocalStorage
from shared.storage.memory import MemoryStorage

BAD_KEYS = ["", "/etc/passwd", "../x", "a/../../x", "a/..", ".", "a/./b", "a\\b", "a//b", "a/"]
BAD_KEYS += ["a\x00b", "k" * 1025]
BAD_PREFIXES = ["", "/", "//", "..", "../x", "a/../..", "/abs", "a\\b"]
BIG = 12 * 1024 * 1024


class Trickle(io.RawIOBase):
    """A non-seekable stream (like an upload body) that records the largest read asked of it."""

    def __init__(self, payload: bytes) -> None:
        self._view = memoryview(payload)
        self._position = 0
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        self.largest_read = max(self.largest_read, len(buffer))
        count = min(len(buffer), len(self._view) - self._position)
        buffer[:count] = self._view[self._position : self._position + count]
        self._position += count
        return count

    def readall(self) -> bytes:
        self.largest_read = len(self._view)
        return super().readall()


@pytest.fixture(params=["local", "memory", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    if request.param == "memory":
        return MemoryStorage()
    backend: Storage = request.getfixturevalue("s3_storage")
    return backend


def digest(data: bytes) -> str:
    # Compare 12 MB values by hash so a failure prints two lines, not megabytes.
    return hashlib.sha256(data).hexdigest()


def test_implements_the_protocol(storage: Storage) -> None:
    assert isinstance(storage, Storage)


def test_put_then_get_round_trips_and_overwrites(storage: Storage) -> None:
    storage.put("inputs/j1/original", b"first", content_type="image/jpeg")
    assert storage.get("inputs/j1/original") == b"first"
    storage.put("inputs/j1/original", b"second!", content_type="image/jpeg")
    assert storage.get("inputs/j1/original") == b"second!"


def test_put_accepts_an_empty_value(storage: Storage) -> None:
    storage.put("outputs/j1/empty", b"", content_type="application/octet-stream")
    assert storage.get("outputs/j1/empty") == b""
    assert storage.size("outputs/j1/empty") == 0


def test_open_returns_a_readable_stream(storage: Storage) -> None:
    value = os.urandom(300_000)
    storage.put("outputs/j1/result.png", value, content_type="image/png")
    stream = storage.open("outputs/j1/result.png")
    try:
        chunks = iter(lambda: stream.read(64 * 1024), b"")
        assert b"".join(chunks) == value
    finally:
        stream.close()


def test_exists_and_size(storage: Storage) -> None:
    assert not storage.exists("outputs/j1/result.png")
    storage.put("outputs/j1/result.png", b"12345", content_type="image/png")
    assert storage.exists("outputs/j1/result.png")
    assert storage.size("outputs/j1/result.png") == 5
    # A folder is not a key.
    assert not storage.exists("outputs/j1")


@pytest.mark.parametrize(
    "read",
    [
        lambda storage, key: storage.get(key),
        lambda storage, key: storage.open(key).close(),
        lambda storage, key: storage.size(key),
    ],
    ids=["get", "open", "size"],
)
def test_missing_key_raises_not_found(
    storage: Storage, read: Callable[[Storage, str], object]
) -> None:
    storage.put("inputs/j1/original", b"x", content_type="image/jpeg")
    for key in ["inputs/j2/original", "inputs/j1", "inputs/j1/original/deeper"]:
        with pytest.raises(NotFound):
            read(storage, key)


def test_delete_removes_and_ignores_missing_keys(storage: Storage) -> None:
    storage.put("inputs/j1/original", b"x", content_type="image/jpeg")
    storage.delete("inputs/j1/original")
    assert not storage.exists("inputs/j1/original")
    storage.delete("inputs/j1/original")
    storage.delete("never/was/here")


def test_delete_prefix_removes_exactly_one_folder(storage: Storage) -> None:
    doomed = ["inputs/j1/original", "inputs/j1/background", "inputs/j1/deep/truth"]
    kept = ["inputs/j10/original", "inputs/j1x", "outputs/j1/result.png"]
    for key in doomed + kept:
        storage.put(key, key.encode(), content_type="application/octet-stream")

    assert storage.delete_prefix("inputs/j1") == len(doomed)

    assert not any(storage.exists(key) for key in doomed)
    assert all(storage.get(key) == key.encode() for key in kept)
    assert storage.delete_prefix("inputs/j1/") == 0
    assert storage.delete_prefix("nothing/here") == 0


def test_streamed_put_is_not_read_whole(storage: Storage) -> None:
    payload = os.urandom(BIG)
    stream = Trickle(payload)

    storage.put("outputs/j1/result.png", stream, content_type="image/png")

    assert 0 < stream.largest_read < BIG
    assert storage.size("outputs/j1/result.png") == BIG
    assert digest(storage.get("outputs/j1/result.png")) == digest(payload)
    with storage.open("outputs/j1/result.png") as body:
        assert digest(body.read()) == digest(payload)


def test_url_is_none_or_downloads_the_value(storage: Storage) -> None:
    storage.put("outputs/j1/result.png", b"\x89PNG fake", content_type="image/png")
    link = storage.url("outputs/j1/result.png", filename="cutout.png")
    if isinstance(storage, LocalStorage | MemoryStorage):
        assert link is None
        return
    assert link is not None and link.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(link, timeout=10) as answer:  # noqa: S310 - our own server
        assert answer.read() == b"\x89PNG fake"


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(storage: Storage, key: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: storage.put(key, b"x", content_type="text/plain"),
        lambda: storage.get(key),
        lambda: storage.open(key),
        lambda: storage.exists(key),
        lambda: storage.size(key),
        lambda: storage.url(key),
        lambda: storage.delete(key),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("prefix", BAD_PREFIXES)
def test_bad_prefixes_are_refused(storage: Storage, prefix: str) -> None:
    storage.put("inputs/j1/original", b"x", content_type="image/jpeg")
    with pytest.raises(ValueError):
        storage.delete_prefix(prefix)
    assert storage.exists("inputs/j1/original")


def test_ping_succeeds_when_the_backend_is_there(storage: Storage) -> None:
    storage.ping()
