"""deploy/kubernetes validates offline and agrees with the code (queues, limits, probes).

Kubernetes kinds are checked against the API schemas shipped in `kubernetes-validate`; KEDA's
kinds (not in it) against a schema written from KEDA's documented fields (tests/keda_schema.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kombu.transport.redis import PRIORITY_STEPS, Channel

from shared import capacity
from shared.settings import REPO_ROOT, Settings
from tests.keda_schema import KEDA_SCHEMAS, SCALED_OBJECT
from tests.test_compose import known_setting_names
from worker.resources import MEASURED_MEGAPIXELS, derive_budget, peak_mb

FOLDER = REPO_ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30"
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
MI = 1024 * 1024


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def docs() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path in sorted(FOLDER.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load(path):
            found[doc["kind"], doc["metadata"]["name"]] = doc
    return found


def container(docs: dict[tuple[str, str], dict[str, Any]], name: str) -> dict[str, Any]:
    return docs["Deployment", name]["spec"]["template"]["spec"]["containers"][0]


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for unit, scale in units.items():
        if quantity.endswith(unit):
            return float(quantity.removesuffix(unit)) * scale
    return float(quantity) / MI


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in FOLDER.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    images = {image["name"] for image in kustomization["images"]}
    for path in present:
        for doc in load(FOLDER / path):
            if doc["kind"] == "Deployment":
                assert doc["spec"]["template"]["spec"]["containers"][0]["image"] in images


def test_kubernetes_kinds_validate(docs: dict[tuple[str, str], dict[str, Any]]) -> None:
    checked = 0
    for (kind, _name), doc in docs.items():
        if kind in KEDA_KINDS:
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 6  # config, 2 deployments, a service, 2 disruption budgets


def test_keda_kinds_validate(docs: dict[tuple[str, str], dict[str, Any]]) -> None:
    kinds = [kind for kind, _ in docs if kind in KEDA_KINDS]
    assert sorted(kinds) == sorted(KEDA_KINDS)
    for (kind, _), doc in docs.items():
        if kind in KEDA_SCHEMAS:
            jsonschema.validate(doc, KEDA_SCHEMAS[kind])


def test_the_schemas_catch_mistakes(docs: dict[tuple[str, str], dict[str, Any]]) -> None:
    worker = docs["Deployment", "cutout-worker"]
    broken = yaml.safe_load(yaml.safe_dump(worker))
    broken["spec"]["template"]["spec"]["terminationGracePeriod"] = 180  # misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    scaled = yaml.safe_load(yaml.safe_dump(docs["ScaledObject", "cutout-worker"]))
    scaled["spec"]["triggers"][0]["metadata"]["listname"] = "cutout"  # wrong case
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, SCALED_OBJECT)


def worker_limit_megapixels(memory_mib: float) -> float:
    """What a worker with this memory limit accepts, on either engine (they must agree)."""
    limits = {
        derive_budget(Settings(), int(memory_mib * MI), 1.0, 1, engine).max_megapixels
        for engine in ("openvino", "onnxruntime")
    }
    floors = {capacity.class_floor(limit) for limit in limits}
    assert len(floors) == 1, limits
    return floors.pop()


def test_keda_watches_every_list_the_workers_consume(
    docs: dict[tuple[str, str], dict[str, Any]],
) -> None:
    memory = mebibytes(container(docs, "cutout-worker")["resources"]["limits"]["memory"])
    queues = capacity.queues_for_worker(worker_limit_megapixels(memory))
    # kombu.transport.redis: priority 0 is the queue's own list, the others NAME + sep + step.
    lists = {
        q if step == 0 else f"{q}{Channel.sep}{step}" for q in queues for step in PRIORITY_STEPS
    }
    scaled = docs["ScaledObject", "cutout-worker"]["spec"]
    triggers = scaled["triggers"]
    assert {t["metadata"]["listName"] for t in triggers} == lists
    assert len(triggers) == len(lists)
    for trigger in triggers:
        assert trigger["type"] == "redis"
        metadata = trigger["metadata"]
        assert int(metadata["listLength"]) >= 1 and int(metadata["activationListLength"]) >= 0
        assert ("TriggerAuthentication", trigger["authenticationRef"]["name"]) in docs
    # The formula sums every trigger (HPA alone would take the largest one).
    terms = {term.strip() for term in scaled["advanced"]["scalingModifiers"]["formula"].split("+")}
    assert terms == {t["name"] for t in triggers}
    assert scaled["scaleTargetRef"]["name"] == "cutout-worker"
    address = scaled["triggers"][0]["metadata"]["addressFromEnv"]
    assert address in docs["ConfigMap", "cutout-config"]["data"]


def test_workers_stop_only_after_their_job(docs: dict[tuple[str, str], dict[str, Any]]) -> None:
    config = docs["ConfigMap", "cutout-config"]["data"]
    soft, hard = int(config["CUTOUT_TASK_SOFT_TIME_LIMIT"]), int(config["CUTOUT_TASK_TIME_LIMIT"])
    assert soft < hard < int(config["CUTOUT_BROKER_VISIBILITY_TIMEOUT"])
    assert hard == Settings().task_time_limit
    worker = docs["Deployment", "cutout-worker"]["spec"]
    assert worker["template"]["spec"]["terminationGracePeriodSeconds"] > hard
    assert worker["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    scaled = docs["ScaledObject", "cutout-worker"]["spec"]
    assert scaled["cooldownPeriod"] > hard
    behavior = scaled["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] > hard


def test_worker_resources_follow_the_measured_peaks(
    docs: dict[tuple[str, str], dict[str, Any]],
) -> None:
    resources = container(docs, "cutout-worker")["resources"]
    limit, request = (mebibytes(resources[k]["memory"]) for k in ("limits", "requests"))
    assert limit == 512
    # The request covers the usual job (1024 px, default preset) on either engine: in a
    # 512 MB container `auto` may pick onnxruntime, which holds more at 1024 px
    # (worker/resources.py with_room); the limit the largest input the worker then accepts.
    usual = max(
        peak_mb(engine, Settings().preset, MEASURED_MEGAPIXELS[0])
        for engine in ("openvino", "onnxruntime")
    )
    assert usual <= request <= limit
    largest = worker_limit_megapixels(limit)
    assert peak_mb("openvino", Settings().preset, largest) <= limit


def test_probes_mean_something(docs: dict[tuple[str, str], dict[str, Any]]) -> None:
    worker = container(docs, "cutout-worker")
    for probe, check in (
        ("startupProbe", "live"),
        ("livenessProbe", "live"),
        ("readinessProbe", "ready"),
    ):
        assert worker[probe]["exec"]["command"] == ["python", "-m", "worker.probe", check]
    assert importlib.util.find_spec("worker.probe") is not None
    # Liveness may fail only after several heartbeat-file intervals have been missed.
    live = worker["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] > 3 * Settings().heartbeat_seconds
    api = container(docs, "cutout-api")
    assert api["readinessProbe"]["httpGet"]["path"] == "/health"


def test_selectors_match(docs: dict[tuple[str, str], dict[str, Any]]) -> None:
    labels = {
        name: doc["spec"]["template"]["metadata"]["labels"]
        for (kind, name), doc in docs.items()
        if kind == "Deployment"
    }
    for name, pod_labels in labels.items():
        selector = docs["Deployment", name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        budget = docs["PodDisruptionBudget", name]["spec"]["selector"]["matchLabels"]
        assert budget.items() <= pod_labels.items()
    service = docs["Service", "cutout-api"]["spec"]
    assert service["selector"].items() <= labels["cutout-api"].items()
    ports = {p["name"] for p in container(docs, "cutout-api")["ports"]}
    assert {p["targetPort"] for p in service["ports"]} <= ports


def test_config_names_are_settings(docs: dict[tuple[str, str], dict[str, Any]]) -> None:
    names = set(docs["ConfigMap", "cutout-config"]["data"])
    assert names - known_setting_names() == {"REDIS_ADDRESS"}  # KEDA's, not Cutout's
    for name in ("cutout-api", "cutout-worker"):
        sources = container(docs, name)["envFrom"]
        assert {"configMapRef": {"name": "cutout-config"}} in sources
        assert {"secretRef": {"name": "cutout-secrets"}} in sources
