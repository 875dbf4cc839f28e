"""S3-only behaviour, against moto's server over HTTP: links, prefixes, multipart, failures."""

from __future__ import annotations

import io
import os
import socket
import time
import urllib.request
from http.client import HTTPMessage
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from shared.errors import CutoutError, NotFound, StorageUnavailable
from shared.storage.s3 import S3Storage, make_client
from tests.s3_server import s3_client

KEY = "outputs/j1/result.png"


@pytest.fixture
def dead_endpoint() -> str:
    """An endpoint on a loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def download(link: str) -> tuple[bytes, HTTPMessage]:
    """The body and (case-insensitive) headers fetched from `link`."""
    with urllib.request.urlopen(link, timeout=10) as answer:  # noqa: S310 - our own server
        return answer.read(), answer.headers


def test_presigned_link_downloads_with_type_and_disposition(s3_storage: S3Storage) -> None:
    s3_storage.put(KEY, b"png bytes", content_type="image/png")

    link = s3_storage.url(KEY, filename="photo cutout é.png")

    assert link is not None
    assert parse_qs(urlsplit(link).query)["X-Amz-Expires"] == ["600"]
    body, headers = download(link)
    assert body == b"png bytes"
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == (
        "inline; filename=\"photo cutout _.png\"; filename*=UTF-8''photo%20cutout%20%C3%A9.png"
    )


def test_presigned_link_without_filename_has_no_disposition(s3_storage: S3Storage) -> None:
    s3_storage.put(KEY, b"png bytes", content_type="image/png")
    link = s3_storage.url(KEY)
    assert link is not None
    body, headers = download(link)
    assert body == b"png bytes"
    assert "Content-Disposition" not in headers


def test_links_are_signed_for_the_public_endpoint(s3_endpoint: str, s3_bucket: str) -> None:
    # Same server, another host name: what a browser outside a compose network would use.
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    storage = S3Storage(s3_bucket, "cutout", endpoint_url=s3_endpoint, public_endpoint_url=public)
    storage.put(KEY, b"via the public name", content_type="image/png")

    link = storage.url(KEY, filename="result.png")

    assert link is not None
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == public
    assert parts.path == f"/{s3_bucket}/cutout/{KEY}"
    assert download(link)[0] == b"via the public name"


def test_public_endpoint_may_be_unreachable_from_the_worker(
    s3_endpoint: str, s3_bucket: str
) -> None:
    storage = S3Storage(
        s3_bucket, endpoint_url=s3_endpoint, public_endpoint_url="https://files.example.com:9000"
    )
    link = storage.url(KEY)
    assert link is not None
    assert link.startswith(f"https://files.example.com:9000/{s3_bucket}/{KEY}?")


def test_objects_live_under_the_prefix_with_their_content_type(
    s3_storage: S3Storage, s3_endpoint: str, s3_bucket: str
) -> None:
    s3_storage.put("inputs/j1/original", b"jpeg", content_type="image/jpeg")
    head = s3_client(s3_endpoint).head_object(Bucket=s3_bucket, Key="cutout/inputs/j1/original")
    assert head["ContentType"] == "image/jpeg"


def test_large_streams_go_up_in_parts(
    s3_storage: S3Storage, s3_endpoint: str, s3_bucket: str
) -> None:
    payload = os.urandom(12 * 1024 * 1024)
    s3_storage.put(KEY, io.BytesIO(payload), content_type="image/png")

    head = s3_client(s3_endpoint).head_object(Bucket=s3_bucket, Key=f"cutout/{KEY}")
    # A multipart object's ETag ends in "-<number of parts>": 12 MiB in 8 MiB parts.
    assert head["ETag"].strip('"').endswith("-2")
    assert head["ContentType"] == "image/png"
    assert head["ContentLength"] == len(payload)


def test_delete_prefix_follows_pages_and_deletes_in_batches(aws_credentials: None) -> None:
    # Stubbed: creating 1005 objects on moto takes ~10 s; the real round trip of a
    # delete_prefix is covered by the contract tests.
    client = make_client(boto3.session.Session(), "http://127.0.0.1:9", "us-east-1")
    storage = S3Storage("cutout", "jobs", client=client)
    first = [f"jobs/inputs/j1/{number:04d}" for number in range(1000)]
    second = [f"jobs/inputs/j1/{number:04d}" for number in range(1000, 1005)]
    listing = {"Bucket": "cutout", "Prefix": "jobs/inputs/j1/"}
    with Stubber(client) as stubber:
        for names, token, after in [(first, None, "page-2"), (second, "page-2", None)]:
            page: dict[str, object] = {"Contents": [{"Key": name} for name in names]}
            page |= {"IsTruncated": True, "NextContinuationToken": after} if after else {}
            stubber.add_response(
                "list_objects_v2", page, listing | ({"ContinuationToken": token} if token else {})
            )
            deletion = {"Objects": [{"Key": name} for name in names], "Quiet": True}
            stubber.add_response("delete_objects", {}, {"Bucket": "cutout", "Delete": deletion})

        assert storage.delete_prefix("inputs/j1") == 1005
        stubber.assert_no_pending_responses()


def test_ping_fails_fast_against_a_closed_port(dead_endpoint: str, aws_credentials: None) -> None:
    storage = S3Storage("cutout", endpoint_url=dead_endpoint)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        storage.ping()
    assert time.monotonic() - started < 5


def test_calls_against_a_closed_port_are_unavailable_within_seconds(
    dead_endpoint: str, aws_credentials: None
) -> None:
    storage = S3Storage("cutout", endpoint_url=dead_endpoint)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        storage.get(KEY)
    with pytest.raises(StorageUnavailable):
        storage.put(KEY, io.BytesIO(b"x"), content_type="image/png")
    # Two calls, each with three attempts and standard backoff (at most 1 s + 2 s).
    assert time.monotonic() - started < 10


def test_missing_bucket_means_unavailable(s3_endpoint: str, aws_credentials: None) -> None:
    storage = S3Storage("no-such-bucket-here", endpoint_url=s3_endpoint)
    with pytest.raises(StorageUnavailable):
        storage.ping()
    with pytest.raises(StorageUnavailable):
        storage.get(KEY)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("InternalError", 500, StorageUnavailable),
        ("SlowDown", 503, StorageUnavailable),
        ("NoSuchKey", 404, NotFound),
        ("AccessDenied", 403, ClientError),
    ],
)
def test_error_answers_are_mapped(
    aws_credentials: None, code: str, status: int, expected: type[Exception]
) -> None:
    client = make_client(boto3.session.Session(), "http://127.0.0.1:9", "us-east-1")
    storage = S3Storage("cutout", client=client)
    with Stubber(client) as stubber:
        stubber.add_client_error("get_object", service_error_code=code, http_status_code=status)
        with pytest.raises(expected) as raised:
            storage.get(KEY)
    if issubclass(expected, CutoutError):
        assert isinstance(raised.value.__cause__, ClientError)


def test_partly_failed_batch_delete_is_unavailable(aws_credentials: None) -> None:
    client = make_client(boto3.session.Session(), "http://127.0.0.1:9", "us-east-1")
    storage = S3Storage("cutout", "jobs", client=client)
    with Stubber(client) as stubber:
        stubber.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": "jobs/inputs/j1/a"}, {"Key": "jobs/inputs/j1/b"}]},
            {"Bucket": "cutout", "Prefix": "jobs/inputs/j1/"},
        )
        stubber.add_response(
            "delete_objects",
            {"Errors": [{"Key": "jobs/inputs/j1/b", "Code": "InternalError", "Message": "x"}]},
        )
        with pytest.raises(StorageUnavailable, match="1 of 2 deletes failed"):
            storage.delete_prefix("inputs/j1")


@pytest.mark.parametrize("seconds", [0, 7 * 24 * 3600 + 1])
def test_presign_lifetime_must_be_valid_for_sigv4(seconds: int) -> None:
    with pytest.raises(ValueError):
        S3Storage("cutout", presign_seconds=seconds)


def test_prefix_is_validated_and_normalised() -> None:
    assert S3Storage("cutout", "/jobs/live/").prefix == "jobs/live/"
    assert S3Storage("cutout", "").prefix == ""
    with pytest.raises(ValueError):
        S3Storage("cutout", "jobs/../other")
