"""`cutout catalog`: a folder, zip or URL list through the service, results into OUT_DIR.

Resumable: OUT_DIR/.cutout-catalog.json keeps the batch id, which names were sent and every
finished item's report row. A second run (after Ctrl-C, a crash or a server restart) sends
only what the server does not have, downloads only what is missing, and rewrites
report.csv from every row ever recorded, so no earlier row is lost.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cutout.client import Client, ClientError

STATE = ".cutout-catalog.json"
UPLOAD_CHUNK = 16  # images per request
URL_CHUNK = 500  # URLs per request
ENDED = ("succeeded", "failed", "canceled", "expired")
COLLECT_EVERY = 8  # upload chunks between two rounds of downloads
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".avif", ".bmp", ".tif"}
REPORT = ["name", "status", "output", "error_code", "error_message", "needs_review",
          "review_reasons", "quality_score", "foreground_fraction", "job_id"]  # fmt: skip
EXTENSIONS = {"image/png": "png", "image/webp": "webp", "image/jpeg": "jpg"}


@dataclass
class Item:
    name: str
    read: Callable[[], bytes] | None = None  # files and zip entries
    url: str | None = None  # URL lists


def items_of(source: Path) -> list[Item]:
    """The images of a folder, a zip, or a CSV/JSON list of URLs, with their names."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return [Item(p.name, read=p.read_bytes) for p in files]
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir()]
        return [Item(name, read=_zip_reader(source, name)) for name in names]
    text = source.read_text("utf-8-sig")
    return [Item(name, url=url) for url, name in _url_rows(text, source.suffix.lower())]


