"""The access log: ids, query strings, keys and referers never reach it."""

from __future__ import annotations

import datetime
import logging
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from api import gunicorn_conf
from api.gunicorn_conf import RedactingLogger, redact_path

JOB_ID = "Zq8v_Wn3kR0tYb5mXc2L1w"
KEY = "ck_live_4f9c2a7e1b"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/v1/jobs/{JOB_ID}", "/v1/jobs/{id}"),
        (f"/v1/jobs/{JOB_ID}/result", "/v1/jobs/{id}/result"),
        ("/v1/jobs", "/v1/jobs"),
        ("/v1/batches/b1/jobs", "/v1/batches/{id}/jobs"),
        ("/api/remove-background", "/api/remove-background"),
        ("/static/app.js", "/static/app.js"),
    ],
)
def test_ids_in_paths_are_redacted(path: str, logged: str) -> None:
    assert redact_path(path) == logged


def test_an_access_line_holds_no_id_key_query_or_referer(caplog: pytest.LogCaptureFixture) -> None:
    cfg = Config()
    cfg.set("accesslog", gunicorn_conf.accesslog)
    # A format that asks for everything dangerous: the logger must not have it to give.
    cfg.set(
        "access_log_format",
        gunicorn_conf.access_log_format + ' "%(r)s" "%(q)s" "%(f)s" %({authorization}i)s '
        "%({x-api-key}i)s %({x-job-id}o)s %({location}o)s",
    )
    logger = RedactingLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/v1/jobs/{JOB_ID}?signature=s3cr3t",
        "PATH_INFO": f"/v1/jobs/{JOB_ID}",
        "QUERY_STRING": "signature=s3cr3t",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://app.example.com/?job={JOB_ID}",
        "HTTP_USER_AGENT": "curl/8",
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {KEY}"), ("X-API-KEY", KEY)])
    response = SimpleNamespace(
        status="200 OK", sent=12, headers=[("X-Job-Id", JOB_ID), ("Location", JOB_ID)]
    )
    logger.access_log.propagate = True
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.access(response, request, environ, datetime.timedelta(milliseconds=5))
    line = caplog.text
    assert '"GET /v1/jobs/{id} HTTP/1.1" 200 12' in line
    for secret in (JOB_ID, KEY, "s3cr3t", "app.example.com"):
        assert secret not in line
