"""Choosing a backend from STORAGE_URL and the settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from shared.settings import Settings
from shared.storage import storage_from_settings, storage_from_url
from shared.storage.local import LocalStorage
from shared.storage.s3 import S3Storage


def test_relative_file_url_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = storage_from_url("file://data/storage")
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "data" / "storage"


def test_file_url_with_three_slashes_is_absolute(tmp_path: Path) -> None:
    storage = storage_from_url(f"file://{tmp_path}/store")
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "store"


def test_file_url_ignores_s3_options(tmp_path: Path) -> None:
    storage = storage_from_url(f"file://{tmp_path}", endpoint_url="http://minio:9000")
    assert isinstance(storage, LocalStorage)


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://cutout", "cutout", ""),
        ("s3://cutout/", "cutout", ""),
        ("S3://b1/jobs/live", "b1", "jobs/live/"),
    ],
)
def test_s3_url_names_bucket_and_prefix(url: str, bucket: str, prefix: str) -> None:
    storage = storage_from_url(url)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == (bucket, prefix)


@pytest.mark.parametrize(
    "url",
    [
        "data/storage",
        "http://example.com/x",
        "gs://bucket",
        "file://",
        "s3://",
        "s3:///jobs",
    ],
)
def test_other_urls_are_refused_naming_the_accepted_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="s3://BUCKET"):
        storage_from_url(url)


def test_s3_prefix_cannot_climb_out() -> None:
    with pytest.raises(ValueError, match="'..'"):
        storage_from_url("s3://cutout/jobs/../other")


def test_settings_choose_local_storage(tmp_path: Path) -> None:
    storage = storage_from_settings(Settings(storage_url=f"file://{tmp_path}"))
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path


def test_settings_reach_the_s3_backend(aws_credentials: None) -> None:
    settings = Settings(
        storage_url="s3://cutout/jobs",
        s3_endpoint_url="http://minio:9000",
        s3_public_endpoint_url="https://files.example.com",
        s3_region="eu-west-1",
        presigned_url_seconds=120,
    )
    storage = storage_from_settings(settings)

    assert isinstance(storage, S3Storage)
    link = storage.url("outputs/j1/result.png")
    assert link is not None
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "files.example.com",
        "/cutout/jobs/outputs/j1/result.png",
    )
    assert "X-Amz-Expires=120" in parts.query
    assert "eu-west-1" in parts.query
