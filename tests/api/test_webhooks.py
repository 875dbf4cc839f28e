"""webhook_url on POST /v1/jobs: checked by the guard, kept, shown redacted with deliveries."""

from __future__ import annotations

import pytest

from shared import webhooks
from shared.errors import UnresolvableHost
from shared.webhook_events import job_message_id
from shared.webhook_queue import Outcome, claim_due, complete
from tests.api.conftest import Api
from tests.api.test_jobs import _form, _post
from worker.jobrunner import run_job

HOOK = "https://93.184.215.14/hooks/cutout?token=s3cret"


def test_a_job_keeps_its_webhook_url_and_shows_it_redacted(api: Api) -> None:
    response = _post(api, _form(webhook_url=HOOK))
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["webhook"] == {
        "url": "https://93.184.215.14/hooks/cutout?token=***",
        "state": "waiting",
        "deliveries": [],
    }
    assert "s3cret" not in response.get_data(as_text=True)
    assert api.store.get(job["id"]).webhook_url == HOOK


def test_deliveries_show_under_webhook_once_the_job_ended(api: Api) -> None:
    job_id = _post(api, _form(webhook_url=HOOK)).get_json()["id"]
    run_job(job_id, store=api.store, storage=api.storage, settings=api.settings, worker_name="t")
    claimed = claim_due(api.store.redis, lease_seconds=30)
    assert claimed is not None and claimed.message_id == job_message_id(job_id)
    attempt = {"at": "2026-01-01T00:00:00.000+00:00", "status_code": 500, "error": None}
    complete(api.store.redis, claimed, Outcome(attempt, "pending", next_attempt_at=1e10))
    view = api.client.get(f"/v1/jobs/{job_id}").get_json()["webhook"]
    assert view["type"] == "job.succeeded" and view["state"] == "pending"
    assert view["deliveries"] == [attempt] and view["next_attempt_at"].startswith("2286")


def test_jobs_without_a_webhook_have_no_webhook_field(api: Api) -> None:
    assert "webhook" not in _post(api, _form()).get_json()


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:9000/in", "destination_refused"),
        ("http://[::ffff:10.0.0.1]/in", "destination_refused"),
        ("http://169.254.169.254/latest/meta-data", "destination_refused"),
        ("ftp://93.184.215.14/in", "invalid_url"),
        ("not a url", "invalid_url"),
        ("http://inside.example/in", "destination_refused"),
        ("http://nowhere.example/in", "unresolvable_host"),
    ],
)
def test_bad_destinations_are_refused_before_anything_is_stored(
    api: Api, url: str, code: str
) -> None:
    resolver = {"inside.example": ["10.1.2.3"]}

    def resolve(host: str, port: int) -> list[str]:
        if host not in resolver:
            raise UnresolvableHost(f"cannot resolve {host!r}")
        return resolver[host]

    api.app.extensions["cutout"].resolver = resolve
    response = _post(api, _form(webhook_url=url))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert api.queue.sent == [] and api.store.redis.dbsize() == 0


def test_private_destinations_pass_when_allowed(api: Api) -> None:
    api.app.extensions["cutout"].settings = api.settings.model_copy(
        update={"webhook_allow_private": True}
    )
    response = _post(api, _form(webhook_url="http://127.0.0.1:9000/in"))
    assert response.status_code == 202


def test_the_webhook_url_is_part_of_the_idempotent_request(api: Api) -> None:
    first = _post(api, _form(webhook_url=HOOK), **{"Idempotency-Key": "k"})
    again = _post(api, _form(webhook_url=HOOK), **{"Idempotency-Key": "k"})
    other = _post(api, _form(webhook_url=HOOK + "x"), **{"Idempotency-Key": "k"})
    assert again.get_json()["id"] == first.get_json()["id"]
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_mismatch"


def test_the_delivery_record_belongs_to_the_jobs_tenant(api: Api) -> None:
    job_id = _post(api, _form(webhook_url=HOOK)).get_json()["id"]
    run_job(job_id, store=api.store, storage=api.storage, settings=api.settings, worker_name="t")
    record = webhooks.load(api.store.redis, job_message_id(job_id))
    assert record is not None and record["tenant"] == api.store.get(job_id).tenant
