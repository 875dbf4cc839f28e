"""The batch routes' answers match the schemas the OpenAPI document gives them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from api.openapi import build_spec
from tests.api.batchfakes import PriorityQueue, Worker
from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo

GOOD = encoded(subject_photo())
BAD = b"this is not an image at all"
HOOK = "https://93.184.215.14/hooks/cutout?token=s3cret"  # public address: no DNS needed


@pytest.fixture
def worker(api: Api) -> Worker:
    queue = PriorityQueue()
    api.queue = queue
    api.app.extensions["cutout"].queue = queue
    return Worker(api, queue, lambda url: GOOD)


def _matches(document: dict[str, Any], route: str, method: str, response: TestResponse) -> Any:
    """The response's JSON, after checking it against the documented schema for its status."""
    responses = document["paths"][route][method]["responses"]
    documented = responses.get(str(response.status_code)) or responses["default"]
    if "$ref" in documented:  # a shared answer: #/components/responses/<name>
        documented = document["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    schema = documented["content"][response.mimetype]["schema"]
    body = response.get_json()
    validator = Draft202012Validator({**schema, "components": document["components"]})
    errors = [error.message for error in validator.iter_errors(body)]
    assert errors == [], (route, method, response.status_code, body)
    return body


def test_every_batch_answer_matches_its_schema(api: Api, worker: Worker) -> None:
    document = build_spec(api.app)
    root = "/v1/batches"
    one = "/v1/batches/{batch_id}"
    form = {
        "images": [(io.BytesIO(GOOD), "a.jpg"), (io.BytesIO(BAD), "broken.jpg")],
        "urls": "http://shop.test/c.jpg",
        "stay_open": "true",
        "webhook_url": HOOK,
        "mode": "mask",
    }
    created = api.client.post(root, data=form, content_type="multipart/form-data")
    assert created.status_code == 202
    batch = _matches(document, root, "post", created)
    assert batch["webhook"]["url"].endswith("token=***") and len(batch["sources"]) == 1
    url = f"{root}/{batch['id']}"
    added = api.client.post(f"{url}/items", json={"urls": [{"url": "http://x.test/d.png"}]})
    assert _matches(document, f"{one}/items", "post", added)["items"] == 2
    worker.run_all()
    closed = _matches(document, f"{one}/close", "post", api.client.post(f"{url}/close"))
    assert closed["status"] == "completed" and closed["progress"] == 1.0
    assert _matches(document, one, "get", api.client.get(url))["images_per_second"] > 0
    api.store.delete(batch["added"][0]["job_id"])  # its record expired: listed as such
    page = _matches(document, f"{one}/jobs", "get", api.client.get(f"{url}/jobs?limit=2"))
    assert page["jobs"][0]["status"] == "expired" and "job" not in page["jobs"][0]
    assert page["jobs"][1]["job"]["status"] == "failed" and page["next_cursor"] == 2
    bad_limit = api.client.get(f"{url}/jobs?limit=many")
    assert _matches(document, f"{one}/jobs", "get", bad_limit)["error"]["code"] == "invalid_option"
    canceled = _matches(document, one, "delete", api.client.delete(url))
    assert canceled["canceled"] == 0 and canceled["status"] == "completed"
    late = api.client.post(f"{url}/items", json={"urls": ["http://x.test/e.png"]})
    assert late.status_code == 409
    assert _matches(document, f"{one}/items", "post", late)["error"]["code"] == "batch_closed"
    for path in ("", "/jobs", "/report.csv", "/results.zip"):
        unknown = api.client.get(f"{root}/b_unknown{path}")
        assert unknown.status_code == 404
        _matches(document, one + path, "get", unknown)


def test_batch_forms_take_every_job_option(api: Api) -> None:
    from shared.options import ProcessOptions

    schemas = build_spec(api.app)["components"]["schemas"]
    for name in ("BatchForm", "BatchJson"):
        assert set(ProcessOptions.model_fields) <= set(schemas[name]["properties"])
    assert schemas["BatchForm"]["properties"]["images"]["type"] == "array"


def test_links_from_a_created_batch_name_real_operations(api: Api) -> None:
    document = build_spec(api.app)
    operation_ids = {
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
    }
    links = document["paths"]["/v1/batches"]["post"]["responses"]["202"]["links"]
    assert {link["operationId"] for link in links.values()} <= operation_ids
    assert len(links) == 7
