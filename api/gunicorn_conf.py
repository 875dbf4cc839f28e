"""Gunicorn settings shared by `make run` and the API image: `gunicorn -c api/gunicorn_conf.py`.

The access log names who asked for what kind of thing and how it went, never a secret:
job (and batch, key, ...) ids in paths become `{id}` (an id is the capability to read a job),
query strings (presigned signatures) and the Referer are dropped, and request headers
(Authorization, X-Api-Key) and response headers (X-Job-Id, Location) are not available to
the format at all. Bodies (images) are never logged by gunicorn.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

from shared.settings import get_settings

# Command-line flags (--bind, --workers, --threads) still override these.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
logger_class = "api.gunicorn_conf.RedactingLogger"

# Long random-looking path segments outside /v1/ (ids from other routes).
_TOKEN = re.compile(r"^(?=.*[0-9A-Z_])[A-Za-z0-9_-]{16,}$")
_SAFE_ATOMS = ("h", "l", "t", "s", "m", "H", "b", "B", "a", "T", "D", "M", "L", "p")


def when_ready(server: Any) -> None:
    """Warn when the synchronous routes may take every thread (api/backpressure.py)."""
    slots, threads = get_settings().sync_wait_slots, server.cfg.threads
    if slots >= threads:
        server.log.warning(
            "CUTOUT_SYNC_WAIT_SLOTS=%d is not below gunicorn's %d threads: waiting "
            "/remove-bg calls can hold every thread; polls and health checks would queue",
            slots,
            threads,
        )


def redact_path(path: str) -> str:
    """`path` with ids replaced: /v1/<collection>/<id>/... and token-like segments."""
    parts = path.split("/")
    under_v1 = len(parts) > 1 and parts[1] == "v1"
    for index, part in enumerate(parts):
        is_id = under_v1 and index >= 3 and index % 2 == 1
        if part and (is_id or _TOKEN.match(part)):
            parts[index] = "{id}"
    return "/".join(parts)


class RedactingLogger(Logger):
    """Gunicorn's logger whose access-log atoms hold nothing secret."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
        full = super().atoms(resp, req, environ, request_time)
        atoms = {name: full[name] for name in _SAFE_ATOMS if name in full}
        path = redact_path(str(environ.get("PATH_INFO") or "/"))
        atoms.update(
            u="-", f="-", q="-", U=path, r=f"{atoms.get('m', '-')} {path} {atoms.get('H', '-')}"
        )
        return atoms
