"""A shortened load test (bench/load.py): 200 submissions from 4 tenants against 2 workers.

Every accepted job ends, none runs twice, none is lost. With the rate limiter and the queue
cap configured low, refusals (429, 503) appear and the client's retries still get every
submission through.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import LoadConfig, run_load
from shared.settings import Settings

pytestmark = pytest.mark.integration


def _check_nothing_lost(result: dict, submissions: int) -> None:
    accepted = result["accepted_jobs"]
    assert accepted + result["never_accepted"] == submissions, result
    assert result["lost"] == 0 and result["ran_twice"] == 0, result
    assert result["jobs_by_status"] == {"succeeded": accepted}, result
    # One task execution per job: each result was written once.
    assert result["task_executions"] == accepted, result


def test_200_submissions_from_4_tenants_all_end_once(tmp_path: Path, tiny_model: Path) -> None:
    # No rate limit and no queue cap (where they exist): every submission is accepted.
    config = LoadConfig(
        submissions=200,
        tenants=4,
        clients=8,
        deadline=600,
        rate_limit_submit="",
        max_queue_depth=0,
        model=str(tiny_model),
    )
    result = run_load(config, tmp_path)
    _check_nothing_lost(result, 200)
    assert result["accepted_jobs"] == 200 and result["tenants_seen"] == 4
    assert result["answers_by_status"] == {"202": 200}


@pytest.mark.skipif(
    "rate_limit_submit" not in Settings.model_fields,
    reason="the rate limiter and the queue cap are not part of this build",
)
def test_pushed_past_the_limits_refusals_show_and_nothing_is_lost(
    tmp_path: Path, tiny_model: Path
) -> None:
    config = LoadConfig(
        submissions=80,
        tenants=2,
        clients=8,
        deadline=600,
        max_retry_wait=1.0,
        rate_limit_submit="4/second",
        max_queue_depth=3,
        model=str(tiny_model),
    )
    result = run_load(config, tmp_path)
    _check_nothing_lost(result, 80)
    assert result["rate_limited_429"] > 0, result
    assert result["never_accepted"] == 0, result
