"""Where Cutout keeps its state: Redis (job store and broker) and the result files.

A field group of `shared.settings.Settings` (which see); each field is `CUTOUT_<NAME>`.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field


class StorageFields(BaseModel):
    """Redis, file storage (local or S3) and presigned links."""

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
