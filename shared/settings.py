"""One settings object, built from the environment in one place.

Every field has a default and a one-line description; the README's configuration table is
checked against this class by a test (tests/shared/test_settings.py).
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105  # a format prefix, not a secret
# Standard Webhooks: retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h.
DEFAULT_WEBHOOK_SCHEDULE = "0,5,300,1800,7200,18000,36000,50400,72000,86400"


class Settings(BaseSettings):
    """Cutout's configuration; each field is read from `CUTOUT_<NAME>` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="CUTOUT_",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,  # a bad WEBHOOK_SECRET must not reach the logs
    )

    model_dir: Path = Field(
        REPO_ROOT / "models", description="Folder holding the ONNX model files."
    )
    preset: Literal["fast", "balanced", "best"] = Field(
        "balanced", description="Preset for jobs that name none (see README, Quality)."
    )
    model: str | None = Field(
        None,
        description="Model for jobs that name none (a name or ONNX path); unset: the preset's.",
    )
    inference_threads: int = Field(
        0, ge=0, description="Threads per inference; 0 = the CPUs this process may really use."
    )
    execution_provider: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="onnxruntime provider; auto picks CUDA when available, else CPU."
    )
    engine: Literal["auto", "onnxruntime", "openvino"] = Field(
        "auto",
        description="Inference engine; auto = OpenVINO for u2netp(-int8) on x86 CPUs when "
        "installed (bench/engines.py), else onnxruntime.",
    )
    openvino_cache_dir: Path | None = Field(
        None,
        description="OpenVINO's compiled-model cache; unset = MODEL_DIR/.ov-cache, "
        "skipped when not writable.",
    )
    max_megapixels: float = Field(
        25.0, gt=0, description="Largest input accepted, checked from the header before decoding."
    )
    memory_constrained: bool | None = Field(
        None,
        validation_alias=AliasChoices("CUTOUT_MEMORY_CONSTRAINED", "MEMORY_CONSTRAINED"),
        description="Worker: derive the largest input and default preset from the cgroup "
        "memory limit; unset = when a limit exists, true = also without one (512 MB), "
        "false = never.",
    )
    fallback: bool = Field(
        True, description="Use the OpenCV GrabCut fallback when the model cannot load or fails."
    )
    png_compress_level: int = Field(
        1,
        ge=0,
        le=3,
        description="Deflate level for PNG output, 0-3 (ISA-L's; chosen from "
        "bench/encode_levels.py).",
    )
    auth: Literal["off", "required"] = Field(
        "off",
        description="API keys: required = every request but /health and /ready needs one; "
        "off = requests without a key share one anonymous tenant (loopback use only).",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("CUTOUT_REDIS_URL", "REDIS_URL"),
        description="Redis for the job store and the Celery broker.",
    )
    storage_url: str = Field(
        "file://data/storage",
        validation_alias=AliasChoices("CUTOUT_STORAGE_URL", "STORAGE_URL"),
        description="Where files go: file://PATH (relative to the working directory) or "
        "s3://BUCKET/PREFIX.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3 API endpoint for MinIO/R2/others; unset = AWS."
    )
    s3_public_endpoint_url: str | None = Field(
        None, description="Endpoint used in presigned links, when clients reach S3 elsewhere."
    )
    s3_region: str = Field("us-east-1", description="S3 region name.")
    presigned_url_seconds: int = Field(
        3600, gt=0, description="Lifetime of presigned result links (S3 storage)."
    )
    max_upload_bytes: int = Field(
        10 * 1024 * 1024, gt=0, description="Largest upload the API accepts (413 above)."
    )
    job_retention_seconds: int = Field(
        86400, gt=0, description="How long job records and their files are kept."
    )
    sync_wait_seconds: float = Field(
        30.0, ge=0, description="How long /remove-bg waits for the result before answering 202."
    )
    max_attempts: int = Field(
        3, ge=1, description="Deliveries of a job before a worker crash fails it (worker_lost)."
    )
    task_soft_time_limit: int = Field(
        120, gt=0, description="Seconds before a job is asked to stop (fails as timed out)."
    )
    task_time_limit: int = Field(
        150, gt=0, description="Seconds before a job's worker process is killed."
    )
    broker_visibility_timeout: int = Field(
        600, gt=0, description="Seconds before an unacknowledged job is redelivered."
    )
    task_max_retries: int = Field(
        5,
        ge=0,
        description="Retries of a job whose storage or Redis is unreachable, then "
        "it fails (storage_unavailable).",
    )
    task_retry_backoff_max: float = Field(
        60.0, gt=0, description="Longest wait between those retries (they double from 2 s)."
    )
    reaper_stale_seconds: float | None = Field(
        None,
        gt=0,
        description="A queued or processing job that has not moved for this long and is not "
        "on the broker is re-sent; unset = TASK_TIME_LIMIT + BROKER_VISIBILITY_TIMEOUT.",
    )
    reaper_max_resends: int = Field(
        3, ge=0, description="Re-sends of a stuck job by the reaper before it fails (stalled)."
    )
    worker_max_tasks_per_child: int = Field(
        200, ge=1, description="Jobs a worker child runs before it is replaced."
    )
    worker_max_memory_per_child_mb: int = Field(
        # The child's own peak RSS counts the ~120 MB it shares with the parent: a 25 MP job
        # peaks near 530 MB there while the whole worker stays under 450 MB (bench/memory.py).
        640,
        ge=64,
        description="Resident MB (the child's own count) after which a worker child is replaced.",
    )
    heartbeat_seconds: float = Field(
        10.0, gt=0, description="How often a worker reports that it is alive."
    )
    ready_heartbeat_max_age: float = Field(
        60.0, gt=0, description="/ready fails when no worker reported for this long."
    )
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
    eval_dir: Path = Field(
        REPO_ROOT.parent / "shared" / "eval",
        description="Evaluation data (benchmark images, masks, rembg fixtures).",
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


def settings_table() -> str:
    """The README's configuration table, generated from the fields above."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = _relative_to_repo(default)
        variable = f"`{prefix}{name.upper()}`"
        if isinstance(field.validation_alias, AliasChoices):
            variable = " or ".join(f"`{choice}`" for choice in field.validation_alias.choices)
        lines.append(f"| {variable} | `{default}` | {field.description} |")
    return "\n".join(lines)


def _relative_to_repo(path: Path) -> str:
    # Defaults are absolute at run time; the README shows where they point from the checkout.
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return f"../{path.relative_to(REPO_ROOT.parent)}"


if __name__ == "__main__":
    print(settings_table())
