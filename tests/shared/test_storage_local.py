"""Local-only behaviour: the file layout, atomic writes, and the root folder's health."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.errors import StorageUnavailable
from shared.storage.local import LocalStorage


class Spy(io.RawIOBase):
    """A stream that runs `check` before each chunk it hands over, then fails if told to."""

    def __init__(self, chunks: list[bytes], check: Callable[[], None], fail: bool = False) -> None:
        self._chunks = list(chunks)
        self._check = check
        self._fail = fail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        self._check()
        if not self._chunks:
            if self._fail:
                raise ConnectionResetError("client went away mid-upload")
            return 0
        chunk = self._chunks.pop(0)
        buffer[: len(chunk)] = chunk
        return len(chunk)


def all_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_each_key_is_one_file_with_no_sidecar(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("outputs/j1/result.png", b"png", content_type="image/png")
    storage.put("inputs/j1/original", io.BytesIO(b"jpeg"), content_type="image/jpeg")

    assert all_files(tmp_path) == ["inputs/j1/original", "outputs/j1/result.png"]
    assert (tmp_path / "outputs/j1/result.png").read_bytes() == b"png"
    mode = stat.S_IMODE((tmp_path / "outputs/j1/result.png").stat().st_mode)
    assert mode == 0o644


def test_readers_never_see_a_half_written_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = "outputs/j1/result.png"
    storage.put(key, b"old value", content_type="image/png")

    def reader_sees_the_old_value() -> None:
        assert storage.get(key) == b"old value"
        assert storage.size(key) == len(b"old value")

    chunks = [b"new ", b"value ", b"in parts"]
    storage.put(key, Spy(chunks, reader_sees_the_old_value), content_type="image/png")

    assert storage.get(key) == b"new value in parts"


def test_a_failed_write_leaves_the_old_value_and_no_temp_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = "outputs/j1/result.png"
    storage.put(key, b"old value", content_type="image/png")

    with pytest.raises(ConnectionResetError):
        storage.put(key, Spy([b"half"], lambda: None, fail=True), content_type="image/png")

    assert storage.get(key) == b"old value"
    assert all_files(tmp_path) == [key]


def test_a_new_key_does_not_exist_until_fully_written(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = "outputs/j1/result.png"

    def absent() -> None:
        assert not storage.exists(key)

    storage.put(key, Spy([b"a", b"b"], absent), content_type="image/png")
    assert storage.get(key) == b"ab"


def test_delete_prefix_removes_the_folder_itself(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("inputs/j1/original", b"x", content_type="image/jpeg")
    storage.put("inputs/j1/deep/truth", b"y", content_type="image/png")

    assert storage.delete_prefix("inputs/j1/") == 2

    assert not (tmp_path / "inputs/j1").exists()
    assert (tmp_path / "inputs").is_dir()


def test_relative_root_is_fixed_at_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = LocalStorage(Path("data/storage"))
    monkeypatch.chdir("/")

    storage.put("inputs/j1/original", b"x", content_type="image/jpeg")

    assert storage.root == tmp_path / "data/storage"
    assert (tmp_path / "data/storage/inputs/j1/original").read_bytes() == b"x"


def test_ping_creates_a_missing_root(tmp_path: Path) -> None:
    LocalStorage(tmp_path / "not" / "yet").ping()
    assert (tmp_path / "not" / "yet").is_dir()


def test_ping_fails_when_the_root_cannot_exist(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    with pytest.raises(StorageUnavailable):
        LocalStorage(tmp_path / "a-file" / "storage").ping()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_ping_fails_when_the_root_is_read_only(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    root.mkdir(mode=0o555)
    with pytest.raises(StorageUnavailable):
        LocalStorage(root).ping()
