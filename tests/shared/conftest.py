"""Fixtures for the storage tests: one moto S3 server per session, a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.storage.s3 import S3Storage
from tests.s3_server import S3_TEST_ENV, S3_TEST_ENV_DROP, create_bucket, start_s3_server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on loopback, shared by the session."""
    endpoint, stop = start_s3_server()
    yield endpoint
    stop()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials in the environment, where boto3's default chain finds them."""
    for name in S3_TEST_ENV_DROP:
        monkeypatch.delenv(name, raising=False)
    for name, value in S3_TEST_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3_bucket(s3_endpoint: str, aws_credentials: None) -> str:
    """A new, empty bucket: moto's buckets outlive tests, so each test gets its own."""
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    create_bucket(s3_endpoint, bucket)
    return bucket


@pytest.fixture
def s3_storage(s3_endpoint: str, s3_bucket: str) -> S3Storage:
    """S3 storage under the prefix "cutout" of a fresh bucket."""
    return S3Storage(s3_bucket, "cutout", endpoint_url=s3_endpoint, presign_seconds=600)
