"""Webhook events: recorded in Redis when something ends, delivered by `python -m worker.webhooks`.

Each event is one delivery record (the signed body, the destination, every attempt) plus an
entry in a sorted set of due times. Both are written by `schedule_event` into a transaction
the caller may be building, so an event is recorded exactly when the change it reports is
(a job's terminal transition adds it to the same MULTI). The schedule stays in Redis rather
than in Celery ETA tasks, which a Redis broker holds in a worker's memory and redelivers after
the visibility timeout: here a pending retry survives a restart of every process, and a
sender claims a due delivery atomically, with a lease (shared/webhook_queue.py).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from shared.netguard import Resolver, check_destination, system_resolver

PREFIX = "cutout:webhooks:"
DUE = f"{PREFIX}due"  # sorted set: message id -> when its next attempt is due (epoch s)
WAKE = f"{PREFIX}wake"  # list: a nudge per new event, so senders need not poll
WAKE_LENGTH = 100
MAX_BODY_BYTES = 20_000
# Longer than the whole default retry schedule (about 3 days), so a record outlives its retries.
RECORD_SECONDS = 7 * 86400
MAX_ATTEMPTS_KEPT = 50


class State:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def record_key(message_id: str) -> str:
    return f"{PREFIX}delivery:{message_id}"


def iso(timestamp: float | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, as the API writes times."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def validate_url(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> str:
    """Check a webhook destination when it is given (it is checked again before every attempt)."""
    check_destination(url, allow_private=allow_private, resolver=resolver)
    return url


def redact_url(url: str) -> str:
    """The URL without what may be a secret: the password and the query's values."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:***@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}=***" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def event_body(event_type: str, data: dict[str, Any], timestamp: float) -> str:
    """The JSON sent: `{"type", "timestamp", "data"}`, under MAX_BODY_BYTES.

    Over the limit, long lists in `data` (warnings) are cut first; if that is not enough,
    only the resource's id, status, links and error code are kept, with `truncated: true`.
    """
    envelope: dict[str, Any] = {"type": event_type, "timestamp": iso(timestamp), "data": data}
    body = json.dumps(envelope, separators=(",", ":"))
    if len(body.encode()) <= MAX_BODY_BYTES:
        return body
    cut = {k: v[:5] if isinstance(v, list) else v for k, v in data.items()}
    envelope["data"] = {**cut, "truncated": True}
    body = json.dumps(envelope, separators=(",", ":"))
    if len(body.encode()) <= MAX_BODY_BYTES:
        return body
    error = data.get("error")
    envelope["data"] = {
        **{k: data[k] for k in ("id", "status", "links") if k in data},
        "error": {"code": error.get("code")} if isinstance(error, dict) else None,
        "truncated": True,
    }
    return json.dumps(envelope, separators=(",", ":"))


def schedule_event(
    pipe: Any,
    *,
    tenant: str,
    url: str,
    event_type: str,
    data: dict[str, Any],
    message_id: str,
    now: float | None = None,
) -> None:
    """Record a delivery due now; `pipe` is a Redis client or a transaction being built.

    `message_id` is the `webhook-id` the receiver sees on every attempt: make it unique per
    event (e.g. `job_finished_<job id>`). Scheduling the same id again replaces the record.
    """
    now = time.time() if now is None else now
    record = {
        "id": message_id,
        "tenant": tenant,
        "url": url,
        "type": event_type,
        "body": event_body(event_type, data, now),
        "created_at": now,
        "state": State.PENDING,
        "reason": None,
        "next_attempt_at": now,
        "attempts": [],
        "lease": None,
    }
    pipe.set(record_key(message_id), json.dumps(record), ex=RECORD_SECONDS)
    pipe.zadd(DUE, {message_id: now})
    pipe.rpush(WAKE, message_id)
    pipe.ltrim(WAKE, -WAKE_LENGTH, -1)


def load(client: redis.Redis, message_id: str) -> dict[str, Any] | None:
    """The delivery record, or None when there is none (never scheduled, or expired)."""
    raw = client.get(record_key(message_id))
    return json.loads(raw) if raw else None


def delivery_view(record: dict[str, Any] | None, url: str) -> dict[str, Any]:
    """What clients see under `webhook`: the destination (redacted) and every attempt."""
    view: dict[str, Any] = {"url": redact_url(url), "state": "waiting", "deliveries": []}
    if record is None:  # the resource has not ended yet (or the record expired)
        return view
    view.update(
        id=record["id"],
        type=record["type"],
        state=record["state"],
        reason=record["reason"],
        next_attempt_at=iso(record["next_attempt_at"]),
        deliveries=record["attempts"],
    )
    return view


def view_for(client: redis.Redis, message_id: str, url: str | None) -> dict[str, Any] | None:
    """`delivery_view` read from Redis; None when the resource has no webhook."""
    if url is None:
        return None
    return delivery_view(load(client, message_id), url)
