"""Settings of batches: request and archive limits, URL fetching and progress events.

A field group of `shared.settings.Settings` (which see); each field is `CUTOUT_<NAME>`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class BatchFields(BaseModel):
    """Limits of one batch request, fetching its URLs, and its progress interval."""

    batch_max_request_bytes: int = Field(
        512 * 1024 * 1024,
        gt=0,
        description="Largest request to /v1/batches (many images, a zip or a URL list).",
    )
    batch_max_entries: int = Field(
        10_000, gt=0, description="Most entries one zip or URL list may hold."
    )
    batch_max_uncompressed_bytes: int = Field(
        4 * 1024 * 1024 * 1024,
        gt=0,
        description="Largest total uncompressed size of one zip's entries.",
    )
    fetch_timeout_seconds: float = Field(
        15.0, gt=0, description="Time limit for fetching one image of a URL list."
    )
    fetch_max_redirects: int = Field(
        3, ge=0, description="Redirects followed when fetching an image (each re-checked)."
    )
    batch_progress_min_seconds: float = Field(
        5.0, ge=0, description="Shortest batch.progress interval a batch may ask for."
    )
