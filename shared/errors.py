"""The project's error hierarchy: every rejection has a stable code, an HTTP status and a message.

The API maps these in one place; the job record and the command line print `{code, message}`.
"""

from __future__ import annotations


class CutoutError(Exception):
    """Base of every error a user can see; subclasses fix `code` and `http_status`."""

    code = "internal_error"
    http_status = 500
    # Seconds a client should wait before retrying (sent as Retry-After), when it may retry.
    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidOption(CutoutError):
    code = "invalid_option"
    http_status = 400


class UnsupportedImageType(CutoutError):
    code = "unsupported_media_type"
    http_status = 415


class ImageTooLarge(CutoutError):
    code = "image_too_large"
    http_status = 413


class FileTooLarge(CutoutError):
    code = "file_too_large"
    http_status = 413


class FormTooLarge(CutoutError):
    """A form with too many parts, or a text field longer than the API reads."""

    code = "form_too_large"
    http_status = 413


class MalformedRequest(CutoutError):
    """A request body the API cannot parse (a broken multipart form, non-UTF-8 part headers)."""

    code = "malformed_request"
    http_status = 400


class InvalidImage(CutoutError):
    code = "invalid_image"
    http_status = 422


class NotFound(CutoutError):
    code = "not_found"
    http_status = 404


class InputNotFound(NotFound):
    """A local input file (command line, Python API) that does not exist."""

    code = "input_not_found"


class OutputNotWritable(CutoutError):
    """A local output path (command line, Python API) whose folder is missing or read-only."""

    code = "output_not_writable"
    http_status = 500  # never raised by the service: its outputs go to storage


class ModelUnavailable(CutoutError):
    """The model file is missing, corrupt or cannot be loaded by the inference engine."""

    code = "model_unavailable"
    http_status = 503


class InferenceFailed(CutoutError):
    code = "inference_failed"
    http_status = 500


class OutOfMemory(CutoutError):
    """The worker ran out of memory on this image (not a model failure: no fallback)."""

    code = "out_of_memory"
    http_status = 503


class StorageUnavailable(CutoutError):
    """The storage backend cannot be reached or failed on its side; callers may retry."""

    code = "storage_unavailable"
    http_status = 503


class JobNotFinished(CutoutError):
    code = "job_not_finished"
    http_status = 409


class QueueUnavailable(CutoutError):
    code = "queue_unavailable"
    http_status = 503


class QueueFull(CutoutError):
    """More jobs wait in the queue than CUTOUT_MAX_QUEUE_DEPTH: come back later."""

    code = "queue_full"
    http_status = 503
    retry_after = 10


class RateLimited(CutoutError):
    """The tenant sent more requests than its rate limit allows (Retry-After says when)."""

    code = "rate_limited"
    http_status = 429


class StoreUnavailable(CutoutError):
    """Redis (the job store and broker) cannot be reached; callers may retry."""

    code = "store_unavailable"
    http_status = 503


class Unauthorized(CutoutError):
    """No API key was sent where one is required."""

    code = "unauthorized"
    http_status = 401


class InvalidApiKey(Unauthorized):
    """The key sent is unknown or revoked (its text is never echoed back)."""

    code = "invalid_api_key"


class IdempotencyMismatch(CutoutError):
    """An Idempotency-Key reused with a different request (route, options or files)."""

    code = "idempotency_mismatch"
    http_status = 422


class RequestInFlight(CutoutError):
    """An Idempotency-Key whose first request has not finished queueing its job yet."""

    code = "in_flight"
    http_status = 409


class InvalidUrl(CutoutError):
    """A URL that is not http(s), has no host or cannot be parsed."""

    code = "invalid_url"
    http_status = 400


class UnresolvableHost(CutoutError):
    """A URL whose host name does not resolve to any address."""

    code = "unresolvable_host"
    http_status = 400


class DestinationRefused(CutoutError):
    """A URL that resolves to a loopback, private, metadata or other non-public address."""

    code = "destination_refused"
    http_status = 400


class FetchFailed(CutoutError):
    """A remote server could not be reached or did not answer with the file."""

    code = "fetch_failed"
    http_status = 502


class FetchTimeout(FetchFailed):
    code = "fetch_timeout"
    http_status = 504


class TooManyRedirects(FetchFailed):
    code = "too_many_redirects"


# Codes that only ever appear on failed jobs (never raised in the API process).
# `stalled`: the reaper re-sent the job as often as allowed (worker/reaper.py).
JOB_FAILURE_STATUS = {"worker_lost": 500, "timeout": 504, "stalled": 503}


def http_status_for(code: str) -> int:
    """The HTTP status that goes with an error code (500 for codes not listed anywhere)."""
    for cls in _all_error_classes(CutoutError):
        if cls.code == code:
            return cls.http_status
    return JOB_FAILURE_STATUS.get(code, 500)


def _all_error_classes(base: type[CutoutError]) -> list[type[CutoutError]]:
    found = []
    for sub in base.__subclasses__():
        found += [sub, *_all_error_classes(sub)]
    return found
