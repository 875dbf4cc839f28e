"""The sender's side of the webhook schedule: claim a due delivery, then record its attempt.

A claim moves the delivery's due time forward by a lease and writes a token into its record
in one optimistic transaction (WATCH on the record, which every change to a delivery
writes), so two senders never hold the same delivery at once. A sender that dies mid-attempt
leaves the delivery due again when the lease ends; one that finishes records the attempt
and either removes the delivery from the schedule or sets its next due time.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis

from shared.webhooks import DUE, MAX_ATTEMPTS_KEPT, RECORD_SECONDS, WAKE, State, record_key


@dataclass
class Claimed:
    """A delivery this sender holds until `lease_until`."""

    record: dict[str, Any]
    token: str
    lease_until: float

    @property
    def message_id(self) -> str:
        return str(self.record["id"])


@dataclass
class Outcome:
    """What one attempt did and what comes next."""

    attempt: dict[str, Any]  # at, status_code, error, duration_ms
    state: str  # State.DELIVERED, State.FAILED, or State.PENDING to retry
    next_attempt_at: float | None = None
    reason: str | None = None  # why a delivery failed for good


def claim_due(
    client: redis.Redis, *, lease_seconds: float, now: float | None = None, scan: int = 20
) -> Claimed | None:
    """Take one delivery whose time has come, or None if none is due."""
    now = time.time() if now is None else now
    for raw_id in client.zrangebyscore(DUE, "-inf", now, start=0, num=scan):
        message_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
        claimed = _claim(client, message_id, now, lease_seconds)
        if claimed is not None:
            return claimed
    return None


def _claim(
    client: redis.Redis, message_id: str, now: float, lease_seconds: float
) -> Claimed | None:
    key = record_key(message_id)
    with client.pipeline() as pipe:
        try:
            pipe.watch(key)
            raw, due = pipe.get(key), pipe.zscore(DUE, message_id)
            if raw is None:  # expired or deleted: nothing left to send
                pipe.unwatch()
                client.zrem(DUE, message_id)
                return None
            if due is None or due > now:  # another sender took it meanwhile
                pipe.unwatch()
                return None
            record = json.loads(raw)
            token, until = secrets.token_hex(8), now + lease_seconds
            record["lease"] = token
            pipe.multi()
            pipe.set(key, json.dumps(record), keepttl=True)
            pipe.zadd(DUE, {message_id: until})
            pipe.execute()
            return Claimed(record, token, until)
        except redis.WatchError:
            return None


def complete(client: redis.Redis, claimed: Claimed, outcome: Outcome) -> bool:
    """Record the attempt and schedule what follows; False if the lease was lost meanwhile.

    A sender that lost its lease (it took longer than the lease) still records its attempt,
    but leaves the schedule to the sender that holds the delivery now.
    """
    key = record_key(claimed.message_id)
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                raw = pipe.get(key)
                if raw is None:
                    pipe.unwatch()
                    return False
                record = json.loads(raw)
                held = record.get("lease") == claimed.token
                record["attempts"] = [*record["attempts"], outcome.attempt][-MAX_ATTEMPTS_KEPT:]
                pipe.multi()
                if held:
                    _apply(pipe, record, outcome)
                pipe.set(key, json.dumps(record), ex=RECORD_SECONDS)
                pipe.execute()
                return held
            except redis.WatchError:
                continue


def _apply(pipe: Any, record: dict[str, Any], outcome: Outcome) -> None:
    record.update(state=outcome.state, reason=outcome.reason, lease=None, next_attempt_at=None)
    if outcome.state == State.PENDING and outcome.next_attempt_at is not None:
        record["next_attempt_at"] = outcome.next_attempt_at
        pipe.zadd(DUE, {record["id"]: outcome.next_attempt_at})
    else:
        pipe.zrem(DUE, record["id"])


def next_due(client: redis.Redis) -> float | None:
    """When the earliest delivery is due (a past time: now), or None when none is scheduled."""
    first = client.zrange(DUE, 0, 0, withscores=True)
    return float(first[0][1]) if first else None


def wait_for_news(client: redis.Redis, timeout: float) -> None:
    """Block until a new event is scheduled or `timeout` s pass (under the socket timeout)."""
    if timeout <= 0:
        return
    client.blpop([WAKE], timeout=max(0.01, timeout))
