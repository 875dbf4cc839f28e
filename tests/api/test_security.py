"""Security headers, the CORS allow-list, trusted proxies and what /ready may say."""

from __future__ import annotations

import io
from pathlib import Path

import fakeredis
from flask import Response

from shared.errors import StorageUnavailable
from shared.jobs import JobStore
from tests.api.conftest import Api, build_api
from tests.conftest import encoded, subject_photo

APP_ORIGIN = "https://app.example.com"


def test_every_response_carries_the_security_headers(api: Api) -> None:
    for response in (api.client.get("/health"), api.client.get("/v1/jobs/nope")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_html_gets_a_self_only_policy_without_inline_code(tiny_model: Path) -> None:
    api = build_api(tiny_model, s3_public_endpoint_url="https://files.example.com/bucket")

    @api.app.get("/page")
    def page() -> Response:
        return Response("<!doctype html><title>t</title>", mimetype="text/html")

    policy = api.client.get("/page").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in policy
    assert "https://files.example.com" in directives["img-src"]
    assert directives["frame-ancestors"] == "'none'"


def test_no_cors_headers_without_an_allow_list(api: Api) -> None:
    response = api.client.get("/health", headers={"Origin": APP_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allows_only_listed_origins(tiny_model: Path) -> None:
    api = build_api(tiny_model, cors_origins=f"{APP_ORIGIN}, https://other.example.com")
    allowed = api.client.get("/v1/jobs/nope", headers={"Origin": APP_ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "X-RateLimit-Remaining" in allowed.headers["Access-Control-Expose-Headers"]
    stranger = api.client.get("/v1/jobs/nope", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_a_preflight_is_answered_without_a_key_even_when_keys_are_required(
    tiny_model: Path,
) -> None:
    api = build_api(tiny_model, cors_origins=APP_ORIGIN, auth="required")
    preflight = api.client.options(
        "/v1/jobs",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "idempotency-key" in allowed
    # The real request still needs its key.
    assert api.client.post("/v1/jobs", headers={"Origin": APP_ORIGIN}).status_code == 401


def _submitted_location(api: Api) -> str:
    data = {"image": (io.BytesIO(encoded(subject_photo(32, 24))), "p.jpg")}
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cutout.example.com"}
    return api.client.post("/v1/jobs", data=data, headers=headers).headers["Location"]


def test_forwarded_headers_count_only_behind_trusted_proxies(tiny_model: Path) -> None:
    assert _submitted_location(build_api(tiny_model)).startswith("http://localhost/v1/jobs/")
    behind = build_api(tiny_model, trusted_proxies=1)
    assert _submitted_location(behind).startswith("https://cutout.example.com/v1/jobs/")


class DownStorage:
    """Storage whose ping fails with a message naming a private host and path."""

    def ping(self) -> None:
        raise StorageUnavailable("cannot reach http://10.1.2.3:9000/secret-bucket (/srv/data)")


def test_ready_names_the_failing_part_without_its_error_text(tiny_model: Path) -> None:
    api = build_api(tiny_model)
    api.app.extensions["cutout"].storage = DownStorage()
    server = fakeredis.FakeServer()
    server.connected = False  # every command raises ConnectionError, like a stopped Redis
    api.app.extensions["cutout"].store = JobStore(
        fakeredis.FakeRedis(server=server), retention_seconds=60
    )
    response = api.client.get("/ready")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks == {"redis": "unreachable", "storage": "unreachable", "worker": "unknown"}
    assert "10.1.2.3" not in response.get_data(as_text=True)
