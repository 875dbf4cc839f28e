"""JSON Schemas of the batch routes' bodies (api/batches.py), for the OpenAPI document.

The batch mirrors shared/batchview.py `describe` (plus `webhook`, added by api/batches.py
`_view`); an item mirrors api/batchintake.py `item_summary`; the options are the job's.
"""

from __future__ import annotations

from typing import Any

from shared.batches import JOB_STATUSES, BatchStatus
from shared.jobs import Status

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_NUMBER = {"type": ["number", "null"]}
BINARY = {"type": "string", "format": "binary"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
JOB_REF = {"$ref": "#/components/schemas/Job"}


def batch_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The batch's own fields, then every job option (applied to each item)."""
    return {
        "name": {"type": "string", "description": "a label for the batch (200 characters)"},
        "webhook_url": {
            "type": "string",
            "description": "where `batch.completed` (and `batch.progress`) are sent",
        },
        "progress_every": {
            "type": "number",
            "description": "also send `batch.progress` at most every N seconds",
        },
        "stay_open": {
            "type": "boolean",
            "description": "keep the batch open for POST .../items (a batch created "
            "without items stays open anyway)",
        },
        **options,
    }


def batch_form(options: dict[str, Any]) -> dict[str, Any]:
    """multipart/form-data: files in `images`/`archive`/`urls`, the rest as text fields."""
    return {
        "type": "object",
        "properties": {
            "images": {
                "type": "array",
                "items": BINARY,
                "description": "image files, the field repeated (a zip here is an archive)",
            },
            "archive": {**BINARY, "description": "a zip of images"},
            "urls": {
                **BINARY,
                "description": "a URL list: CSV (`url` column, optional `name` column, or "
                "URLs alone in the first column) or JSON (a list of URLs or of "
                "{url, name}); as a file or a text field",
            },
            **batch_fields(options),
        },
    }


URL_ITEM = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "required": ["url"],
            "properties": {"url": {"type": "string"}, "name": {"type": "string"}},
        },
    ]
}


def batch_json(options: dict[str, Any]) -> dict[str, Any]:
    """application/json: a URL list and the same fields as the form."""
    return {
        "type": "object",
        "properties": {
            "urls": {"type": "array", "items": URL_ITEM, "description": "images to fetch"},
            **batch_fields(options),
        },
    }


ITEM_STATUS = {"type": "string", "enum": [*(s.value for s in Status), "expired"]}
JOB_ERROR = {
    "type": ["object", "null"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
BATCH_ITEM = {
    "type": "object",
    "required": ["job_id", "status"],
    "properties": {
        "name": {**NULLABLE_STRING, "description": "file name, path in the zip or URL's name"},
        "job_id": {"type": "string"},
        "status": ITEM_STATUS,
        "error": JOB_ERROR,
        "deduplicated_from": {
            **NULLABLE_STRING,
            "description": "the earlier identical item whose result was copied",
        },
    },
}
WEBHOOK_VIEW = {
    "type": ["object", "null"],
    "required": ["url", "state", "deliveries"],
    "properties": {
        "url": {"type": "string"},
        "state": {"type": "string"},
        "id": {"type": "string"},
        "type": {"type": "string"},
        "reason": NULLABLE_STRING,
        "next_attempt_at": NULLABLE_STRING,
        "deliveries": {"type": "array", "items": {"type": "object"}},
    },
}
COUNT_NAMES = ("pending", "queued", "processing", *JOB_STATUSES)
COUNTS = {
    "type": "object",
    "description": "items by state; pending = queued + processing",
    "required": list(COUNT_NAMES),
    "properties": {name: {"type": "integer", "minimum": 0} for name in COUNT_NAMES},
}
BATCH = {
    "type": "object",
    "required": ["id", "object", "status", "items", "counts", "links"],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "batch"},
        "status": {"type": "string", "enum": [status.value for status in BatchStatus]},
        "name": NULLABLE_STRING,
        "created_at": NULLABLE_STRING,
        "closed_at": NULLABLE_STRING,
        "completed_at": NULLABLE_STRING,
        "items": {"type": "integer", "minimum": 0},
        "counts": COUNTS,
        "expanding": {"type": "integer", "description": "zips and URL lists not fully read"},
        "progress": {**NULLABLE_NUMBER, "description": "share of the items ended (0 to 1)"},
        "images_per_second": NULLABLE_NUMBER,
        "eta_seconds": NULLABLE_NUMBER,
        "needs_review": {"type": "integer", "minimum": 0},
        "options": {"type": "object", "description": "the job options of every item"},
        "webhook_url": {**NULLABLE_STRING, "description": "redacted"},
        "webhook": WEBHOOK_VIEW,
        "links": {
            "type": "object",
            "required": ["self", "jobs", "report", "results"],
            "additionalProperties": {"type": "string"},
        },
    },
}
SOURCE = {
    "type": "object",
    "required": ["number", "kind", "name"],
    "properties": {
        "number": {"type": "integer"},
        "kind": {"type": "string", "enum": ["zip", "csv", "json"]},
        "name": {"type": "string"},
    },
}
BATCH_ITEMS_ADDED = {
    "allOf": [
        {"$ref": "#/components/schemas/Batch"},
        {
            "type": "object",
            "required": ["added", "sources"],
            "properties": {
                "added": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/BatchItem"},
                    "description": "the items made from `images`",
                },
                "sources": {
                    "type": "array",
                    "items": SOURCE,
                    "description": "zips and URL lists waiting to be expanded by a worker",
                },
            },
        },
    ]
}
BATCH_CANCELED = {
    "allOf": [
        {"$ref": "#/components/schemas/Batch"},
        {
            "type": "object",
            "required": ["canceled"],
            "properties": {"canceled": {"type": "integer", "minimum": 0}},
        },
    ]
}
BATCH_JOBS_PAGE = {
    "type": "object",
    "required": ["jobs", "next_cursor"],
    "properties": {
        "jobs": {
            "type": "array",
            "items": {
                "allOf": [
                    {"$ref": "#/components/schemas/BatchItem"},
                    {"type": "object", "properties": {"job": JOB_REF}},
                ],
                "description": "`job` is absent for an item whose record expired",
            },
        },
        "next_cursor": {
            "type": ["integer", "null"],
            "description": "pass as `cursor` for the next page; null on the last one",
        },
    },
}


def schemas(options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The batch schemas by name; `options` are the job options' form fields."""
    return {
        "BatchForm": batch_form(options),
        "BatchJson": batch_json(options),
        "Batch": BATCH,
        "BatchItem": BATCH_ITEM,
        "BatchItemsAdded": BATCH_ITEMS_ADDED,
        "BatchCanceled": BATCH_CANCELED,
        "BatchJobsPage": BATCH_JOBS_PAGE,
    }
