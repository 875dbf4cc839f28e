"""Structured logs: one JSON object per line, the job's id on every line logged for a job.

`configure()` is called once per process (the API's WSGI module, the worker's Celery app).
`job_context(job_id)` marks what a process does for one job: every record logged inside it,
from any module, carries `job_id`. Image bytes and API keys never reach a line: bytes in a
record's arguments are replaced by their length, and anything shaped like a key is masked.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

CURRENT_JOB: ContextVar[str | None] = ContextVar("cutout_job_id", default=None)
# shared/keys.py makes keys as ck_<id>_<secret>; bearer tokens of any shape are masked too.
SECRET = re.compile(r"ck_[A-Za-z0-9]+_[A-Za-z0-9_-]+|(?i:bearer)\s+\S+")
# LogRecord's own attributes: everything else passed with `extra=` goes into the line.
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "job_id", "service"}


@contextmanager
def job_context(job_id: str) -> Iterator[None]:
    """Within the block, every log line of this thread or task carries `job_id`."""
    token = CURRENT_JOB.set(job_id)
    try:
        yield
    finally:
        CURRENT_JOB.reset(token)


class JobIdFilter(logging.Filter):
    """Adds the current job's id (or None) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:
            record.job_id = CURRENT_JOB.get()
        return True


def _safe(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    return value


def redact(text: str) -> str:
    """The text with anything shaped like an API key or bearer token masked."""
    return SECRET.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, service, logger, message, job_id, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple):  # on a copy: other handlers see the record as logged
            record = copy.copy(record)
            record.args = tuple(_safe(arg) for arg in args)
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "job_id": getattr(record, "job_id", None) or CURRENT_JOB.get(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD and not key.startswith("_"):
                line[key] = _safe(value)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


def configure(service: str, *, level: str = "INFO", fmt: str = "json") -> None:
    """Send this process's logs to stderr, as JSON lines (or plain text for a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(JobIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s [%(job_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
