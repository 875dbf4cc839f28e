"""Storage in a local folder: the default for development and single-host deployments.

Each key is one file at `root/<key>`. Content types are not stored: a file's type follows
from its key's extension (outputs are written as "result.png", "mask.png", ...), which is
also how the API picks the type when it streams a file. Keeping no sidecar file means one
atomic rename per write and no hidden names inside the key space.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from shared.errors import NotFound, StorageUnavailable
from shared.storage.base import CHUNK_BYTES, Storage, validate_key, validate_prefix

# mkstemp creates 0600 files; the API and the worker may run as different users.
FILE_MODE = 0o644


class LocalStorage(Storage):
    """Files under `root`, one per key, each written atomically."""

    def __init__(self, root: Path) -> None:
        # Absolute now, so a later chdir cannot move the store.
        self.root = Path(root).absolute()

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str) -> None:
        """Write `data` to a temporary file beside the target, then rename it into place."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder, so os.replace is one atomic rename: readers see the old file or the
        # new one, never half of one.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, CHUNK_BYTES)
                out.flush()
                # Without it a crash soon after the rename can leave an empty file behind.
                os.fsync(out.fileno())
            os.chmod(temp, FILE_MODE)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def get(self, key: str) -> bytes:
        """The whole file."""
        with self.open(key) as stream:
            return stream.read()

    def open(self, key: str) -> BinaryIO:
        """The file itself, opened for reading; the caller closes it."""
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise NotFound(f"no stored file {key!r}") from error

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        """The file's length in bytes."""
        try:
            info = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError) as error:
            raise NotFound(f"no stored file {key!r}") from error
        if not stat.S_ISREG(info.st_mode):
            raise NotFound(f"no stored file {key!r}")
        return info.st_size

    def url(self, key: str, *, filename: str | None = None) -> str | None:
        """Always None: local files have no public address, so the API streams them."""
        validate_key(key)
        return None

    def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        # A folder is not a key, so finding one means the key is absent.
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._path(key).unlink()

    def delete_prefix(self, prefix: str) -> int:
        """Remove the folder `prefix` and return how many files it held."""
        folder = self.root / validate_prefix(prefix)
        if not folder.is_dir():
            return 0
        count = sum(1 for path in folder.rglob("*") if path.is_file())
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(folder)
        return count

    def ping(self) -> None:
        """Raise StorageUnavailable unless the root folder can be created and written to."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailable(
                f"cannot create storage folder {self.root}: {error}"
            ) from error
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"storage folder {self.root} is not writable")

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)