def _zip_reader(source: Path, name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(source) as archive:
            return archive.read(name)

    return read


def _url_rows(text: str, suffix: str) -> list[tuple[str, str]]:
    if suffix == ".json" or text.lstrip()[:1] in ("[", "{"):
        data = json.loads(text)
        data = data.get("urls", []) if isinstance(data, dict) else data
        rows = [(e["url"], e.get("name", "")) if isinstance(e, dict) else (e, "") for e in data]
    else:
        lines = list(csv.reader(text.splitlines()))
        header = [cell.strip().lower() for cell in lines[0]] if lines else []
        if "url" in header:
            u, n = header.index("url"), header.index("name") if "name" in header else None
            rows = [(r[u], r[n] if n is not None else "") for r in lines[1:] if len(r) > u]
        else:
            rows = [(r[0], "") for r in lines if r]
    return [(url.strip(), name or url.rstrip("/").rsplit("/", 1)[-1]) for url, name in rows]


@dataclass
class State:
    path: Path
    batch_id: str | None = None
    sent: dict[str, str] = field(default_factory=dict)  # name -> job id
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> report row
    earlier: list[str] = field(default_factory=list)  # closed batches of earlier runs
    # Per batch, the position before which every item is recorded: polls start there.
    cursors: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, out_dir: Path) -> State:
        path = out_dir / STATE
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text())
        return cls(
            path,
            data["batch_id"],
            data["sent"],
            data["rows"],
            data.get("earlier", []),
            data.get("cursors", {}),
        )

    @property
    def batch_ids(self) -> list[str]:
        return [*self.earlier, *([self.batch_id] if self.batch_id else [])]

    def save(self) -> None:
        data = {
            "batch_id": self.batch_id,
            "sent": self.sent,
            "rows": self.rows,
            "earlier": self.earlier,
            "cursors": self.cursors,
        }
        temporary = self.path.with_name(f"{STATE}.tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.path)  # atomic: a Ctrl-C never leaves half a state

    def write_report(self) -> None:
        target = self.path.with_name("report.csv")
        temporary = self.path.with_name(".report.csv.tmp")
        with temporary.open("w", newline="") as out:
            writer = csv.DictWriter(out, REPORT, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows[name] for name in sorted(self.rows))
        os.replace(temporary, target)


def start_or_resume(
    client: Client, state: State, options: list[tuple[str, str]], names: list[str]
) -> str:
    """The batch to send to: the state's while the server has it open, else a new one.

    A batch the server still has is asked what it holds (a run killed mid-request may have
    sent more than its state says); one the server lost is forgotten, and what it held
    without a report row is sent again.
    """
    known = client.batch(state.batch_id) if state.batch_id else None
    if known is not None and state.batch_id is not None:
        for job in _server_jobs(client, state.batch_id):
            state.sent.setdefault(job["name"], job["job_id"])
        unsent = [name for name in names if name not in state.sent and name not in state.rows]
        if known["status"] == "open" or not unsent:
            return state.batch_id
        state.earlier.append(state.batch_id)
    else:
        state.sent = {name: job for name, job in state.sent.items() if name in state.rows}
    state.batch_id = client.create_batch([*options, ("stay_open", "true")])["id"]
    state.save()
    return state.batch_id


def _server_jobs(client: Client, batch_id: str, cursor: int = 0) -> Iterator[dict[str, Any]]:
    next_cursor: int | None = cursor
    while next_cursor is not None:
        page = client.jobs(batch_id, next_cursor)
        yield from page["jobs"]
        next_cursor = page["next_cursor"]


def _jobs_if_known(client: Client, batch_id: str, cursor: int) -> Iterator[dict[str, Any]]:
    try:
        yield from _server_jobs(client, batch_id, cursor)
    except ClientError as exc:  # an earlier batch the server no longer has
        if not str(exc).startswith("not_found"):
            raise


def upload(
    client: Client,
    state: State,
    items: list[Item],
    concurrency: int,
    between: Callable[[], object] = lambda: None,
) -> None:
    """Send what the server does not have yet, in chunks, a few requests at a time.

    `between` runs after every few chunks (the command downloads what finished meanwhile).
    """
    assert state.batch_id is not None  # noqa: S101
    batch_id = state.batch_id
    todo = [i for i in items if i.name not in state.sent and i.name not in state.rows]
    files = [i for i in todo if i.read is not None]
    urls = [{"url": i.url, "name": i.name} for i in todo if i.url is not None]
    chunks = [files[n : n + UPLOAD_CHUNK] for n in range(0, len(files), UPLOAD_CHUNK)]

    def send(chunk: list[Item]) -> dict[str, Any]:
        return client.add_items(batch_id, [(i.name, i.read()) for i in chunk if i.read])

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for number, answer in enumerate(pool.map(send, chunks), start=1):
            state.sent.update({a["name"]: a["job_id"] for a in answer["added"]})
            state.save()
            if number % COLLECT_EVERY == 0:
                between()
    for n in range(0, len(urls), URL_CHUNK):
        client.add_urls(batch_id, urls[n : n + URL_CHUNK])
        state.sent.update({u["name"]: "" for u in urls[n : n + URL_CHUNK]})
        state.save()
    try:
        client.json("POST", f"/v1/batches/{batch_id}/close")
    except ClientError as exc:
        if not str(exc).startswith("batch_closed"):
            raise


def collect(client: Client, state: State, out_dir: Path, concurrency: int) -> int:
    """Download every newly finished item and record its row; returns how many were new."""
    finished: dict[str, dict[str, Any]] = {}
    lows = {}
    for batch_id in state.batch_ids:
        lows[batch_id] = _scan(client, state, batch_id, finished)
    taken = {row.get("output", "").lower() for row in state.rows.values()}

    def fetch(job: dict[str, Any]) -> dict[str, Any]:
        row = report_row(job)
        if job["status"] == "succeeded":
            output = output_name(job, taken)
            client.download(job["job"]["links"]["result"], out_dir / output)
            row["output"] = output
        return row

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for row in pool.map(fetch, finished.values()):
            state.rows[row["name"]] = row
            state.save()
    state.cursors.update(lows)  # only now: every row before them is saved
    state.save()
    state.write_report()
    return len(finished)


def _scan(client: Client, state: State, batch_id: str, finished: dict[str, dict[str, Any]]) -> int:
    """Add the batch's newly ended items to `finished`; returns the new low-water cursor."""
    low = state.cursors.get(batch_id, 0)
    contiguous = True
    for position, job in enumerate(_jobs_if_known(client, batch_id, low), start=low):
        ended = job["status"] in ENDED
        if ended and job["name"] not in state.rows and job["status"] != "expired":
            finished.setdefault(job["name"], job)
        if ended and contiguous:
            low = position + 1
        else:
            contiguous = False
    return low


def output_name(job: dict[str, Any], taken: set[str]) -> str:
    """A flat, unique file name from the item's name (never a path from the server)."""
    base = str(job["name"]).replace("\\", "/").rsplit("/", 1)[-1].lstrip(".") or job["job_id"]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    media = job["job"]["outputs"].get("result", {}).get("media_type", "image/png")
    extension = EXTENSIONS.get(media, "bin")
    name, number = f"{stem}.{extension}", 1
    while name.lower() in taken or name in (STATE, "report.csv"):
        number += 1
        name = f"{stem}-{number}.{extension}"
    taken.add(name.lower())
    return name


def _flag(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


def report_row(job: dict[str, Any]) -> dict[str, Any]:
    metrics = job["job"].get("metrics") or {}
    proxy, quality = metrics.get("proxy") or {}, metrics.get("quality") or {}
    error = job.get("error") or {}
    return {
        "name": job["name"],
        "status": job["status"],
        "output": "",
        "error_code": error.get("code", ""),
        "error_message": error.get("message", ""),
        "needs_review": _flag(proxy.get("needs_review")),
        "review_reasons": ";".join(proxy.get("review_reasons") or []),
        "quality_score": quality.get("score", "") if isinstance(quality, dict) else "",
        "foreground_fraction": proxy.get("foreground_fraction", ""),
        "job_id": job["job_id"],
    }
