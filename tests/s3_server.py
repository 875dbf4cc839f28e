"""A real S3 endpoint for tests: moto's server on a free loopback port, spoken to over HTTP.

Unit tests use it through fixtures in tests/shared/conftest.py; integration tests start it
once and point worker and API subprocesses at it:

    endpoint, stop = start_s3_server()
    create_bucket(endpoint, "cutout")
    env = with_test_credentials(os.environ) | {
        "STORAGE_URL": "s3://cutout/jobs", "CUTOUT_S3_ENDPOINT_URL": endpoint}
    ...
    stop()

moto keeps its buckets per process, so every server started in one process sees the same
buckets: give each test its own bucket (or prefix).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
# Fake credentials (moto accepts any) and no shared config files, so a developer's own AWS
# profile can never leak into a test, nor a test reach a real account.
S3_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Variables that would override or confuse the fake credentials above.
S3_TEST_ENV_DROP = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


def start_s3_server() -> tuple[str, Callable[[], None]]:
    """Start moto's S3 server on 127.0.0.1 at a free port; return its URL and a stop function."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}", server.stop


def with_test_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of `env` (e.g. os.environ, for a subprocess) using the fake credentials."""
    cleaned = {name: value for name, value in env.items() if name not in S3_TEST_ENV_DROP}
    return cleaned | S3_TEST_ENV


@functools.cache
def s3_client(endpoint_url: str) -> Any:
    """A plain boto3 client for the test server, to arrange or inspect buckets directly."""
    session = boto3.session.Session(
        aws_access_key_id=S3_TEST_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    return session.client("s3", endpoint_url=endpoint_url)


def create_bucket(endpoint_url: str, bucket: str) -> None:
    """Create `bucket` on the test server, whatever the current environment holds."""
    s3_client(endpoint_url).create_bucket(Bucket=bucket)
