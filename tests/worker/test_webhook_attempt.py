"""One webhook attempt: what each answer leads to, Retry-After, signatures, the guard."""

from __future__ import annotations

import base64
import json
from email.utils import formatdate

import pytest
from standardwebhooks.webhooks import Webhook

from shared.webhooks import State, validate_url
from worker.webhook_attempt import (
    MAX_RETRY_AFTER,
    Result,
    attempt,
    decide,
    parse_retry_after,
    signed_headers,
)

DELAYS = [0.0, 5.0, 300.0]
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def result(status: int | None = None, **kwargs: object) -> Result:
    return Result(at=1000.0, duration=0.5, status_code=status, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    outcome = decide(result(status), attempts_made=1, delays=DELAYS)
    assert outcome.state == State.DELIVERED and outcome.next_attempt_at is None
    assert outcome.attempt["status_code"] == status and outcome.attempt["duration_ms"] == 500.0


@pytest.mark.parametrize("status", [301, 302, 307, 400, 401, 404, 429, 500, 502, 503])
def test_other_answers_are_retried_on_the_schedule(status: int) -> None:
    outcome = decide(result(status), attempts_made=1, delays=DELAYS, random_unit=lambda: 0.5)
    assert outcome.state == State.PENDING and outcome.next_attempt_at == 1000.5 + 5.0


def test_jitter_stays_within_ten_percent() -> None:
    low = decide(result(500), attempts_made=2, delays=DELAYS, random_unit=lambda: 0.0)
    high = decide(result(500), attempts_made=2, delays=DELAYS, random_unit=lambda: 0.999999)
    assert low.next_attempt_at == pytest.approx(1000.5 + 270.0)
    assert high.next_attempt_at == pytest.approx(1000.5 + 330.0, abs=0.01)


def test_410_stops_for_good() -> None:
    outcome = decide(result(410, final=True), attempts_made=1, delays=DELAYS)
    assert (outcome.state, outcome.reason) == (State.FAILED, "gone")


def test_the_last_failure_ends_the_schedule() -> None:
    outcome = decide(result(500), attempts_made=len(DELAYS), delays=DELAYS)
    assert (outcome.state, outcome.reason) == (State.FAILED, "retries_exhausted")


def test_connection_errors_retry_and_refusals_do_not() -> None:
    error = {"code": "connection_failed", "message": "refused"}
    assert decide(result(error=error), attempts_made=1, delays=DELAYS).state == State.PENDING
    refused = {"code": "destination_refused", "message": "private"}
    outcome = decide(result(error=refused, final=True), attempts_made=1, delays=DELAYS)
    assert (outcome.state, outcome.reason) == (State.FAILED, "destination_refused")


def test_retry_after_delays_but_never_hastens() -> None:
    later = decide(result(503, retry_after=60.0), attempts_made=1, delays=DELAYS)
    assert later.next_attempt_at == 1000.5 + 60.0
    sooner = decide(result(429, retry_after=1.0), attempts_made=2, delays=DELAYS)
    assert sooner.next_attempt_at is not None and sooner.next_attempt_at >= 1000.5 + 270.0


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("99999999", now=now) == MAX_RETRY_AFTER
    for junk in (None, "", "soon", "-5", "1.5e3"):
        assert parse_retry_after(junk, now=now) is None


def test_signed_headers_verify_with_the_package() -> None:
    body = json.dumps({"type": "job.succeeded", "timestamp": "t", "data": {"id": "j"}})
    headers = signed_headers(Webhook(SECRET), "msg_job_j", body)
    assert headers["webhook-id"] == "msg_job_j" and headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(body, headers)["data"] == {"id": "j"}


def test_a_name_that_now_resolves_privately_is_refused_before_sending() -> None:
    """Checked when given (public), rebound to a private address later: nothing is sent."""
    answers = {"hook.example": ["93.184.215.14"]}

    def resolver(host: str, port: int) -> list[str]:
        return answers[host]

    url = "http://hook.example/in"
    assert validate_url(url, allow_private=False, resolver=resolver) == url
    answers["hook.example"] = ["169.254.169.254"]
    record = {"id": "m", "url": url, "body": "{}"}
    got = attempt(record, signer=Webhook(SECRET), timeout=1, allow_private=False, resolver=resolver)
    assert got.final and got.status_code is None
    assert got.error is not None and got.error["code"] == "destination_refused"
    assert "metadata" in got.error["message"]
