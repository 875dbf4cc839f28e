"""`/metrics` for Prometheus, and one JSON log line plus a count for every API request."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, g, request

from api.auth import current_tenant, public
from api.services import services
from shared import telemetry
from shared.tasks import PROCESS_QUEUE, celery_config

blueprint = Blueprint("metrics", __name__)
log = logging.getLogger("cutout.api")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _queues() -> list[str]:
    """Every queue the API sends to: the job queue and any other routed task's."""
    routes = celery_config(services().settings).get("task_routes", {})
    return [PROCESS_QUEUE, *(route["queue"] for route in routes.values() if "queue" in route)]


@blueprint.get("/metrics")
@public
def metrics() -> Response:
    """Prometheus metrics of the API and workers (see docs/operations.md).
    ---
    get:
      summary: Prometheus metrics
      tags: [operations]
      security: []
      responses:
        200:
          description: Prometheus text format
          content:
            text/plain: {schema: {type: string}}
    """
    depth = telemetry.QueueDepth(services().store.redis, _queues())
    return Response(telemetry.exposition([depth]), content_type=CONTENT_TYPE)


def _started() -> None:
    g.request_started = time.perf_counter()


def _observed(response: Response) -> Response:
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    telemetry.http_request(request.method, route, response.status_code, seconds)
    job_id = response.headers.get("X-Job-Id") or (request.view_args or {}).get("job_id")
    log.info(
        "%s %s %s",
        request.method,
        route,
        response.status_code,
        extra={
            "event": "request",
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "tenant": current_tenant(),
            "job_id": job_id or _job_id_from(response),
        },
    )
    return response


def _job_id_from(response: Response) -> str | None:
    if response.is_json and response.status_code in (200, 202):
        body = response.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            return body["id"]
    return None


def install(app: Flask) -> None:
    """Register /metrics and the per-request count and log line."""
    app.register_blueprint(blueprint)
    # First of the before-request functions, so requests refused by auth are timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, _started)
    app.after_request(_observed)
