"""The receiver in docs/webhooks.md works: it accepts a signed event and refuses a forged one."""

from __future__ import annotations

import base64
import json
import re

import pytest
from standardwebhooks.webhooks import Webhook

from shared.settings import REPO_ROOT
from worker.webhook_attempt import signed_headers

SECRET = "whsec_" + base64.b64encode(b"d" * 32).decode()


def receiver_code() -> str:
    text = (REPO_ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    [code] = [
        block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "verify" in block
    ]
    assert len(code.strip().splitlines()) <= 16  # short enough to copy
    return code


def test_the_documented_receiver_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    namespace: dict = {"__name__": "__main__"}  # as when run as a script
    exec(compile(receiver_code(), "docs/webhooks.md", "exec"), namespace)  # noqa: S102
    client = namespace["app"].test_client()
    body = json.dumps({"type": "job.succeeded", "timestamp": "t", "data": {"id": "j", "links": {}}})
    headers = signed_headers(Webhook(SECRET), "msg_job_j", body)
    assert client.post("/hooks/cutout", data=body, headers=headers).status_code == 204
    forged = {**headers, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    assert client.post("/hooks/cutout", data=body, headers=forged).status_code == 400
