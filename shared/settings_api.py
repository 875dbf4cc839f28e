"""Settings of the HTTP API: access, request sizes and waits, rate limits and links.

Field groups of `shared.settings.Settings` (which see); each field is `CUTOUT_<NAME>`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AuthFields(BaseModel):
    """Whether requests need an API key."""

    auth: Literal["off", "required"] = Field(
        "off",
        description="API keys: required = every request but /health and /ready needs one; "
        "off = requests without a key share one anonymous tenant (loopback use only).",
    )


class RequestFields(BaseModel):
    """Upload size, how long jobs are kept, and how long /remove-bg waits."""

    max_upload_bytes: int = Field(
        10 * 1024 * 1024, gt=0, description="Largest upload the API accepts (413 above)."
    )
    job_retention_seconds: int = Field(
        86400, gt=0, description="How long job records and their files are kept."
    )
    sync_wait_seconds: float = Field(
        30.0, ge=0, description="How long /remove-bg waits for the result before answering 202."
    )


class LimitFields(BaseModel):
    """Rate limits, queue depth, waiting slots, CORS, proxies and the public address."""

    rate_limit: str = Field(
        "1200/minute",
        description="Requests per tenant to read routes (polls, downloads, deletes), in "
        "limits' syntax ('10/second;1200/minute'); empty = no limit.",
    )
    rate_limit_submit: str = Field(
        "120/minute",
        description="Submissions (POST) per tenant, counted apart from reads; empty = no limit.",
    )
    rate_limit_storage_url: str | None = Field(
        None,
        description="Where rate-limit counters live (a limits storage URI); unset = "
        "CUTOUT_REDIS_URL, memory:// = per API process.",
    )
    max_queue_depth: int = Field(
        1000,
        ge=0,
        description="Jobs waiting in the queue at which new submissions get 503 queue_full; "
        "0 = no cap.",
    )
    sync_wait_slots: int = Field(
        3,
        ge=0,
        description="Requests to /remove-bg and /evaluate that may wait for their job at once "
        "per API process (keep below gunicorn's threads); the rest get 202 at once.",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins allowed to call the API from a browser "
        "(https://app.example.com); empty = no CORS headers.",
    )
    trusted_proxies: int = Field(
        0,
        ge=0,
        description="Reverse proxies in front of the API whose X-Forwarded-* headers are "
        "trusted for links; 0 = ignore those headers.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The API's address as clients reach it, for links in webhook payloads.",
    )
