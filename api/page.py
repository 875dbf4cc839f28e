"""The web page at `/`: static HTML, CSS and a script, plus the form it shows.

The form is built in the browser from `/page/config.json`, which lists the fields below with
their type, choices and limits read from `ProcessOptions`: adding a job option to the page is
one `PageField` line, and a field whose option does not exist (yet) is simply not shown.
No templates and no inline code, so the page works under `Content-Security-Policy:
default-src 'self'`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, send_from_directory

from api.auth import public
from api.services import services
from shared.options import ProcessOptions

STATIC = Path(__file__).parent / "static"

blueprint = Blueprint("page", __name__)


@dataclass(frozen=True)
class PageField:
    """One form control: the option's name, its label, and when it applies."""

    name: str
    label: str
    group: str = "Output"
    widget: str | None = None  # None: from the option's type (select, checkbox, number, text)
    show_when: dict[str, list[str]] = field(default_factory=dict)
    hint: str | None = None


FIELDS = [
    PageField("mode", "Result", hint="cutout keeps the subject on a transparent background"),
    PageField("bg_color", "Background colour", widget="color", show_when={"mode": ["color"]}),
    PageField("format", "Format"),
    PageField("preset", "Quality preset", hint="fast, balanced or best"),
    PageField("crop", "Crop to the subject"),
    PageField("crop_margin", "Crop margin (fraction)", show_when={"crop": ["true"]}),
    PageField("max_size", "Longest side (px)"),
    PageField("canvas", "Canvas size", "Framing", hint="e.g. 2000x2000"),
    PageField("padding", "Padding", "Framing", widget="text", hint="a side, e.g. 10% or 0.1"),
    PageField("scale", "Subject scale", "Framing", widget="text", hint="of the canvas, e.g. 80%"),
    PageField("horizontal_alignment", "Horizontal alignment", "Framing"),
    PageField("vertical_alignment", "Vertical alignment", "Framing"),
    PageField("shadow", "Shadow", "Framing"),
    PageField("cleanup", "Clean up specks and holes", "Advanced"),
    PageField("refine_edges", "Refine edges", "Advanced"),
    PageField("clean_colors", "Clean edge colours", "Advanced"),
]


WIDGETS = {"boolean": "checkbox", "integer": "number", "number": "number"}


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional field's schema, with the outer facts kept."""
    branches = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return {**schema, **branches[0]} if branches else schema


def _control(page_field: PageField, schema: dict[str, Any]) -> dict[str, Any]:
    plain = _plain(schema)
    choices = plain.get("enum") or ([plain["const"]] if "const" in plain else None)
    kind = plain.get("type")
    widget = page_field.widget or ("select" if choices else WIDGETS.get(kind, "text"))
    return {
        "name": page_field.name,
        "label": page_field.label,
        "group": page_field.group,
        "widget": widget,
        "choices": choices,
        "optional": "anyOf" in schema,
        "default": schema.get("default"),
        "min": plain.get("minimum"),
        "max": plain.get("maximum"),
        "step": 1 if kind == "integer" else (0.01 if kind == "number" else None),
        "hint": page_field.hint or schema.get("description"),
        "show_when": page_field.show_when,
    }


def form_fields() -> list[dict[str, Any]]:
    """The page's controls, for the options ProcessOptions has."""
    properties = ProcessOptions.model_json_schema()["properties"]
    return [_control(f, properties[f.name]) for f in FIELDS if f.name in properties]


@blueprint.get("/")
@public
def index() -> Response:
    """The web page: drop images, watch the jobs, compare and download.
    ---
    get:
      summary: The web page
      tags: [page]
      security: []
      responses:
        200:
          description: HTML
          content:
            text/html: {schema: {type: string}}
    """
    return send_from_directory(STATIC, "index.html", max_age=0)


@blueprint.get("/page/config.json")
@public
def config() -> Response:
    """What the page needs to know: whether a key is required, and the form's fields.
    ---
    get:
      summary: The web page's form
      tags: [page]
      security: []
      responses:
        200:
          description: Auth mode and form fields
          content:
            application/json:
              schema: {$ref: "#/components/schemas/PageConfig"}
    """
    return jsonify({"auth": services().settings.auth, "fields": form_fields()})


@blueprint.get("/static/<path:filename>")
@public
def static_file(filename: str) -> Response:
    """The page's own CSS, script and icons (no CDN: the page works offline).
    ---
    get:
      summary: A file of the web page
      tags: [page]
      security: []
      responses:
        200:
          description: The file
          content:
            application/octet-stream: {schema: {type: string}}
        default: {$ref: "#/components/responses/Error"}
    """
    return send_from_directory(STATIC, filename, max_age=300)
