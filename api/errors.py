"""One place that turns every error into `{"error": {"code", "message"}}` JSON."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared.errors import CutoutError, FormTooLarge, StoreUnavailable

log = logging.getLogger(__name__)


def error_response(code: str, message: str, status: int) -> tuple[Response, int]:
    """The JSON error body every route uses."""
    return jsonify({"error": {"code": code, "message": message}}), status


def register_error_handlers(app: Flask) -> None:
    """Map the project's errors, HTTP errors and crashes to JSON."""

    @app.errorhandler(CutoutError)
    def _cutout_error(exc: CutoutError) -> tuple[Response, int]:
        response, status = error_response(exc.code, exc.message, exc.http_status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="cutout"'
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    @app.errorhandler(redis.RedisError)
    def _store_down(exc: redis.RedisError) -> tuple[Response, int]:
        log.warning("job store unavailable: %s", type(exc).__name__)
        error = StoreUnavailable("the job store is unreachable; retry shortly")
        response, status = error_response(error.code, error.message, error.http_status)
        response.headers["Retry-After"] = "5"
        return response, status

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> tuple[Response, int]:
        limit = app.config["MAX_CONTENT_LENGTH"]
        if (request.content_length or 0) > limit:
            return error_response("file_too_large", f"requests are limited to {limit} bytes", 413)
        # Werkzeug's form parser: too many parts, or a text field over its size limit.
        error = FormTooLarge(
            f"forms are limited to {app.config['MAX_FORM_PARTS']} parts and text fields to "
            f"{app.config['MAX_FORM_MEMORY_SIZE']} bytes"
        )
        return error_response(error.code, error.message, error.http_status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "http_error").lower().replace(" ", "_")
        return error_response(code, exc.description or code, exc.code or 500)

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_response("internal_error", "an unexpected error occurred", 500)
