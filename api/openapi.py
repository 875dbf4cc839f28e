"""The OpenAPI 3.1 document, built from the app's routes and their views' docstrings.

Each view documents itself in YAML after a `---` line of its docstring (apispec's
convention: one key per HTTP method). Every rule of the URL map is walked, so a route added
later appears once its view has that docstring; tests/api/test_openapi.py fails for a route
without one. Schemas of the job options come from `ProcessOptions` itself.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import flask_swagger_ui
from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify, send_from_directory

from api.auth import public
from api.openapi_schemas import RESPONSES, SCHEMAS
from api.page import STATIC

blueprint = Blueprint("openapi", __name__)
SWAGGER_UI = flask_swagger_ui.__path__[0] + "/dist"  # Swagger UI's files, shipped in the wheel
METHODS = ("get", "post", "put", "patch", "delete")
TAGS = {
    "jobs": "Submit an image as a job, poll it, download its files.",
    "batches": "A catalog in (images, zips, URL lists), its progress, report and results.",
    "synchronous": "Wait for the result in the same request (rembg-style routes).",
    "remove.bg": "Drop-in routes for remove.bg clients (docs/api.md).",
    "page": "The web page at /.",
    "operations": "Health, readiness and Prometheus metrics.",
    "documentation": "This document and its page.",
}
DESCRIPTION = (
    "Background removal as a job service. Submit an image, poll the job, download the "
    "result; or use the synchronous and remove.bg-compatible routes. Send an API key as "
    "`Authorization: Bearer <key>` (or `X-Api-Key`) when the server requires keys."
)


def _version() -> str:
    try:
        return version("cutout")
    except PackageNotFoundError:
        return "0"


def _operations(rule: Any, view: Any) -> dict[str, Any]:
    """The documented operations of one rule, with its path parameters filled in."""
    documented = load_operations_from_docstring(view.__doc__ or "")
    operations = {}
    for method in METHODS:
        if method.upper() in (rule.methods or ()) and method in documented:
            operation = dict(documented[method])
            operation.setdefault("operationId", f"{rule.endpoint}.{method}")
            operations[method] = operation
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in sorted(rule.arguments)
    ]
    for operation in operations.values():  # the path's, then the operation's own
        if parameters:
            operation["parameters"] = [*parameters, *operation.get("parameters", [])]
    return operations


def undocumented(app: Flask) -> list[str]:
    """Methods of rules that no view docstring documents (the tests list them)."""
    missing = []
    for rule in app.url_map.iter_rules():
        documented = _operations(rule, app.view_functions[rule.endpoint])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in documented:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    return missing


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of every documented route of `app`."""
    spec = APISpec(
        title="Cutout",
        version=_version(),
        openapi_version="3.1.0",
        info={"description": DESCRIPTION},
    )
    for tag, text in TAGS.items():
        spec.tag({"name": tag, "description": text})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    key_header = {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    spec.components.security_scheme("apiKey", key_header)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        operations = _operations(rule, app.view_functions[rule.endpoint])
        if operations:
            spec.path(path=FlaskPlugin.flaskpath2openapi(rule.rule), operations=operations)
    document = spec.to_dict()
    document["security"] = [{}, {"bearer": []}, {"apiKey": []}]
    return document


@blueprint.get("/openapi.json")
@public
def openapi_json() -> Response:
    """This document.
    ---
    get:
      summary: The OpenAPI document of this API
      tags: [documentation]
      security: []
      responses:
        200:
          description: OpenAPI 3.1
          content:
            application/json:
              schema: {type: object}
    """
    app: Flask = current_app  # type: ignore[assignment]
    if "openapi" not in app.extensions:  # built once per app: the routes do not change
        app.extensions["openapi"] = build_spec(app)
    return jsonify(app.extensions["openapi"])


@blueprint.get("/docs")
@public
def docs() -> Response:
    """The API's documentation page (Swagger UI, served from this server).
    ---
    get:
      summary: Interactive API documentation
      tags: [documentation]
      security: []
      responses:
        200:
          description: An HTML page
          content:
            text/html:
              schema: {type: string}
    """
    return send_from_directory(STATIC, "docs.html", max_age=0)


@blueprint.get("/docs/assets/<path:filename>")
@public
def docs_asset(filename: str) -> Response:
    """Swagger UI's script and styles.
    ---
    get:
      summary: A file of the documentation page
      tags: [documentation]
      security: []
      responses:
        200:
          description: The file
          content:
            application/octet-stream:
              schema: {type: string}
        404:
          description: No such file
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
    """
    return send_from_directory(SWAGGER_UI, filename, max_age=3600)
