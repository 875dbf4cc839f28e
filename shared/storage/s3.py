"""Storage in an S3-compatible bucket (AWS, MinIO, R2, ...) through boto3.

Credentials come from boto3's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
AWS_PROFILE, instance roles). Content types are stored on the objects, so presigned links
serve the right type. Missing keys raise `NotFound`; unreachable endpoints, 5xx answers and
a missing bucket raise `StorageUnavailable`, which callers treat as transient and retry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as EndpointError

from shared.disposition import content_disposition
from shared.errors import CutoutError, NotFound, StorageUnavailable
from shared.storage.base import Storage, validate_key, validate_prefix

# A dead endpoint must fail in seconds, not minutes: short connects, three attempts in all.
CONNECT_TIMEOUT_SECONDS = 3
# Per socket read, not per transfer: a 50 MB body still streams.
READ_TIMEOUT_SECONDS = 30
MAX_ATTEMPTS = 3
# SigV4 presigned links cannot outlive a week.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
# S3 deletes at most this many keys per request.
DELETE_BATCH = 1000
# Multipart above 8 MiB, four parts in flight: a streamed upload buffers about 32 MiB at most.
TRANSFER = TransferConfig(
    multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=4
)
# A missing bucket is a deployment fault, not a missing file: report the store as down.
UNAVAILABLE_CODES = {"NoSuchBucket", "SlowDown", "ServiceUnavailable", "RequestTimeout"}
MISSING_CODES = {"NoSuchKey", "NotFound", "404"}
TRANSIENT_ERRORS = (EndpointError, HTTPClientError, IncompleteReadError)


class S3Storage(Storage):
    """Objects in `bucket` under `prefix`; links are presigned for `public_endpoint_url`."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        region: str = "us-east-1",
        presign_seconds: int = 3600,
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3 storage needs a bucket name")
        if not 0 < presign_seconds <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"presign_seconds must be in 1..{MAX_PRESIGN_SECONDS}")
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = validate_prefix(prefix) if prefix else ""
        self.presign_seconds = presign_seconds
        # A private session (boto3's default one is not thread-safe), shared by the clients
        # so the S3 service model loads once.
        session = boto3.session.Session()
        self._client = client or make_client(session, endpoint_url, region)
        # SigV4 signs the Host header, so links must be signed for the host clients use,
        # which may differ from the one the worker reaches (MinIO inside a compose network).
        self._presigner = (
            make_client(session, public_endpoint_url, region)
            if public_endpoint_url
            else self._client
        )
        # /ready should answer quickly and let its prober retry, so ping tries only once.
        self._pinger = client or make_client(session, endpoint_url, region, attempts=1)

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str) -> None:
        """Upload `data`; streams go through multipart upload in parts, never read whole."""
        name = self._name(key)
        with _translated(key):
            if isinstance(data, bytes | bytearray | memoryview):
                self._client.put_object(
                    Bucket=self.bucket, Key=name, Body=bytes(data), ContentType=content_type
                )
            else:
                self._client.upload_fileobj(
                    data,
                    self.bucket,
                    name,
                    ExtraArgs={"ContentType": content_type},
                    Config=TRANSFER,
                )

    def get(self, key: str) -> bytes:
        """The whole object."""
        name = self._name(key)
        with _translated(key):
            body = self._client.get_object(Bucket=self.bucket, Key=name)["Body"]
            with contextlib.closing(body):
                return bytes(body.read())

    def open(self, key: str) -> BinaryIO:
        """The object's streaming body; errors while reading it are botocore's own."""
        name = self._name(key)
        with _translated(key):
            body: BinaryIO = self._client.get_object(Bucket=self.bucket, Key=name)["Body"]
            return body

    def exists(self, key: str) -> bool:
        """Whether the object exists (one HEAD request)."""
        try:
            self._head(key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        """The object's length in bytes (one HEAD request)."""
        return int(self._head(key)["ContentLength"])

    def url(self, key: str, *, filename: str | None = None) -> str | None:
        """A presigned GET link; with `filename`, its Content-Disposition names the file."""
        params = {"Bucket": self.bucket, "Key": self._name(key)}
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition(filename)
        link: str = self._presigner.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.presign_seconds
        )
        return link

    def delete(self, key: str) -> None:
        """Delete the object; S3 itself does not mind a missing key."""
        name = self._name(key)
        with _translated(key):
            self._client.delete_object(Bucket=self.bucket, Key=name)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under the folder `prefix`, a page (up to 1000) at a time."""
        folder = self.prefix + validate_prefix(prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        count = 0
        with _translated(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
                names = [item["Key"] for item in page.get("Contents", [])]
                for start in range(0, len(names), DELETE_BATCH):
                    count += self._delete_batch(names[start : start + DELETE_BATCH])
        return count

    def ping(self) -> None:
        """HEAD the bucket; any failure (unreachable, no bucket, no access) means unavailable."""
        try:
            self._pinger.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 bucket {self.bucket!r} unavailable: {error}") from error

    def _delete_batch(self, names: list[str]) -> int:
        answer = self._client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": name} for name in names], "Quiet": True},
        )
        if errors := answer.get("Errors"):
            first = errors[0]
            raise StorageUnavailable(
                f"{len(errors)} of {len(names)} deletes failed, e.g. {first.get('Key')!r}: "
                f"{first.get('Code')} {first.get('Message')}"
            )
        return len(names)

    def _head(self, key: str) -> dict[str, Any]:
        name = self._name(key)
        with _translated(key):
            head: dict[str, Any] = self._client.head_object(Bucket=self.bucket, Key=name)
            return head

    def _name(self, key: str) -> str:
        return self.prefix + validate_key(key)


def make_client(
    session: boto3.session.Session,
    endpoint_url: str | None,
    region: str,
    *,
    attempts: int = MAX_ATTEMPTS,
) -> Any:
    """A boto3 S3 client with short timeouts and standard retries."""
    config = Config(
        region_name=region,
        signature_version="s3v4",
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": attempts},
        # Custom endpoints (MinIO, moto, compose host names) rarely resolve bucket subdomains.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        # boto3 >= 1.36 adds CRC checksums to every request and checks them on every answer;
        # several S3-compatible servers reject or omit those headers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    """Turn botocore's errors for `key` into the project's NotFound and StorageUnavailable."""
    try:
        yield
    except ClientError as error:
        mapped = _map_client_error(error, key)
        if mapped is None:
            raise
        raise mapped from error
    except TRANSIENT_ERRORS as error:
        raise StorageUnavailable(f"S3 unreachable while accessing {key!r}: {error}") from error


def _map_client_error(error: ClientError, key: str) -> CutoutError | None:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    if code in UNAVAILABLE_CODES or status >= 500:
        return StorageUnavailable(f"S3 failed on {key!r}: {code or status}")
    if code in MISSING_CODES or status == 404:
        return NotFound(f"no stored file {key!r}")
    # Access denied, bad request and the like are not transient: let them surface as they are.
    return None
