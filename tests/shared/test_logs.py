"""JSON log lines: one object per line, the job id on a job's lines, no bytes or keys."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from shared import logs


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.JobIdFilter())
    handler.setFormatter(logs.JsonFormatter("test"))
    logger = logging.getLogger("cutout.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_json_and_carries_the_job_id_inside_a_job(lines: io.StringIO) -> None:
    log = logging.getLogger("cutout.test-logs")
    with logs.job_context("job-1"):
        log.info("decoded %dx%d", 640, 480, extra={"event": "decoded"})
        logging.getLogger("cutout.test-logs.child").warning("slow")
    log.info("idle")
    first, second, third = _records(lines)
    assert first["message"] == "decoded 640x480" and first["event"] == "decoded"
    assert first["job_id"] == second["job_id"] == "job-1" and third["job_id"] is None
    assert (first["service"], second["level"]) == ("test", "warning")


def test_bytes_and_keys_never_reach_a_line(lines: io.StringIO) -> None:
    log = logging.getLogger("cutout.test-logs")
    key = "ck_abc123_S3cr3t-Value_xyz"
    log.info("upload %r from %s", b"\x89PNG" * 100, key, extra={"body": b"\xff\xd8"})
    log.info("header Authorization: Bearer eyJhbGciOi.secret")
    text = lines.getvalue()
    assert key not in text and "S3cr3t" not in text and "eyJhbGciOi" not in text
    first, _ = _records(lines)
    assert first["message"] == "upload '<400 bytes>' from [redacted]"
    assert first["body"] == "<2 bytes>"
