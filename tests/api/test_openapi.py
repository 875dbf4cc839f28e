"""The OpenAPI document: valid 3.1, every route documented, served with its docs page."""

from __future__ import annotations

from openapi_spec_validator import validate

from api.openapi import build_spec, undocumented
from tests.api.conftest import Api


def test_every_route_is_documented(api: Api) -> None:
    assert undocumented(api.app) == []


def test_the_document_is_valid_openapi_31(api: Api) -> None:
    api.app.extensions["cutout"].settings.auth = "required"
    response = api.client.get("/openapi.json")  # public, like the page
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    assert document == build_spec(api.app)


def test_job_form_fields_come_from_process_options(api: Api) -> None:
    from shared.options import ProcessOptions

    form = build_spec(api.app)["components"]["schemas"]["JobForm"]["properties"]
    assert set(ProcessOptions.model_fields) <= set(form) and "image" in form


def test_docs_page_and_its_assets_are_served_locally(api: Api) -> None:
    page = api.client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in page and "http" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.client.get(f"/docs/assets/{asset}").status_code == 200
    assert api.client.get("/static/docs.js").status_code == 200
