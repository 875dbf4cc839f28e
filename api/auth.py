"""Who is asking: the API key of a request and the tenant it stands for.

Keys come as `Authorization: Bearer <key>` or, for remove.bg-style clients, `X-Api-Key`.
With CUTOUT_AUTH=required every route needs one except those marked `@public`; with
CUTOUT_AUTH=off a request without a key belongs to the anonymous tenant. A key that is sent
is always checked, so a mistyped or revoked key is an error, never a silent anonymous call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request

from api.services import services
from shared.errors import InvalidApiKey, Unauthorized
from shared.keys import ANONYMOUS

View = TypeVar("View", bound=Callable[..., object])


def public(view: View) -> View:
    """Mark a view that answers without a key (health, readiness, the page's own files)."""
    view.cutout_public = True  # type: ignore[attr-defined]
    return view


def request_key() -> str | None:
    """The API key the request carries, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Api-Key") or None


def _is_public() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    # No view: Flask answers 404/405 itself, and says nothing about any tenant's data.
    return view is None or getattr(view, "cutout_public", False)


def authenticate() -> None:
    """Before every request: set `g.tenant`, or refuse the request."""
    key = request_key()
    record = services().keys.lookup(key) if key is not None else None
    if record is not None:
        g.tenant, g.key_id = record.tenant, record.id
        return
    if not _is_public():
        if key is not None:
            raise InvalidApiKey("the API key is unknown or revoked")
        if services().settings.auth == "required":
            raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    g.tenant = ANONYMOUS


def current_tenant() -> str:
    """The tenant of the request being served."""
    return str(g.get("tenant", ANONYMOUS))
