"""JSON Schemas of the API's bodies, for the OpenAPI document (api/openapi.py).

The job options come from `ProcessOptions` (pydantic), so a new option is documented by
adding it there; the job's representation mirrors api/representation.py. The batch
routes' schemas are in api/openapi_batch_schemas.py.
"""

from __future__ import annotations

from typing import Any

from api.openapi_batch_schemas import schemas as batch_schemas
from shared.jobs import Status
from shared.options import ProcessOptions

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_OBJECT = {"type": ["object", "null"]}
BINARY = {"type": "string", "format": "binary"}


def _options() -> dict[str, Any]:
    """ProcessOptions' fields as form fields (colours are sent as text)."""
    fields = dict(ProcessOptions.model_json_schema()["properties"])
    fields["bg_color"] = {
        "type": "string",
        "description": "background colour for mode=color: #rrggbb(aa), a name or r,g,b[,a]",
    }
    return fields


ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
REMOVEBG_ERRORS = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                    "code": NULLABLE_STRING,
                },
            },
        }
    },
}
JOB = {
    "type": "object",
    "required": ["id", "status", "links"],
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": [status.value for status in Status]},
        "created_at": NULLABLE_STRING,
        "updated_at": NULLABLE_STRING,
        "started_at": NULLABLE_STRING,
        "finished_at": NULLABLE_STRING,
        "attempts": {"type": "integer"},
        "options": {"type": "object"},
        "input": {"type": "object"},
        "method": NULLABLE_STRING,
        "outputs": {"type": "object"},
        "metrics": {
            **NULLABLE_OBJECT,
            "description": "proxy metrics (needs_review, review_reasons, ...) and, for "
            "/evaluate, scores against the ground truth",
        },
        "timings_ms": {**NULLABLE_OBJECT, "additionalProperties": {"type": "number"}},
        "worker": NULLABLE_OBJECT,
        "warnings": {"type": "array", "items": {"type": "string"}},
        "error": {**NULLABLE_OBJECT, "properties": ERROR["properties"]["error"]["properties"]},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
JOB_FORM = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {**BINARY, "description": "the picture (JPEG, PNG, WebP, HEIC, ...)"},
        "background": {**BINARY, "description": "background picture for mode=image"},
        **_options(),
    },
}
EVALUATE_FORM = {
    "type": "object",
    "required": ["image", "mask"],
    "properties": {
        "image": BINARY,
        "mask": {**BINARY, "description": "the ground-truth mask, same size as the image"},
    },
}
EVALUATION = {
    "type": "object",
    "properties": {
        "job_id": {"type": "string"},
        "method": NULLABLE_STRING,
        "metrics": NULLABLE_OBJECT,
        "proxy": NULLABLE_OBJECT,
        "timings_ms": NULLABLE_OBJECT,
    },
}
REMOVEBG_FORM = {
    "type": "object",
    "description": "remove.bg's parameters; send exactly one of image_file, image_file_b64, "
    "image_url",
    "properties": {
        "image_file": BINARY,
        "image_file_b64": {"type": "string"},
        "image_url": {"type": "string"},
        "size": {
            "type": "string",
            "enum": ["preview", "small", "regular", "medium", "hd", "full", "4k", "50MP", "auto"],
        },
        "type": {"type": "string"},
        "type_level": {"type": "string"},
        "format": {"type": "string", "enum": ["auto", "png", "jpg", "webp", "zip"]},
        "roi": {"type": "string"},
        "crop": {"type": "boolean"},
        "crop_margin": {"type": "string"},
        "scale": {"type": "string"},
        "position": {"type": "string"},
        "channels": {"type": "string", "enum": ["rgba", "alpha"]},
        "add_shadow": {"type": "boolean"},
        "semitransparency": {"type": "boolean"},
        "bg_color": {"type": "string"},
        "bg_image_url": {"type": "string"},
        "bg_image_file": BINARY,
    },
}
REMOVEBG_JSON = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "object",
            "required": ["result_b64"],
            "properties": {
                "result_b64": {"type": "string"},
                "foreground_top": {"type": "integer"},
                "foreground_left": {"type": "integer"},
                "foreground_width": {"type": "integer"},
                "foreground_height": {"type": "integer"},
            },
        }
    },
}
ACCOUNT = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "object", "properties": {"attributes": {"type": "object"}}}},
}
READINESS = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "not_ready"]},
        "checks": {"type": "object"},
    },
}
PAGE_CONFIG = {
    "type": "object",
    "required": ["auth", "fields"],
    "properties": {
        "auth": {"type": "string", "enum": ["off", "required"]},
        "fields": {"type": "array", "items": {"type": "object"}},
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": ERROR,
    "RemoveBgErrors": REMOVEBG_ERRORS,
    "Job": JOB,
    "JobForm": JOB_FORM,
    "EvaluateForm": EVALUATE_FORM,
    "Evaluation": EVALUATION,
    "RemoveBgForm": REMOVEBG_FORM,
    "RemoveBgJson": REMOVEBG_JSON,
    "Account": ACCOUNT,
    "Readiness": READINESS,
    "PageConfig": PAGE_CONFIG,
    **batch_schemas(_options()),
}


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


# The `default` answer of the operations, each referred to in one line of their docstrings.
RESPONSES: dict[str, dict[str, Any]] = {
    "Error": _json_response("An error", "Error"),
    "RemoveBgError": _json_response("An error, remove.bg style", "RemoveBgErrors"),
}
