"""One webhook attempt: check the destination, sign, POST, and decide what comes next.

2xx is delivered; 410 stops for good; a refused or malformed destination stops for good (it
was checked when given, so it now resolves somewhere it must not go); everything else
(3xx, since redirects are not followed, other 4xx, 429, 5xx, timeouts, connection errors,
names that do not resolve) is retried on the schedule, no earlier than a Retry-After asks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from shared.errors import (
    CutoutError,
    DestinationRefused,
    FetchFailed,
    FetchTimeout,
    InvalidUrl,
)
from shared.netguard import Resolver, check_destination, send, system_resolver
from shared.webhook_queue import Outcome
from shared.webhooks import State, iso

JITTER = 0.1  # each delay is scheduled within +-10%, so retries from many jobs spread out
MAX_RETRY_AFTER = 86400.0  # a receiver cannot park a delivery for longer than a day
FINAL_ERRORS = (DestinationRefused, InvalidUrl)
RESPONSE_BYTES = 1024  # of the receiver's body: read and dropped, to reuse nothing


@dataclass
class Result:
    """What happened on the wire."""

    at: float
    duration: float
    status_code: int | None = None
    error: dict[str, str] | None = None
    retry_after: float | None = None
    final: bool = False  # never retry (410, refused destination)

    def attempt(self) -> dict[str, Any]:
        """The attempt as recorded and shown under `webhook.deliveries`."""
        return {
            "at": iso(self.at),
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": round(self.duration * 1000, 1),
        }


def signed_headers(signer: Webhook, message_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks' headers, signed now (a receiver refuses old timestamps)."""
    now = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(message_id, now, body),
    }


def attempt(
    record: dict[str, Any],
    *,
    signer: Webhook,
    timeout: float,
    allow_private: bool,
    resolver: Resolver = system_resolver,
) -> Result:
    """POST the record's body to its URL once, checked by the guard just before."""
    at, started = time.time(), time.monotonic()
    try:
        resolved = check_destination(record["url"], allow_private=allow_private, resolver=resolver)
        headers = signed_headers(signer, record["id"], record["body"])
        answer = send(
            resolved,
            method="POST",
            headers=headers,
            body=record["body"].encode(),
            timeout=timeout,
            max_bytes=RESPONSE_BYTES,
        )
    except CutoutError as exc:
        return Result(
            at,
            time.monotonic() - started,
            error=_error(exc),
            final=isinstance(exc, FINAL_ERRORS),
        )
    retry_after = parse_retry_after(answer.headers.get("retry-after"), now=time.time())
    return Result(
        at,
        time.monotonic() - started,
        status_code=answer.status,
        retry_after=retry_after,
        final=answer.status == 410,
    )


def _error(exc: CutoutError) -> dict[str, str]:
    # The guard's codes as they are; a failed request in the words of a webhook.
    if isinstance(exc, FetchTimeout):
        return {"code": "timeout", "message": exc.message}
    if isinstance(exc, FetchFailed):
        return {"code": "connection_failed", "message": exc.message}
    return exc.to_dict()


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = (
            float(value) if value.isdigit() else parsedate_to_datetime(value).timestamp() - now
        )
    except (TypeError, ValueError, IndexError):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def decide(
    result: Result,
    *,
    attempts_made: int,
    delays: list[float],
    random_unit: Callable[[], float] = random.random,
) -> Outcome:
    """Delivered, failed for good, or the time of the next attempt."""
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return Outcome(result.attempt(), State.DELIVERED)
    if result.final:
        reason = "gone" if code == 410 else (result.error or {}).get("code", "refused")
        return Outcome(result.attempt(), State.FAILED, reason=reason)
    if attempts_made >= len(delays):
        return Outcome(result.attempt(), State.FAILED, reason="retries_exhausted")
    delay = delays[attempts_made] * (1 + JITTER * (2 * random_unit() - 1))
    if result.retry_after is not None:
        delay = max(delay, result.retry_after)
    finished = result.at + result.duration
    return Outcome(result.attempt(), State.PENDING, next_attempt_at=finished + delay)
