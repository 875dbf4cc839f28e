"""The operations guide and the Grafana dashboard only query series that exist."""

from __future__ import annotations

import json
import re

from prometheus_client.metrics import MetricWrapperBase

from shared import telemetry
from shared.settings import REPO_ROOT

SUFFIXES = ("_bucket", "_sum", "_count", "_total")


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def test_every_queried_series_exists() -> None:
    metrics = [m for m in vars(telemetry).values() if isinstance(m, MetricWrapperBase)]
    known = {_base(m.describe()[0].name) for m in metrics} | {"cutout_queue_depth"}
    dashboard = json.loads((REPO_ROOT / "docs" / "grafana-dashboard.json").read_text())
    expressions = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    guide = (REPO_ROOT / "docs" / "operations.md").read_text()
    used = set(re.findall(r"\bcutout_[a-z_]+", expressions + guide))
    assert used and {_base(name) for name in used} - known == set()
