"""Expanding a batch's zip or URL list into items, one bounded chunk per call.

A chunk is short (a hundred zip entries, or a few URLs fetched at once), so an expansion
never holds a worker longer than about one image's processing, and single jobs, which come
first in the queue, are not held up behind it. Limits: entries per source, the total
uncompressed size of a zip (from its directory, checked before reading anything), and per
image its bytes (read with a cap, whatever the directory claims) and megapixels (from the
header). Names inside a zip are labels for the item and its result, never paths: nothing
is ever written under them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from shared.batches import Batch, BatchStatus
from shared.batchitems import ItemMaker, Send
from shared.errors import (
    ArchiveTooLarge,
    CutoutError,
    FetchFailed,
    FileTooLarge,
    InvalidArchive,
    NotFound,
)
from shared.storage import Storage
from shared.storage.base import CHUNK_BYTES
from shared.tasks import EXPAND_PRIORITY, EXPAND_TASK

log = logging.getLogger(__name__)

ZIP_CHUNK = 100
URL_CHUNK = 8
# Archive debris that is not an image anyone meant to send.
SKIPPED_PARTS = ("__MACOSX/", ".DS_Store", "Thumbs.db")

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class Limits:
    max_entries: int
    max_uncompressed_bytes: int


def expand_chunk(
    source: BinaryIO,
    kind: str,
    start: int,
    *,
    batch: Batch,
    maker: ItemMaker,
    limits: Limits,
    fetch: Fetch,
    source_name: str,
) -> int | None:
    """Add the items of one chunk from `start`; the next start, or None when done."""
    try:
        if kind == "zip":
            return _zip_chunk(source, start, batch, maker, limits, source_name)
        entries = parse_url_list(source.read(), kind)
        if start == 0 and len(entries) > limits.max_entries:
            raise ArchiveTooLarge(
                f"{source_name}: {len(entries)} URLs; at most {limits.max_entries} per list"
            )
        return _url_chunk(entries, start, batch, maker, fetch)
    except CutoutError as exc:  # the source as a whole is unusable: one failed item says so
        maker.add_failed(batch, source_name, exc)
        return None


def _entries(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and not any(part in info.filename for part in SKIPPED_PARTS)
        and not info.filename.replace("\\", "/").rsplit("/", 1)[-1].startswith(".")
    ]


def _check_zip(entries: list[zipfile.ZipInfo], limits: Limits, source_name: str) -> None:
    if len(entries) > limits.max_entries:
        raise ArchiveTooLarge(
            f"{source_name}: {len(entries)} files; at most {limits.max_entries} per zip"
        )
    total = sum(info.file_size for info in entries)
    if total > limits.max_uncompressed_bytes:
        raise ArchiveTooLarge(
            f"{source_name}: {total} bytes uncompressed; at most {limits.max_uncompressed_bytes}"
        )


def _zip_chunk(
    source: BinaryIO, start: int, batch: Batch, maker: ItemMaker, limits: Limits, name: str
) -> int | None:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidArchive(f"{name}: not a readable zip ({exc})") from exc
    with archive:
        entries = _entries(archive)
        if start == 0:
            _check_zip(entries, limits, name)
        for info in entries[start : start + ZIP_CHUNK]:
            _zip_entry(archive, info, batch, maker)
    end = start + ZIP_CHUNK
    return end if end < len(entries) else None


def _zip_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, batch: Batch, maker: ItemMaker
) -> None:
    limit = maker.max_bytes
    if info.file_size > limit:
        maker.add_failed(batch, info.filename, FileTooLarge(f"images are limited to {limit} bytes"))
        return
    try:
        with archive.open(info) as entry:
            data = entry.read(limit + 1)  # the directory's size may lie: never trust it
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
        maker.add_failed(batch, info.filename, InvalidArchive(f"unreadable entry ({exc})"))
        return
    if len(data) > limit:
        maker.add_failed(batch, info.filename, FileTooLarge(f"images are limited to {limit} bytes"))
        return
    maker.add_image(batch, info.filename, data)


def parse_url_list(raw: bytes, kind: str) -> list[tuple[str, str]]:
    """(url, name) pairs from a JSON list (strings or {url, name}) or a CSV (a `url` column,
    or URLs in the first column without a header)."""
    try:
        text = raw.decode("utf-8-sig")
        rows = _json_rows(text) if kind == "json" else _csv_rows(text)
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise InvalidArchive(f"the URL list cannot be read as {kind} ({exc})") from exc
    return [(url, name or name_from_url(url)) for url, name in rows if url]


def _json_rows(text: str) -> list[tuple[str, str]]:
    data = json.loads(text)
    if isinstance(data, dict):
        data = data.get("urls", data.get("images"))
    if not isinstance(data, list):
        raise ValueError("expected a list of URLs or of {url, name} objects")
    rows = []
    for entry in data:
        if isinstance(entry, dict):
            rows.append((str(entry.get("url") or "").strip(), str(entry.get("name") or "")))
        else:
            rows.append((str(entry).strip(), ""))
    return rows


def _csv_rows(text: str) -> list[tuple[str, str]]:
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return []
    header = [cell.strip().lower() for cell in lines[0]]
    if "url" in header:
        url_at = header.index("url")
        name_at = header.index("name") if "name" in header else None
        return [
            (row[url_at].strip(), row[name_at].strip() if name_at is not None else "")
            for row in lines[1:]
            if len(row) > url_at
        ]
    return [(row[0].strip(), "") for row in lines if row]


def name_from_url(url: str) -> str:
    """The last part of the URL's path (decoded), or the host when the path has none."""
    parts = urlsplit(url)
    last = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return last or parts.hostname or "image"


