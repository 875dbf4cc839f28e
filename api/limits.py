"""Rate limits per tenant (flask-limiter, counters in Redis shared by every API process).

Two budgets per tenant: submissions (POST) and everything else (polls, downloads, deletes),
so a client polling its jobs never uses up its right to submit, and a burst of submissions
never locks it out of reading its results. Requests without a key are counted per client
address. Public routes (/health, /ready, the web page) are not limited.

Over the limit: `429 rate_limited` with Retry-After; every limited response carries
X-RateLimit-Limit / -Remaining / -Reset. If the counters' Redis cannot be reached, limits
are counted in each process's memory until it answers again (never a 500 for that).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from flask_limiter import HeaderNames, Limit, Limiter, RateLimitExceeded

from api.errors import error_response
from shared.errors import RateLimited
from shared.keys import ANONYMOUS
from shared.settings import Settings

KEY_PREFIX = "cutout-limits"
# flask-limiter puts its Retry-After on every response, a 202 included (where clients read it
# as a polling delay), and raises the API's own (queue_full's) to its window's end. It writes
# to this private name instead, which becomes Retry-After on a 429 only.
_LIMITER_RETRY_AFTER = "X-Cutout-Limiter-Retry-After"
SUBMIT_METHODS = ("post",)
READ_METHODS = ("get", "head", "put", "patch", "delete")


def rate_key() -> str:
    """Whose budget a request spends: its tenant, or its address when it has no key."""
    tenant = str(g.get("tenant", ANONYMOUS))
    if tenant == ANONYMOUS:
        return f"address:{request.remote_addr or 'unknown'}"
    return f"tenant:{tenant}"


def _is_public() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "cutout_public", False))


def _limits(settings: Settings) -> list[Limit]:
    budgets = (
        (settings.rate_limit_submit, "submit", SUBMIT_METHODS),
        (settings.rate_limit, "read", READ_METHODS),
    )
    return [
        Limit(text, scope=scope, shared=True, methods=methods, exempt_when=_is_public)
        for text, scope, methods in budgets
        if text.strip()
    ]


def install_limits(app: Flask, settings: Settings) -> Limiter | None:
    """Rate-limit the app's routes; call after the authentication hook is registered."""
    limits = _limits(settings)
    if not limits:
        return None
    storage_uri = settings.rate_limit_storage_url or settings.redis_url
    options: dict[str, str | int] = {}
    if storage_uri.startswith(("redis://", "rediss://")):
        # A dead Redis must cost a request little: the fallback takes over after one failure.
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    limiter = Limiter(
        rate_key,
        default_limits=list(limits),
        storage_uri=storage_uri,
        storage_options=options,
        strategy="fixed-window",
        key_prefix=KEY_PREFIX,
        headers_enabled=True,
        header_name_mapping={HeaderNames.RETRY_AFTER: _LIMITER_RETRY_AFTER},
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    # Registered before the limiter's own hook, so it runs after it (Flask runs them reversed).
    app.after_request(_retry_after_on_429_only)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    return limiter


def _retry_after_on_429_only(response: Response) -> Response:
    retry_after = response.headers.pop(_LIMITER_RETRY_AFTER, None)
    if response.status_code == 429 and retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def _rate_limited(exc: RateLimitExceeded) -> tuple[Response, int]:
    error = RateLimited(f"rate limit exceeded ({exc.description}); retry after Retry-After")
    return error_response(error.code, error.message, error.http_status)
