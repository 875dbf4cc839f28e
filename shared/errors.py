"""The project's error hierarchy: every rejection has a stable code, an HTTP status and a message.

The API maps these in one place; the job record and the command line print `{code, message}`.
"""

from __future__ import annotations


class CutoutError(Exception):
    """Base of every error a user can see; subclasses fix `code` and `http_status`."""

    code = "internal_error"
    http_status = 500

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


class InvalidImage(CutoutError):
    code = "invalid_image"
    http_status = 422


class NotFound(CutoutError):
    code = "not_found"
    http_status = 404


class ModelUnavailable(CutoutError):
    """The model file is missing, corrupt or cannot be loaded by the inference engine."""

    code = "model_unavailable"
    http_status = 503


class InferenceFailed(CutoutError):
    code = "inference_failed"
    http_status = 500
