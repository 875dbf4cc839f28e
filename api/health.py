"""Liveness (/health) and readiness (/ready: Redis, storage and a live worker)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify

from api.auth import public
from api.services import services
from shared.errors import CutoutError

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
@public
def health() -> Response:
    """The process is up (it says nothing about Redis or workers: see /ready)."""
    return jsonify({"status": "ok"})


def _check_redis() -> tuple[bool, Any]:
    try:
        services().store.redis.ping()
        return True, "ok"
    except Exception as exc:  # any Redis client error means "not ready"
        return False, f"unreachable: {exc}"


def _check_storage() -> tuple[bool, Any]:
    try:
        services().storage.ping()
        return True, "ok"
    except CutoutError as exc:
        return False, exc.message


def _check_worker() -> tuple[bool, Any]:
    svc = services()
    try:
        latest = svc.store.latest_heartbeat()
    except Exception as exc:  # Redis down: reported by the redis check too
        return False, f"unknown: {exc}"
    if latest is None:
        return False, "no worker has reported yet"
    age = round(time.time() - latest, 1)
    limit = svc.settings.ready_heartbeat_max_age
    return age <= limit, {"last_heartbeat_seconds_ago": age, "limit_seconds": limit}


@blueprint.get("/ready")
@public
def ready() -> tuple[Response, int]:
    """200 when Redis and storage answer and a worker reported recently, else 503."""
    checks = {"redis": _check_redis(), "storage": _check_storage(), "worker": _check_worker()}
    is_ready = all(ok for ok, _ in checks.values())
    body = {
        "status": "ready" if is_ready else "not_ready",
        "checks": {name: detail for name, (_, detail) in checks.items()},
    }
    return jsonify(body), 200 if is_ready else 503
