"""Idempotency claims on fakeredis: per tenant, bound to the request, atomic with the record."""

from __future__ import annotations

import threading

import fakeredis
import pytest

from shared import idempotency
from shared.errors import IdempotencyMismatch, InvalidOption, RequestInFlight
from shared.idempotency import Claim, fingerprint
from shared.jobs import Job, JobStore


@pytest.fixture
def store() -> JobStore:
    return JobStore(fakeredis.FakeRedis(), retention_seconds=3600)


def _claim(tenant: str = "acme", key: str = "order-1", image: bytes = b"a") -> Claim:
    return Claim(tenant, key, fingerprint("/v1/jobs", {"mode": "cutout"}, {"original": image}))


def _queued(store: JobStore, job_id: str, claim: Claim) -> Job:
    job, created = idempotency.create(store, Job(id=job_id, tenant=claim.tenant), claim)
    assert created
    idempotency.confirm(store, claim, job_id)
    return job


def test_the_same_request_gets_the_first_job_back(store: JobStore) -> None:
    _queued(store, "one", _claim())
    again, created = idempotency.create(store, Job(id="two"), _claim())
    assert not created and again.id == "one" and store.get("two") is None
    assert idempotency.replay(store, _claim()).id == "one"  # type: ignore[union-attr]


def test_keys_are_scoped_per_tenant(store: JobStore) -> None:
    _queued(store, "one", _claim(tenant="acme"))
    other = _queued(store, "two", _claim(tenant="globex"))
    assert other.id == "two" and other.tenant == "globex"
    assert idempotency.replay(store, _claim(tenant="globex")).id == "two"  # type: ignore[union-attr]


def test_a_different_request_with_the_key_is_a_mismatch(store: JobStore) -> None:
    _queued(store, "one", _claim())
    with pytest.raises(IdempotencyMismatch):
        idempotency.replay(store, _claim(image=b"another image"))
    with pytest.raises(IdempotencyMismatch):
        idempotency.create(store, Job(id="two"), _claim(image=b"another image"))


def test_fingerprints_see_route_options_and_files() -> None:
    base = fingerprint("/v1/jobs", {"mode": "mask", "preset": "fast"}, {"original": b"x"})
    assert base == fingerprint("/v1/jobs", {"preset": "fast", "mode": "mask"}, {"original": b"x"})
    assert base != fingerprint("/remove-bg", {"mode": "mask", "preset": "fast"}, {"original": b"x"})
    assert base != fingerprint("/v1/jobs", {"mode": "mask"}, {"original": b"x"})
    assert base != fingerprint("/v1/jobs", {"mode": "mask", "preset": "fast"}, {"original": b"y"})


def test_a_pending_claim_is_in_flight_until_confirmed(store: JobStore) -> None:
    idempotency.create(store, Job(id="one"), _claim())
    with pytest.raises(RequestInFlight):
        idempotency.replay(store, _claim())
    idempotency.confirm(store, _claim(), "one")
    assert idempotency.replay(store, _claim()).id == "one"  # type: ignore[union-attr]


def test_a_stale_pending_claim_counts_as_queued(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    idempotency.create(store, Job(id="one"), _claim())
    monkeypatch.setattr(idempotency, "PENDING_SECONDS", 0.0)
    assert idempotency.replay(store, _claim()).id == "one"  # type: ignore[union-attr]


def test_a_released_key_is_free_for_the_retry(store: JobStore) -> None:
    idempotency.create(store, Job(id="one"), _claim())
    idempotency.release(store, _claim(), "one")
    job, created = idempotency.create(store, Job(id="two"), _claim())
    assert created and job.id == "two"


def test_release_and_confirm_leave_another_jobs_claim_alone(store: JobStore) -> None:
    _queued(store, "one", _claim())
    idempotency.release(store, _claim(), "someone-else")
    idempotency.confirm(store, _claim(), "someone-else")
    assert idempotency.replay(store, _claim()).id == "one"  # type: ignore[union-attr]


def test_the_key_of_a_deleted_job_is_free_again(store: JobStore) -> None:
    _queued(store, "one", _claim())
    store.delete("one")
    job, created = idempotency.create(store, Job(id="two"), _claim())
    assert created and job.id == "two"


def test_racing_creates_make_one_job(store: JobStore) -> None:
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(8)

    def attempt(job_id: str) -> None:
        barrier.wait()
        try:
            job, created = idempotency.create(store, Job(id=job_id), _claim())
            results.append((job.id, created))
        except RequestInFlight:
            results.append(("in_flight", False))

    threads = [threading.Thread(target=attempt, args=(f"j{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [created for _, created in results].count(True) == 1 and len(results) == 8
    made = [job_id for job_id, created in results if created]
    assert len([i for i in range(8) if store.get(f"j{i}") is not None]) == 1
    assert store.get(made[0]) is not None


def test_key_length_is_checked() -> None:
    with pytest.raises(InvalidOption):
        idempotency.make_claim("acme", "", "f")
    with pytest.raises(InvalidOption):
        idempotency.make_claim("acme", "k" * 256, "f")
    assert idempotency.make_claim("acme", None, "f") is None
