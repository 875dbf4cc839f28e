"""Settings of webhooks: the signing secret, the retry schedule and the sender.

A field group of `shared.settings.Settings` (which see; it re-exports the helpers below);
each field is `CUTOUT_<NAME>`.
"""

from __future__ import annotations

import base64
import binascii

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105  # a format prefix, not a secret
# Standard Webhooks: retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h.
DEFAULT_WEBHOOK_SCHEDULE = "0,5,300,1800,7200,18000,36000,50400,72000,86400"


class WebhookFields(BaseModel):
    """Webhook signing, private addresses, the attempt schedule and the sender's threads."""

    webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("CUTOUT_WEBHOOK_SECRET", "WEBHOOK_SECRET"),
        description="Signing secret for webhooks: whsec_ + base64 of 24-64 random bytes "
        "(make run makes one).",
    )
    webhook_allow_private: bool = Field(
        False,
        validation_alias=AliasChoices("CUTOUT_WEBHOOK_ALLOW_PRIVATE", "WEBHOOK_ALLOW_PRIVATE"),
        description="Let webhooks and image URLs reach loopback, private and link-local "
        "addresses (tests, private networks).",
    )
    webhook_schedule: str = Field(
        DEFAULT_WEBHOOK_SCHEDULE,
        description="Webhook attempts: 0 (the first, at once), then the seconds waited after "
        "each failure (comma-separated; 10% jitter).",
    )
    webhook_timeout_seconds: float = Field(
        15.0, gt=0, description="How long a webhook receiver has to answer."
    )
    webhook_threads: int = Field(
        4, ge=1, description="Deliveries one webhook sender process makes at once."
    )

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() != "":
            check_webhook_secret(value.get_secret_value())
        return value or None

    @field_validator("webhook_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @property
    def webhook_delays(self) -> list[float]:
        """The webhook schedule as seconds: before the first attempt, then after each failure."""
        return parse_schedule(self.webhook_schedule)


def check_webhook_secret(secret: str) -> bytes:
    """The key inside a `whsec_` secret; ValueError naming what is wrong (never the secret)."""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_ (then base64 of the key)")
    try:
        key = base64.b64decode(secret[len(WEBHOOK_SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"a webhook secret's key has 24 to 64 bytes, not {len(key)}")
    return key


def parse_schedule(text: str) -> list[float]:
    """Seconds from a comma-separated list: 0 (the first attempt), then the waits after failures."""
    try:
        delays = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"use comma-separated seconds, not {text!r}") from None
    if not delays or any(d < 0 or d != d for d in delays):
        raise ValueError(f"use one or more non-negative seconds, not {text!r}")
    if delays[0] != 0:
        raise ValueError("the first attempt is made at once: the schedule starts with 0")
    return delays