def _url_chunk(
    entries: list[tuple[str, str]], start: int, batch: Batch, maker: ItemMaker, fetch: Fetch
) -> int | None:
    chunk = entries[start : start + URL_CHUNK]
    # Fetched at once (network waits overlap), added in list order.
    with ThreadPoolExecutor(max_workers=URL_CHUNK) as pool:
        fetched = list(pool.map(lambda entry: _fetch_one(fetch, entry[0]), chunk))
    for (_, name), outcome in zip(chunk, fetched, strict=True):
        if isinstance(outcome, CutoutError):
            maker.add_failed(batch, name, outcome)
        else:
            maker.add_image(batch, name, outcome)
    end = start + URL_CHUNK
    return end if end < len(entries) else None


def _fetch_one(fetch: Fetch, url: str) -> bytes | CutoutError:
    try:
        return fetch(url)
    except CutoutError as exc:
        return exc
    except Exception as exc:  # any fetch failure is this item's, never the whole list's
        return FetchFailed(f"{url}: {type(exc).__name__}: {exc}"[:300])


@contextlib.contextmanager
def seekable(store: Storage, key: str) -> Iterator[BinaryIO]:
    """The stored source as a seekable file: itself when local, else a temporary copy."""
    with store.open(key) as stream:
        if stream.seekable():
            yield stream
            return
        with tempfile.TemporaryFile() as copy:
            shutil.copyfileobj(stream, copy, CHUNK_BYTES)
            copy.seek(0)
            yield copy


def expand_source(
    batch_id: str,
    key: str,
    kind: str,
    start: int,
    *,
    maker: ItemMaker,
    limits: Limits,
    fetch: Fetch,
    send: Send,
) -> None:
    """One chunk, then the next one sent, or the source marked done (testable without Celery)."""
    batch = maker.batches.get(batch_id)
    if batch is None:
        return
    next_start = None
    if batch.status is not BatchStatus.CANCELED:
        try:
            with seekable(maker.storage, key) as source:
                next_start = expand_chunk(
                    source,
                    kind,
                    start,
                    batch=batch,
                    maker=maker,
                    limits=limits,
                    fetch=fetch,
                    source_name=key.rsplit("/", 1)[-1],
                )
        except NotFound:
            log.warning("batch %s: source %s is gone", batch_id, key)
        except Exception as exc:  # never leave the batch waiting for ever on this source
            log.exception("batch %s: expanding %s stopped at entry %d", batch_id, key, start)
            stopped = CutoutError(f"expansion stopped at entry {start}: {type(exc).__name__}")
            maker.add_failed(batch, key.rsplit("/", 1)[-1], stopped)
    if next_start is not None:
        send(EXPAND_TASK, [batch_id, key, kind, next_start], EXPAND_PRIORITY)
        return
    maker.storage.delete(key)
    maker.batches.source_done(batch_id)
