"""One settings object, built from the environment in one place.

Every field has a default and a one-line description; the README's configuration table is
checked against this class by a test (tests/shared/test_settings.py). The fields are declared
in groups, one per concern, in the shared/settings_*.py modules (and the last two below).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings_api import AuthFields, LimitFields, RequestFields
from shared.settings_batches import BatchFields
from shared.settings_storage import StorageFields
from shared.settings_webhooks import (
    DEFAULT_WEBHOOK_SCHEDULE,
    WEBHOOK_SECRET_PREFIX,
    WebhookFields,
    check_webhook_secret,
    parse_schedule,
)
from shared.settings_worker import REPO_ROOT, InferenceFields, TaskFields

__all__ = [
    "DEFAULT_WEBHOOK_SCHEDULE",
    "REPO_ROOT",
    "WEBHOOK_SECRET_PREFIX",
    "Settings",
    "check_webhook_secret",
    "get_settings",
    "parse_schedule",
    "settings_table",
]


class LogFields(BaseModel):
    """Service logs and the worker's metrics port."""

    log_format: Literal["json", "text"] = Field(
        "json", description="Service logs: one JSON object per line, or plain text."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level the API and the worker log."
    )
    worker_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Worker: serve Prometheus metrics on this port (0 = off; the API's "
        "/metrics already shows workers sharing its PROMETHEUS_MULTIPROC_DIR).",
    )


class QualityFields(BaseModel):
    """The review flag's operating point and the evaluation data."""

    review_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Review score from which a result is flagged needs_review; unset = the "
        "shipped operating point (docs/quality.md).",
    )
    eval_dir: Path = Field(
        REPO_ROOT.parent / "shared" / "eval",
        description="Evaluation data (benchmark images, masks, rembg fixtures).",
    )


# pydantic lists inherited fields from the last base to the first, so the groups are named in
# reverse: the README table starts with InferenceFields and ends with QualityFields.
class Settings(
    BaseSettings,
    QualityFields,
    BatchFields,
    LogFields,
    WebhookFields,
    LimitFields,
    TaskFields,
    RequestFields,
    StorageFields,
    AuthFields,
    InferenceFields,
):
    """Cutout's configuration; each field is read from `CUTOUT_<NAME>` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="CUTOUT_",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,  # a bad WEBHOOK_SECRET must not reach the logs
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


def settings_table() -> str:
    """The README's configuration table, generated from Settings' fields in their order."""
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
