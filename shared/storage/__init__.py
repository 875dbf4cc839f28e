"""Storage backends, chosen by the scheme of STORAGE_URL: file://PATH or s3://BUCKET/PREFIX."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.storage.base import Storage, validate_key, validate_prefix
from shared.storage.local import LocalStorage

if TYPE_CHECKING:
    from shared.settings import Settings

__all__ = [
    "LocalStorage",
    "Storage",
    "storage_from_settings",
    "storage_from_url",
    "validate_key",
    "validate_prefix",
]

ACCEPTED = (
    "file://PATH (relative to the working directory; file:///PATH is absolute) "
    "or s3://BUCKET/PREFIX"
)


def storage_from_url(url: str, **s3_options: Any) -> Storage:
    """The backend `url` names; `s3_options` go to S3Storage and are ignored for file://."""
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if separator and scheme == "file":
        if not rest:
            raise ValueError(f"storage URL {url!r} has no path; use {ACCEPTED}")
        return LocalStorage(Path(rest))
    if separator and scheme == "s3":
        # Imported here: boto3 costs a quarter second to import and local setups never need it.
        from shared.storage.s3 import S3Storage

        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"storage URL {url!r} has no bucket; use {ACCEPTED}")
        return S3Storage(bucket, prefix, **s3_options)
    raise ValueError(f"unsupported storage URL {url!r}; use {ACCEPTED}")


def storage_from_settings(settings: Settings) -> Storage:
    """The backend configured by STORAGE_URL and the CUTOUT_S3_* settings."""
    return storage_from_url(
        settings.storage_url,
        endpoint_url=settings.s3_endpoint_url,
        public_endpoint_url=settings.s3_public_endpoint_url,
        region=settings.s3_region,
        presign_seconds=settings.presigned_url_seconds,
    )
