"""/metrics answers without a key, in Prometheus' text format, with the queue depth."""

from __future__ import annotations

import io

from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api
from tests.conftest import encoded, subject_photo


def test_metrics_are_public_and_count_requests(api: Api) -> None:
    api.app.extensions["cutout"].settings.auth = "required"
    api.client.get("/v1/jobs/unknown")  # refused: 401, and counted
    api.store.redis.rpush("cutout", "waiting-message")
    response = api.client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }
    assert samples[("cutout_queue_depth", (("queue", "cutout"),))] == 1
    refused = ("method", "GET"), ("route", "/v1/jobs/<job_id>"), ("status", "401")
    assert samples[("cutout_http_requests_total", refused)] >= 1


def test_a_created_job_is_counted_by_route(api: Api) -> None:
    image = {"image": (io.BytesIO(encoded(subject_photo())), "p.jpg")}
    assert api.client.post("/v1/jobs", data=image).status_code == 202
    text = api.client.get("/metrics").get_data(as_text=True)
    assert 'cutout_http_requests_total{method="POST",route="/v1/jobs",status="202"}' in text
