"""Tenants with real processes: keys made by `cutout keys`, S3 storage on moto, auth required.

Another tenant's job, result, mask, result link and idempotency key all answer like an
unknown id; a presigned result link stops working when it expires.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

from shared.keys import KeyStore
from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import Stack, http, start_stack
from tests.s3_server import create_bucket, start_s3_server, with_test_credentials

pytestmark = pytest.mark.integration
CUTOUT = Path(sys.executable).parent / "cutout"
LINK_SECONDS = 3


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model_dir = require_real_model().parent
    endpoint, stop_s3 = start_s3_server()
    create_bucket(endpoint, "cutout-tenants")
    env = with_test_credentials({}) | {
        "STORAGE_URL": "s3://cutout-tenants/jobs",
        "CUTOUT_S3_ENDPOINT_URL": endpoint,
        "CUTOUT_AUTH": "required",
        "CUTOUT_PRESIGNED_URL_SECONDS": str(LINK_SECONDS),
        "CUTOUT_PRESET": "fast",
    }
    running = start_stack(tmp_path_factory.mktemp("tenants"), model_dir, **env)
    yield running
    running.stop()
    stop_s3()


def _cli_key(stack: Stack, tenant: str) -> str:
    env = {**os.environ, "CUTOUT_REDIS_URL": stack.redis.url}
    done = subprocess.run(
        [CUTOUT, "keys", "create", tenant], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def _finished(stack: Stack, job_id: str, key: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = http.request("GET", stack.url(f"/v1/jobs/{job_id}"), headers=_auth(key)).json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish\n{stack.logs()}")


def test_keys_made_by_the_command_line_work_and_are_listed(stack: Stack) -> None:
    key = _cli_key(stack, "cli-tenant")
    env = {**os.environ, "CUTOUT_REDIS_URL": stack.redis.url}
    listed = subprocess.run(
        [CUTOUT, "keys", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "cli-tenant" in listed.stdout and key not in listed.stdout
    answer = http.request("GET", stack.url("/v1/jobs/nothing"), headers=_auth(key))
    assert answer.status == 404
    refused = http.request("GET", stack.url("/v1/jobs/nothing"))
    assert refused.status == 401 and refused.json()["error"]["code"] == "unauthorized"


def test_another_tenant_sees_nothing(stack: Stack) -> None:
    acme = _cli_key(stack, "acme")
    globex, _ = KeyStore(stack.redis.client()).create("globex")
    image = encoded(subject_photo(320, 240))
    sent = stack.submit(image, headers=_auth(acme, **{"Idempotency-Key": "order-1234"}))
    assert sent.status == 202, sent.data
    job_id = sent.json()["id"]
    assert _finished(stack, job_id, acme)["status"] == "succeeded"
    for path in ("", "/result", "/mask"):
        theirs = http.request("GET", stack.url(f"/v1/jobs/{job_id}{path}"), headers=_auth(globex))
        assert theirs.status == 404 and theirs.json()["error"]["code"] == "not_found"
    assert (
        http.request("DELETE", stack.url(f"/v1/jobs/{job_id}"), headers=_auth(globex)).status == 404
    )
    same_key = stack.submit(image, headers=_auth(globex, **{"Idempotency-Key": "order-1234"}))
    assert same_key.status == 202 and same_key.json()["id"] != job_id
    assert "Idempotent-Replayed" not in same_key.headers


def test_result_links_are_signed_with_a_short_lifetime(stack: Stack) -> None:
    # moto's server does not enforce a presigned link's expiry (real S3 and MinIO do), so
    # this checks what the link asks S3 to enforce: its signed date and lifetime.
    key = _cli_key(stack, "links")
    sent = stack.submit(encoded(subject_photo(320, 240)), headers=_auth(key))
    job_id = sent.json()["id"]
    _finished(stack, job_id, key)
    plain = urllib3.PoolManager(retries=False)
    answer = plain.request("GET", stack.url(f"/v1/jobs/{job_id}/result"), headers=_auth(key))
    assert answer.status == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["X-Amz-Expires"] == [str(LINK_SECONDS)] and "X-Amz-Signature" in query
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - signed).total_seconds()) < 60
    assert plain.request("GET", answer.headers["Location"]).status == 200
    unsigned = answer.headers["Location"].split("?")[0]
    assert plain.request("GET", unsigned).status == 403
