"""Schemathesis against the live stack: no 5xx anywhere, every response matches its schema.

The document is read from the running API's /openapi.json; each operation gets generated
requests (valid and invalid) through gunicorn, the job store and the queue.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import require_real_model
from tests.integration.stack import Stack, start_stack

pytestmark = pytest.mark.integration
EXAMPLES = 10  # per operation, plus the coverage cases schemathesis adds itself


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("openapi"), require_real_model().parent)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def live_schema(stack: Stack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(stack.url("/openapi.json"))


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_responses_match_the_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
