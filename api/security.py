"""Response hardening: security headers, the CORS allow-list and trusted proxies.

- Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
  `X-Frame-Options: DENY` and a Content-Security-Policy. JSON and images get a CSP that allows
  nothing (they are never documents); HTML gets one that allows the page's own scripts,
  styles and images (`'self'`, no inline code) plus the images and fetches it needs from
  the S3 endpoint that serves presigned results.
- CORS (flask-cors) only for the origins in CUTOUT_CORS_ORIGINS; none when it is empty.
  A preflight (OPTIONS) is answered before authentication, since browsers send it without
  the Authorization header.
- X-Forwarded-For/-Proto/-Host/-Port/-Prefix are trusted (werkzeug's ProxyFix) only when
  CUTOUT_TRUSTED_PROXIES says how many proxies set them, so links (`Location`, job links)
  name the address clients use; otherwise anyone could forge them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.settings import Settings

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# JSON, images and errors: nothing may run, load or frame them.
CSP_NONE = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Request headers a browser client may send, and response headers it may read.
CORS_ALLOW_HEADERS = ["Authorization", "X-Api-Key", "Idempotency-Key", "Content-Type"]
CORS_EXPOSE_HEADERS = [
    "Location",
    "Retry-After",
    "X-Job-Id",
    "Idempotent-Replayed",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]


def html_csp(settings: Settings) -> str:
    """The policy for HTML pages: their own files only, no inline code, never framed."""
    s3 = _origins_of(settings.s3_public_endpoint_url, settings.s3_endpoint_url)
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        " ".join(["img-src 'self' data: blob:", *s3]),
        " ".join(["connect-src 'self'", *s3]),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _origins_of(*urls: str | None) -> list[str]:
    found = []
    for url in urls:
        parts = urlsplit(url or "")
        if parts.scheme and parts.netloc and f"{parts.scheme}://{parts.netloc}" not in found:
            found.append(f"{parts.scheme}://{parts.netloc}")
    return found


def cors_origins(settings: Settings) -> list[str]:
    """The allow-listed origins from CUTOUT_CORS_ORIGINS."""
    return [origin.strip().rstrip("/") for origin in settings.cors_origins.split(",") if origin]


def install_security(app: Flask, settings: Settings) -> None:
    """Wire headers, CORS and proxy trust into the app (before the authentication hook)."""
    if settings.trusted_proxies:
        count = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count, x_prefix=count
        )
    origins = cors_origins(settings)
    if origins:
        CORS(
            app,
            origins=origins,
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            max_age=600,
        )
        app.before_request(_answer_preflight)
    page_policy = html_csp(settings)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        is_html = response.mimetype == "text/html"
        response.headers.setdefault("Content-Security-Policy", page_policy if is_html else CSP_NONE)
        return response


def _answer_preflight() -> Response | None:
    """A CORS preflight gets its answer here; flask-cors adds the headers to it afterwards."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return current_app.make_default_options_response()
    return None
