"""Liveness (/health) and readiness (/ready: Redis, storage and a live worker).

/ready is public, so its details are fixed words and numbers: never an exception's text,
which can name hosts, buckets, paths or credentials in a URL. The reason goes to the log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, jsonify

from api.auth import public
from api.services import services
from shared import heartbeats
from shared.errors import CutoutError

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
@public
def health() -> Response:
    """The process is up (it says nothing about Redis or workers: see /ready).
    ---
    get:
      summary: Liveness
      tags: [operations]
      security: []
      responses:
        200:
          description: The API process answers
          content:
            application/json:
              schema: {type: object, properties: {status: {type: string}}}
    """
    return jsonify({"status": "ok"})


def _check_redis() -> tuple[bool, Any]:
    try:
        services().store.redis.ping()
        return True, "ok"
    except Exception as exc:  # any Redis client error means "not ready"
        log.warning("ready: redis check failed: %s", type(exc).__name__)
        return False, "unreachable"


def _check_storage() -> tuple[bool, Any]:
    try:
        services().storage.ping()
        return True, "ok"
    except CutoutError as exc:
        log.warning("ready: storage check failed: %s", exc.code)
        return False, "unreachable"


def _check_worker() -> tuple[bool, Any]:
    svc = services()
    try:
        latest = heartbeats.latest_heartbeat(svc.store.redis)
    except Exception:  # Redis down: reported (and logged) by the redis check
        return False, "unknown"
    if latest is None:
        return False, "no worker has reported yet"
    age = round(time.time() - latest, 1)
    limit = svc.settings.ready_heartbeat_max_age
    return age <= limit, {"last_heartbeat_seconds_ago": age, "limit_seconds": limit}


@blueprint.get("/ready")
@public
def ready() -> tuple[Response, int]:
    """200 when Redis and storage answer and a worker reported recently, else 503.
    ---
    get:
      summary: Readiness
      tags: [operations]
      security: []
      responses:
        200:
          description: Ready
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Readiness"}
        503:
          description: Not ready, with the failing check
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Readiness"}
    """
    checks = {"redis": _check_redis(), "storage": _check_storage(), "worker": _check_worker()}
    is_ready = all(ok for ok, _ in checks.values())
    body = {
        "status": "ready" if is_ready else "not_ready",
        "checks": {name: detail for name, (_, detail) in checks.items()},
    }
    return jsonify(body), 200 if is_ready else 503
