"""Idempotency keys: per tenant, bound to what was sent, claimed with the job in one transaction.

A claim is `{job, fingerprint, state, at}` under `cutout:idempotency:<tenant>:<sha256(key)>`.
It is written in the same MULTI as the job record, so two racing requests make one job. It is
`pending` until the job is on the queue; a request that finds it pending answers 409
`in_flight`, and one whose job never reached the queue releases it, so retrying a 503 works.
A pending claim older than PENDING_SECONDS is taken as queued: its request died between
record and send, and the reaper re-sends such jobs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

from shared.errors import IdempotencyMismatch, InvalidOption, RequestInFlight
from shared.jobs import KEY_PREFIX, Job, JobStore

PENDING_SECONDS = 30.0


@dataclass(frozen=True)
class Claim:
    """One Idempotency-Key of one tenant, and the fingerprint of the request carrying it."""

    tenant: str
    key: str
    fingerprint: str

    @property
    def redis_key(self) -> str:
        digest = hashlib.sha256(self.key.encode()).hexdigest()
        return f"{KEY_PREFIX}idempotency:{self.tenant}:{digest}"


def fingerprint(route: str, options: Mapping[str, Any], files: Mapping[str, bytes]) -> str:
    """A digest of what a request asks for: route, canonical options, each file's content."""
    described = {
        "route": route,
        "options": options,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def make_claim(tenant: str, key: str | None, print_: str) -> Claim | None:
    """The claim for an Idempotency-Key header (None without one)."""
    if key is None:
        return None
    if not 1 <= len(key) <= 255:
        raise InvalidOption("Idempotency-Key: 1 to 255 characters")
    return Claim(tenant, key, print_)


def replay(store: JobStore, claim: Claim) -> Job | None:
    """The job an earlier request with this key made, or None if the key is free."""
    return _resolve(store, claim, store.redis.get(claim.redis_key))


def create(store: JobStore, job: Job, claim: Claim) -> tuple[Job, bool]:
    """Record `job` and claim the key in one transaction; returns (job, created).

    When the key is taken by an identical request, its job comes back with created=False.
    """
    with store.redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(claim.redis_key)
                existing = _resolve(store, claim, pipe.get(claim.redis_key))
                if existing is not None:
                    pipe.unwatch()
                    return existing, False
                pipe.multi()
                value = _value(job.id, claim.fingerprint, "pending")
                pipe.set(claim.redis_key, value, ex=store.retention)
                store.queue_create(pipe, job)
                pipe.execute()
                return job, True
            except redis.WatchError:
                continue


def confirm(store: JobStore, claim: Claim, job_id: str) -> None:
    """The job is on the queue: later requests with the key get it back."""
    _replace_if_owned(store, claim, job_id, _value(job_id, claim.fingerprint, "queued"))


def release(store: JobStore, claim: Claim, job_id: str) -> None:
    """The job never reached the queue: free the key for the client's retry."""
    _replace_if_owned(store, claim, job_id, None)


def _value(job_id: str, print_: str, state: str) -> str:
    return json.dumps({"job": job_id, "fingerprint": print_, "state": state, "at": time.time()})


def _resolve(store: JobStore, claim: Claim, raw: bytes | str | None) -> Job | None:
    if raw is None:
        return None
    held = json.loads(raw)
    if held["fingerprint"] != claim.fingerprint:
        raise IdempotencyMismatch(
            "Idempotency-Key was used before with a different request "
            "(route, options or files); use a new key for a new request"
        )
    if held["state"] == "pending" and time.time() - held["at"] < PENDING_SECONDS:
        raise RequestInFlight(
            "the first request with this Idempotency-Key is still being queued; retry shortly"
        )
    # None when the job was deleted or expired: the key is free again.
    return store.get(held["job"])


def _replace_if_owned(store: JobStore, claim: Claim, job_id: str, value: str | None) -> None:
    with store.redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(claim.redis_key)
                raw = pipe.get(claim.redis_key)
                if raw is None or json.loads(raw)["job"] != job_id:
                    pipe.unwatch()
                    return
                pipe.multi()
                if value is None:
                    pipe.delete(claim.redis_key)
                else:
                    pipe.set(claim.redis_key, value, keepttl=True)
                pipe.execute()
                return
            except redis.WatchError:
                continue
