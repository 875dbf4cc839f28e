"""Schemathesis against the live stack: no 5xx anywhere, every response matches its schema.

The document is read from the running API's /openapi.json; each operation gets generated
requests (valid and invalid) through gunicorn, the job store and the queue. The stateful
test follows the document's links (a created batch to each of its routes), so those routes
answer for real batches rather than only 404 for generated ids.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import encoded, require_real_model, subject_photo
from tests.integration.stack import Stack, start_stack

pytestmark = pytest.mark.integration
# Per operation, plus the coverage cases schemathesis adds itself. Generation is
# derandomized (the same requests every run); a longer search: CUTOUT_SCHEMA_EXAMPLES=120.
EXAMPLES = int(os.environ.get("CUTOUT_SCHEMA_EXAMPLES", "10"))
CHECKS = [not_a_server_error, response_schema_conformance]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # No rate limits: a 429 after the 120th POST would change what the linked scenarios
    # can do from one run to the next (Hypothesis needs the same answers when it replays).
    folder, models = tmp_path_factory.mktemp("openapi"), require_real_model().parent
    running = start_stack(folder, models, CUTOUT_RATE_LIMIT="", CUTOUT_RATE_LIMIT_SUBMIT="")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def live_schema(stack: Stack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(stack.url("/openapi.json"))


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
@SETTINGS
def test_no_server_errors_and_responses_match_the_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


def test_linked_calls_on_real_batches_match_the_schema(live_schema: Any) -> None:
    """Scenarios that create a batch, then call its routes with its id (the 202's links)."""
    answered: set[str] = set()  # "METHOD /path/template" of every 2xx answer
    batches = live_schema.include(path_regex="^/v1/batches")

    class Scenario(batches.as_state_machine()):  # type: ignore[misc]
        def validate_response(self, response: Any, case: Any, *_: Any, **kwargs: Any) -> None:
            if response.status_code < 300:
                answered.add(f"{case.method} {case.path}")
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Scenario.run(settings=settings(SETTINGS, max_examples=10 * EXAMPLES, stateful_step_count=8))
    paths = live_schema.raw_schema["paths"]
    routes = {
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        if path.startswith("/v1/batches")
        for method in operations
    }
    assert len(routes) == 8 and answered <= routes
    # Which routes the generated scenarios reach with a 2xx depends on what the server
    # answered along the way; the rest are called once with valid input on a real batch.
    for route in sorted(routes - answered, key=ROUTE_ORDER.index):
        answered.add(_call_on_open_batch(live_schema, route))
    assert answered == routes  # each one answered for a real batch


# An order in which every batch route answers 2xx on one batch.
ROUTE_ORDER = [
    "POST /v1/batches",
    "POST /v1/batches/{batch_id}/items",
    "GET /v1/batches/{batch_id}",
    "GET /v1/batches/{batch_id}/jobs",
    "GET /v1/batches/{batch_id}/report.csv",
    "POST /v1/batches/{batch_id}/close",
    "GET /v1/batches/{batch_id}/results.zip",
    "DELETE /v1/batches/{batch_id}",
]
_open_batch: dict[str, str] = {}


def _call_on_open_batch(live_schema: Any, route: str) -> str:
    """Call `route` with valid input on a batch created open, and check the answer against
    the document."""
    method, template = route.split(" ", 1)
    base = live_schema.get_base_url().rstrip("/")
    if "id" not in _open_batch:
        created = requests.post(f"{base}/v1/batches", data={"name": "linked"}, timeout=60)
        _open_batch["id"] = created.json()["id"]
        live_schema["/v1/batches"]["POST"].validate_response(created)
        assert created.status_code < 300, created.text
    url = base + template.replace("{batch_id}", _open_batch["id"])
    files = {"images": ("photo.jpg", encoded(subject_photo()), "image/jpeg")}
    response = requests.request(
        method, url, files=files if route.endswith("/items") else None, timeout=60
    )
    live_schema[template][method].validate_response(response)
    assert response.status_code < 300, (route, response.status_code, response.text)
    return route
