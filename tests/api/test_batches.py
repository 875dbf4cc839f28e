"""/v1/batches against in-memory fakes, with the worker's task bodies run inline."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from shared.batches import EVENTS, keys
from shared.errors import FetchFailed
from tests.api.batchfakes import PriorityQueue, Worker, zip_of
from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo
from worker.expand import Limits

GOOD = encoded(subject_photo())
OTHER = encoded(subject_photo(200, 160))
BAD = b"this is not an image at all"


@pytest.fixture
def worker(api: Api) -> Worker:
    queue = PriorityQueue()
    api.queue = queue
    api.app.extensions["cutout"].queue = queue
    pages = {"http://shop.test/a.jpg": GOOD, "http://shop.test/b.png": OTHER}

    def fetch(url: str) -> bytes:
        if url not in pages:
            raise FetchFailed(f"{url}: 404")
        return pages[url]

    return Worker(api, queue, fetch)


def _files(*items: tuple[str, bytes]) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(data), name) for name, data in items]


def _create(api: Api, headers: dict | None = None, **form: object):
    return api.client.post(
        "/v1/batches", data=form, content_type="multipart/form-data", headers=headers or {}
    )


def _batch(api: Api, batch_id: str, headers: dict | None = None) -> dict:
    return api.client.get(f"/v1/batches/{batch_id}", headers=headers or {}).get_json()


def _events(api: Api, batch_id: str) -> dict[str, int]:
    raw = api.store.redis.hgetall(keys(batch_id)["batch"])
    return {
        k.decode().removeprefix("events:"): int(v)
        for k, v in raw.items()
        if k.startswith(b"events:")
    }


def test_images_good_and_bad_end_in_one_completed_batch(api: Api, worker: Worker) -> None:
    response = _create(
        api,
        images=_files(("a.jpg", GOOD), ("broken.jpg", BAD), ("b.jpg", OTHER)),
        mode="mask",
        name="spring",
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "closed" and body["items"] == 3
    items = {item["name"]: item for item in body["added"]}
    assert items["broken.jpg"]["status"] == "failed"
    assert items["broken.jpg"]["error"]["code"] == "unsupported_media_type"
    assert items["a.jpg"]["status"] == "queued"
    worker.run_all()
    batch = _batch(api, body["id"])
    assert batch["status"] == "completed" and batch["progress"] == 1.0
    assert batch["counts"] == {
        "pending": 0,
        "queued": 0,
        "processing": 0,
        "succeeded": 2,
        "failed": 1,
        "canceled": 0,
    }
    assert batch["options"]["mode"] == "mask" and batch["name"] == "spring"
    assert _events(api, body["id"]) == {"batch.completed": 1}
    job = api.client.get(f"/v1/jobs/{items['a.jpg']['job_id']}").get_json()
    assert job["batch_id"] == body["id"] and job["options"]["mode"] == "mask"


def test_a_job_ending_twice_is_counted_once(api: Api, worker: Worker) -> None:
    body = _create(api, images=_files(("a.jpg", GOOD))).get_json()
    worker.run_all()
    job_id = body["added"][0]["job_id"]
    api.store.update(job_id, lambda job: True)  # a later write to the finished record
    batch = _batch(api, body["id"])
    assert batch["counts"]["succeeded"] == 1 and _events(api, body["id"]) == {"batch.completed": 1}


def test_zip_entries_are_labels_and_bad_ones_fail_alone(api: Api, worker: Worker) -> None:
    archive = zip_of(
        {
            "shoes/red.jpg": GOOD,
            "../../etc/evil.jpg": OTHER,
            "__MACOSX/._red.jpg": b"junk",
            "notes.txt": b"hello",
            "shoes/": b"",
        }
    )
    body = _create(api, archive=_files(("catalog.zip", archive))).get_json()
    assert body["sources"] == [{"number": 1, "kind": "zip", "name": "catalog.zip"}]
    assert body["status"] == "closed" and body["expanding"] == 1
    worker.run_all()
    batch = _batch(api, body["id"])
    assert batch["status"] == "completed" and batch["items"] == 3
    assert batch["counts"]["succeeded"] == 2 and batch["counts"]["failed"] == 1
    report = _report(api, body["id"])
    assert {row["name"] for row in report} == {"shoes/red.jpg", "../../etc/evil.jpg", "notes.txt"}
    failed = next(row for row in report if row["name"] == "notes.txt")
    assert failed["error_code"] == "unsupported_media_type" and failed["status"] == "failed"
    with zipfile.ZipFile(io.BytesIO(_get(api, f"/v1/batches/{body['id']}/results.zip"))) as z:
        assert sorted(z.namelist()) == ["evil.png", "red.png", "report.csv"]
    assert not api.storage.exists(f"batches/{body['id']}/sources/1.zip")


def test_a_zip_over_the_entry_limit_is_one_failed_item(api: Api, worker: Worker) -> None:
    worker.limits = Limits(max_entries=2, max_uncompressed_bytes=10**9)
    archive = zip_of({f"{n}.jpg": GOOD for n in range(3)})
    body = _create(api, archive=_files(("big.zip", archive))).get_json()
    worker.run_all()
    report = _report(api, body["id"])
    assert [(r["name"], r["error_code"]) for r in report] == [("1.zip", "archive_too_large")]
    assert _batch(api, body["id"])["status"] == "completed"


def test_url_list_fetches_each_and_a_bad_url_fails_alone(api: Api, worker: Worker) -> None:
    listing = "url,name\nhttp://shop.test/a.jpg,front\nhttp://shop.test/missing.jpg,\n"
    listing += "http://shop.test/b.png,\n"
    body = _create(api, urls=_files(("feed.csv", listing.encode()))).get_json()
    worker.run_all()
    rows = {row["name"]: row for row in _report(api, body["id"])}
    assert rows["front"]["status"] == "succeeded" and rows["b.png"]["status"] == "succeeded"
    assert rows["missing.jpg"]["error_code"] == "fetch_failed"


def test_json_body_url_list(api: Api, worker: Worker) -> None:
    body = api.client.post(
        "/v1/batches", json={"urls": ["http://shop.test/a.jpg"], "mode": "mask"}
    ).get_json()
    worker.run_all()
    batch = _batch(api, body["id"])
    assert batch["counts"]["succeeded"] == 1 and batch["status"] == "completed"


def test_open_batch_takes_items_until_closed(api: Api, worker: Worker) -> None:
    body = api.client.post("/v1/batches", data={"stay_open": "true"}).get_json()
    assert body["status"] == "open"
    url = f"/v1/batches/{body['id']}"
    for name in ("a.jpg", "b.jpg"):
        form = {"images": _files((name, GOOD))}
        added = api.client.post(f"{url}/items", data=form, content_type="multipart/form-data")
        assert added.status_code == 202
    worker.run_all()
    assert _batch(api, body["id"])["status"] == "open"  # all ended, but more may come
    closed = api.client.post(f"{url}/close").get_json()
    assert closed["status"] == "completed" and _events(api, body["id"]) == {"batch.completed": 1}
    late = api.client.post(
        f"{url}/items", data={"images": _files(("c.jpg", GOOD))}, content_type="multipart/form-data"
    )
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "batch_closed"


def test_identical_items_are_processed_once_and_deleted_apart(api: Api, worker: Worker) -> None:
    body = _create(api, images=_files(("a.jpg", GOOD), ("copy.jpg", GOOD))).get_json()
    first, second = (item["job_id"] for item in body["added"])
    assert body["added"][1]["deduplicated_from"] == first
    worker.run_all()
    processed = [args[0] for name, args in worker.queue.ran if name == "cutout.process"]
    assert processed == [first]
    job = api.client.get(f"/v1/jobs/{second}").get_json()
    assert job["status"] == "succeeded" and job["deduplicated_from"] == first
    assert api.client.delete(f"/v1/jobs/{first}").status_code == 204
    result = api.client.get(f"/v1/jobs/{second}/result")
    assert result.status_code == 200 and result.data[:4] == b"\x89PNG"


def test_another_tenants_batch_is_not_found(api: Api, worker: Worker) -> None:
    keystore = api.app.extensions["cutout"].keys
    alice = {"Authorization": f"Bearer {keystore.create('alice')[0]}"}
    bob = {"Authorization": f"Bearer {keystore.create('bob')[0]}"}
    body = _create(api, headers=alice, images=_files(("a.jpg", GOOD))).get_json()
    for path in ("", "/jobs", "/report.csv", "/results.zip"):
        response = api.client.get(f"/v1/batches/{body['id']}{path}", headers=bob)
        unknown = api.client.get(f"/v1/batches/b_unknown{path}", headers=bob)
        assert response.status_code == unknown.status_code == 404
        assert response.get_json()["error"] == {
            **unknown.get_json()["error"],
            "message": response.get_json()["error"]["message"],
        }
    assert api.client.delete(f"/v1/batches/{body['id']}", headers=bob).status_code == 404
    job = api.store.get(body["added"][0]["job_id"])
    assert job is not None and job.tenant == "alice"
    assert _batch(api, body["id"], alice)["items"] == 1


def test_delete_cancels_what_has_not_started(api: Api, worker: Worker) -> None:
    body = _create(api, images=_files(("a.jpg", GOOD), ("b.jpg", OTHER))).get_json()
    worker.run_all(limit=1)
    counts = _batch(api, body["id"])["counts"]
    assert (counts["pending"], counts["queued"], counts["processing"]) == (1, 1, 0)
    answer = api.client.delete(f"/v1/batches/{body['id']}").get_json()
    assert answer["status"] == "canceled" and answer["canceled"] == 1
    worker.run_all()
    assert answer["counts"] == {
        "pending": 0,
        "queued": 0,
        "processing": 0,
        "succeeded": 1,
        "failed": 0,
        "canceled": 1,
    }


def test_jobs_are_paged_and_filtered(api: Api, worker: Worker) -> None:
    images = [(f"{n}.jpg", GOOD if n % 2 else BAD) for n in range(5)]
    body = _create(api, images=_files(*images)).get_json()
    url = f"/v1/batches/{body['id']}/jobs"
    first = api.client.get(f"{url}?limit=2").get_json()
    assert [j["name"] for j in first["jobs"]] == ["0.jpg", "1.jpg"] and first["next_cursor"] == 2
    rest = api.client.get(f"{url}?cursor={first['next_cursor']}").get_json()
    assert [j["name"] for j in rest["jobs"]] == ["2.jpg", "3.jpg", "4.jpg"]
    assert rest["next_cursor"] is None
    failed = api.client.get(f"{url}?status=failed").get_json()
    assert [j["name"] for j in failed["jobs"]] == ["0.jpg", "2.jpg", "4.jpg"]


@pytest.mark.parametrize(
    "query", ["cursor=-1", "cursor=280627752774825038152363319230464", "limit=-5"]
)
def test_a_cursor_or_limit_out_of_range_is_a_bad_option(
    api: Api, worker: Worker, query: str
) -> None:
    # A cursor past Redis's 64-bit list indexes once answered 503 store_unavailable.
    body = _create(api, images=_files(("a.jpg", GOOD))).get_json()
    answer = api.client.get(f"/v1/batches/{body['id']}/jobs?{query}")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_option"


def test_report_has_plain_values(api: Api, worker: Worker) -> None:
    body = _create(api, images=_files(("a.jpg", GOOD))).get_json()
    worker.run_all()
    (row,) = _report(api, body["id"])
    assert row["needs_review"] in ("true", "false") and "[" not in row["review_reasons"]
    assert float(row["foreground_fraction"]) > 0 and row["result_url"].endswith("/result")
    assert float(row["processing_ms"]) >= 0 and row["error_code"] == ""


def test_bad_options_reject_the_request_before_anything_is_stored(api: Api) -> None:
    response = _create(api, images=_files(("a.jpg", GOOD)), mode="sideways")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_option"
    assert api.store.redis.llen(EVENTS) == 0 and not api.storage.files


def _get(api: Api, path: str) -> bytes:
    response = api.client.get(path)
    assert response.status_code == 200, response.data[:300]
    return response.get_data()


def _report(api: Api, batch_id: str) -> list[dict[str, str]]:
    text = _get(api, f"/v1/batches/{batch_id}/report.csv").decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_payload_view_is_json(api: Api, worker: Worker) -> None:
    body = _create(api, images=_files(("a.jpg", GOOD))).get_json()
    assert json.dumps(body["links"]) and body["links"]["results"].endswith("/results.zip")


def test_json_body_options_may_be_numbers_and_booleans(api: Api, worker: Worker) -> None:
    body = {"urls": [], "quality": 2, "crop": True, "shadow": "contact", "stay_open": True}
    response = api.client.post("/v1/batches", json=body)
    assert response.status_code == 202, response.get_json()
    batch = response.get_json()
    assert batch["options"]["quality"] == 2 and batch["options"]["crop"] is True
    nested = api.client.post("/v1/batches", json={"quality": [2]})
    assert nested.status_code == 400
    assert nested.get_json()["error"]["code"] == "invalid_option"


def test_a_batch_named_with_a_newline_or_any_script_still_downloads(
    api: Api, worker: Worker
) -> None:
    body = _create(api, name="spring\r\n日本", images=_files(("a.jpg", GOOD))).get_json()
    worker.run_all()
    for route in ("results.zip", "report.csv"):
        response = api.client.get(f"/v1/batches/{body['id']}/{route}")
        assert response.status_code == 200, route
        header = response.headers["Content-Disposition"]
        assert header.startswith("attachment; filename=") and header.isascii()
    zip_header = api.client.get(f"/v1/batches/{body['id']}/results.zip").headers
    assert (
        "filename*=UTF-8''spring%E6%97%A5%E6%9C%AC-results.zip" in zip_header["Content-Disposition"]
    )
