"""API keys and tenants: who may see which job, and idempotency keys per tenant."""

from __future__ import annotations

import io

import pytest

from shared.keys import KeyStore
from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo
from worker.jobrunner import run_job


def _form(data: bytes | None = None, **fields: str) -> dict:
    return {**fields, "image": (io.BytesIO(data or encoded(subject_photo())), "photo.jpg")}


def _post(api: Api, headers: dict[str, str], data: bytes | None = None, **fields: str):
    return api.client.post(
        "/v1/jobs", data=_form(data, **fields), content_type="multipart/form-data", headers=headers
    )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keys(api: Api) -> KeyStore:
    return api.app.extensions["cutout"].keys


@pytest.fixture
def required(api: Api) -> Api:
    api.settings.auth = "required"
    return api


def test_without_keys_required_requests_share_the_anonymous_tenant(api: Api) -> None:
    job_id = _post(api, {}).get_json()["id"]
    assert api.client.get(f"/v1/jobs/{job_id}").status_code == 200


def test_required_auth_refuses_a_request_without_a_key(required: Api) -> None:
    response = _post(required, {})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert required.queue.sent == [] and required.storage.files == {}


def test_health_and_readiness_answer_without_a_key(required: Api) -> None:
    assert required.client.get("/health").status_code == 200
    assert required.client.get("/ready").status_code in (200, 503)
    assert required.client.get("/health", headers=_bearer("ck_bad")).status_code == 200


def test_an_unknown_or_revoked_key_is_refused_even_when_keys_are_optional(
    api: Api, keys: KeyStore
) -> None:
    response = _post(api, _bearer("ck_0000_nope"))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_api_key"
    assert "ck_0000_nope" not in response.get_data(as_text=True)
    key, record = keys.create("acme")
    assert _post(api, _bearer(key)).status_code == 202
    keys.revoke(record.id)
    assert _post(api, _bearer(key)).status_code == 401


def test_x_api_key_is_accepted_like_bearer(required: Api, keys: KeyStore) -> None:
    key, _ = keys.create("acme")
    job_id = _post(required, {"X-Api-Key": key}).get_json()["id"]
    assert required.client.get(f"/v1/jobs/{job_id}", headers=_bearer(key)).status_code == 200


def test_another_tenants_job_is_not_found_like_an_unknown_one(
    required: Api, keys: KeyStore
) -> None:
    acme, _ = keys.create("acme")
    globex, _ = keys.create("globex")
    job_id = _post(required, _bearer(acme), mode="mask").get_json()["id"]
    run_job(
        job_id,
        store=required.store,
        storage=required.storage,
        settings=required.settings,
        worker_name="test",
    )
    unknown = required.client.get("/v1/jobs/no-such-job", headers=_bearer(globex))
    for path in ("", "/result", "/mask"):
        theirs = required.client.get(f"/v1/jobs/{job_id}{path}", headers=_bearer(globex))
        assert theirs.status_code == 404 and theirs.get_json()["error"]["code"] == "not_found"
        assert job_id in theirs.get_json()["error"]["message"]
        mine = required.client.get(f"/v1/jobs/{job_id}{path}", headers=_bearer(acme))
        assert mine.status_code == 200
    assert unknown.status_code == 404
    deleted = required.client.delete(f"/v1/jobs/{job_id}", headers=_bearer(globex))
    assert deleted.status_code == 404 and required.store.get(job_id) is not None


def test_an_idempotency_key_belongs_to_its_tenant(required: Api, keys: KeyStore) -> None:
    acme, _ = keys.create("acme")
    globex, _ = keys.create("globex")
    header = {"Idempotency-Key": "order-1234"}
    first = _post(required, {**_bearer(acme), **header}).get_json()["id"]
    second = _post(required, {**_bearer(globex), **header})
    assert second.status_code == 202 and second.get_json()["id"] != first
    assert "Idempotent-Replayed" not in second.headers
    replay = _post(required, {**_bearer(acme), **header})
    assert replay.get_json()["id"] == first and replay.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_request_is_a_mismatch(api: Api) -> None:
    header = {"Idempotency-Key": "order-1"}
    assert _post(api, header, mode="mask").status_code == 202
    other_options = _post(api, header, mode="cutout")
    other_image = _post(api, header, data=encoded(subject_photo(width=200)), mode="mask")
    for response in (other_options, other_image):
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "idempotency_mismatch"
    assert len(api.queue.sent) == 1
    assert len([k for k in api.storage.files if k.endswith("/original")]) == 1


def test_a_job_that_never_reached_the_queue_frees_its_key(api: Api) -> None:
    header = {"Idempotency-Key": "retry-me"}
    api.queue.down = True
    refused = _post(api, header)
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "queue_unavailable"
    api.queue.down = False
    retried = _post(api, header)
    assert retried.status_code == 202 and "Idempotent-Replayed" not in retried.headers
    assert api.queue.sent == [retried.get_json()["id"]]
