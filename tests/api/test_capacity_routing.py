"""Uploads go to the size class's queue; one no live worker's class holds is refused (413)."""

from __future__ import annotations

import io

import fakeredis
import pytest

from api.app import create_app
from shared import capacity, heartbeats
from shared.jobs import JobStore
from shared.settings import Settings
from shared.storage.memory import MemoryStorage
from tests.api.conftest import Api, RecordingQueue
from tests.conftest import encoded, subject_photo

SMALL = encoded(subject_photo(600, 400))  # 0.24 MP
LARGER = encoded(subject_photo(1400, 1000))  # 1.4 MP: above the smallest class (1 MP)


@pytest.fixture
def fleet_api(tiny_model) -> Api:  # noqa: ANN001 - pytest fixture
    settings = Settings(model=str(tiny_model), max_upload_bytes=2_000_000, max_megapixels=25)
    store = JobStore(fakeredis.FakeRedis(), retention_seconds=600)
    storage, queue = MemoryStorage(), RecordingQueue()
    app = create_app(
        {"TESTING": True}, settings=settings, store=store, storage=storage, queue=queue
    )
    return Api(app, app.test_client(), store, storage, queue, settings)


def post(api: Api, image: bytes) -> tuple[int, dict]:
    form = {"image": (io.BytesIO(image), "photo.jpg")}
    response = api.client.post("/v1/jobs", data=form, content_type="multipart/form-data")
    return response.status_code, response.get_json()


def test_each_upload_goes_to_its_size_class(fleet_api: Api) -> None:
    heartbeats.beat(fleet_api.store.redis, "small", max_megapixels=1.5)
    heartbeats.beat(fleet_api.store.redis, "big", max_megapixels=25)
    assert post(fleet_api, SMALL)[0] == 202
    assert post(fleet_api, LARGER)[0] == 202
    assert fleet_api.queue.queues == [capacity.queue_for(0.24), capacity.queue_for(1.4)]
    # Only the big worker consumes the larger photo's queue.
    assert fleet_api.queue.queues[1] in capacity.queues_for_worker(25)
    assert fleet_api.queue.queues[1] not in capacity.queues_for_worker(1.5)


def test_what_only_a_stopped_worker_could_hold_is_refused(fleet_api: Api) -> None:
    heartbeats.beat(fleet_api.store.redis, "small", max_megapixels=1.5)
    status, body = post(fleet_api, LARGER)
    assert status == 413 and body["error"]["code"] == "image_too_large"
    assert post(fleet_api, SMALL)[0] == 202
    assert fleet_api.queue.queues == [capacity.queue_for(0.24)]
