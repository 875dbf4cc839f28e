"""Batch events (`batch.completed`, opt-in `batch.progress`) handed to the webhooks.

The Lua scripts of shared/batches.py push an event onto a Redis list in the same step that
completes a batch, so an event is never produced twice. Whoever ran the script (the worker
ending the last job, the API closing the batch) pops the list right after and schedules
the webhook delivery; if that process dies in between, the next `deliver` anywhere (every
job end of any batch, every batch request) finds the event still on the list.
"""

from __future__ import annotations

import json
import logging
import time

import redis

from shared.batches import EVENTS, Batch, BatchStore, keys
from shared.batchview import describe
from shared.settings import get_settings
from shared.webhooks import schedule_event

log = logging.getLogger(__name__)
# Enough per call to drain a burst; the rest stays for the next call.
MAX_PER_CALL = 50


def deliver(client: redis.Redis, *, base_url: str | None = None) -> int:
    """Pop pending batch events and schedule their webhooks; returns how many were popped."""
    settings = get_settings()
    batches = BatchStore(client, retention_seconds=settings.job_retention_seconds)
    popped = 0
    while popped < MAX_PER_CALL:
        raw = client.lpop(EVENTS)
        if raw is None:
            break
        popped += 1
        event = json.loads(raw)  # type: ignore[arg-type]  # one value: LPOP without a count
        batch = batches.get(event["batch_id"])
        if batch is None:
            continue
        # Counted on the batch: what was emitted can be checked (tests, operators).
        client.hincrby(keys(batch.id)["batch"], f"events:{event['type']}", 1)
        if not batch.webhook_url:
            continue
        data = describe(batch, base_url or public_base_url())
        schedule(client, batch, batch.webhook_url, event["type"], data, time.time())
    return popped


def public_base_url() -> str:
    """The API's root as webhook receivers should see it (links in payloads)."""
    return get_settings().public_url.rstrip("/")


def completed_message_id(batch_id: str) -> str:
    """The `webhook-id` of a batch's one `batch.completed` event."""
    return f"msg_batch_{batch_id}"


def schedule(
    client: redis.Redis, batch: Batch, url: str, event_type: str, data: dict, at: float
) -> None:
    """Record the webhook delivery of one batch event (sent by the webhook sender)."""
    message_id = completed_message_id(batch.id)
    if event_type != "batch.completed":  # progress: a new id each time, never a retry's
        message_id = f"{message_id}_progress_{int(at * 1000)}"
    schedule_event(
        client,
        tenant=batch.tenant,
        url=url,
        event_type=event_type,
        data=data,
        message_id=message_id,
    )
