"""The webhook sender: `python -m worker.webhooks`, a light process beside the image workers.

It never takes an image worker's slot: one dispatcher thread claims due deliveries from
Redis (shared/webhook_queue.py) and hands each to a small pool of threads, which make the
attempt (worker/webhook_attempt.py) and record it. Between deliveries the dispatcher blocks
on Redis until the next one is due or a new event is scheduled. SIGTERM or Ctrl-C lets the
attempts in hand finish; a delivery whose sender died is claimed again when its lease ends.
"""

from __future__ import annotations

import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import FrameType

import redis
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook

from shared.netguard import Resolver, system_resolver
from shared.settings import Settings
from shared.tasks import redis_client
from shared.webhook_queue import Claimed, claim_due, complete, next_due, wait_for_news
from worker.webhook_attempt import attempt, decide

log = logging.getLogger("cutout.webhooks")
IDLE_WAIT = 1.0  # longest block on Redis between checks (under the client's 5 s timeout)
REDIS_RETRY = 1.0


@dataclass
class SenderConfig:
    """What the sender needs from the settings."""

    secret: str
    delays: list[float]
    timeout: float
    allow_private: bool
    threads: int

    @property
    def lease_seconds(self) -> float:
        # Longer than any attempt can take (connect and answer within the timeout), so a
        # live sender never loses its lease; short enough that a dead one's is soon taken.
        return 2 * self.timeout + 10

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderConfig:
        if settings.webhook_secret is None:
            raise SystemExit(
                "worker.webhooks: WEBHOOK_SECRET is not set (whsec_ + base64 of 24-64 random "
                "bytes; make run makes one)"
            )
        return cls(
            secret=settings.webhook_secret.get_secret_value(),
            delays=settings.webhook_delays,
            timeout=settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private,
            threads=settings.webhook_threads,
        )


class Sender:
    """Claims due deliveries and sends them on a pool of threads."""

    def __init__(
        self,
        client: redis.Redis,
        config: SenderConfig,
        *,
        resolver: Resolver = system_resolver,
        random_unit: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.config = config
        self.signer = Webhook(config.secret)
        self.resolver = resolver
        self.random_unit = random_unit
        self._slots = threading.Semaphore(config.threads)

    def run(self, stop: threading.Event) -> None:
        """Send until `stop` is set, then let the attempts in hand finish."""
        with ThreadPoolExecutor(self.config.threads, thread_name_prefix="webhook") as pool:
            while not stop.is_set():
                if not self._slots.acquire(timeout=IDLE_WAIT):
                    continue
                try:
                    claimed = self._claim_or_idle()
                except redis.RedisError as exc:  # Redis restarting: wait, do not crash
                    self._slots.release()
                    log.warning("redis: %s; retrying in %.0f s", exc, REDIS_RETRY)
                    stop.wait(REDIS_RETRY)
                    continue
                if claimed is None:
                    self._slots.release()
                else:
                    pool.submit(self._deliver, claimed)

    def _claim_or_idle(self) -> Claimed | None:
        claimed = claim_due(self.client, lease_seconds=self.config.lease_seconds)
        if claimed is None:
            self._idle()
        return claimed

    def _idle(self) -> None:
        """Block until the next delivery is due or news arrives (at most IDLE_WAIT)."""
        due = next_due(self.client)
        wait = IDLE_WAIT if due is None else min(IDLE_WAIT, due - time.time())
        # A due delivery another sender holds right now: look again shortly, without spinning.
        wait_for_news(self.client, max(wait, 0.02))

    def _deliver(self, claimed: Claimed) -> None:
        try:
            self.deliver(claimed)
        except Exception:  # one delivery's bug must not stop the sender; its lease ends
            log.exception("delivery %s failed unexpectedly", claimed.message_id)
        finally:
            self._slots.release()

    def deliver(self, claimed: Claimed) -> None:
        """One attempt for a claimed delivery, recorded with what comes next."""
        record = claimed.record
        result = attempt(
            record,
            signer=self.signer,
            timeout=self.config.timeout,
            allow_private=self.config.allow_private,
            resolver=self.resolver,
        )
        outcome = decide(
            result,
            attempts_made=len(record["attempts"]) + 1,
            delays=self.config.delays,
            random_unit=self.random_unit,
        )
        complete(self.client, claimed, outcome)
        what = result.status_code or (result.error or {}).get("code")
        log.info(
            "%s %s attempt %d: %s in %.0f ms -> %s",
            record["type"],
            record["id"],
            len(record["attempts"]) + 1,
            what,
            result.duration * 1000,
            outcome.state if outcome.reason is None else f"{outcome.state} ({outcome.reason})",
        )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"worker.webhooks: bad settings: {exc}", file=sys.stderr)
        return 2
    config = SenderConfig.from_settings(settings)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received; finishing the deliveries in hand", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    log.info(
        "sending webhooks with %d threads (timeout %.0f s, private destinations %s)",
        config.threads,
        config.timeout,
        "allowed" if config.allow_private else "refused",
    )
    Sender(redis_client(settings), config).run(stop)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
