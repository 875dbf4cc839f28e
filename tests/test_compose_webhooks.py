"""The webhook sender's compose service: small, its own process, the API's Redis and secret."""

from __future__ import annotations

import yaml

from shared.settings import REPO_ROOT


def test_the_webhook_sender_runs_beside_the_workers() -> None:
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    sender = services["webhooks"]
    assert sender["command"] == ["python", "-m", "worker.webhooks"]
    assert sender["mem_limit"] == "128m" and "ports" not in sender
    env = sender["environment"]
    assert env["REDIS_URL"] == services["api"]["environment"]["REDIS_URL"]
    assert env["WEBHOOK_SECRET"] == "${WEBHOOK_SECRET:-}"  # noqa: S105  # from the environment
    for name in ("api", "worker", "webhooks"):
        assert services[name]["environment"]["CUTOUT_PUBLIC_URL"].endswith(":8000}")
