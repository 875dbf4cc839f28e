"""docker-compose.yml and the Dockerfiles agree with the repo (Docker itself is not run here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from shared.settings import REPO_ROOT, Settings

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SETTING_NAME = re.compile(r"\b(?:CUTOUT_[A-Z0-9_]+|REDIS_URL|STORAGE_URL)\b")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def known_setting_names() -> set[str]:
    """Every environment name shared.settings.Settings reads."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in Settings.model_fields.items():
        if isinstance(field.validation_alias, AliasChoices):
            names.update(str(choice) for choice in field.validation_alias.choices)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        return dict(item.split("=", 1) for item in env)
    return {str(name): str(value) for name, value in env.items()}


def dockerfile(service: dict[str, Any]) -> Path:
    build = service["build"]
    return REPO_ROOT / build.get("context", ".") / build["dockerfile"]


def test_the_services_exist(services: dict[str, Any]) -> None:
    assert {"redis", "minio", "minio-setup", "api", "worker"} <= services.keys()


def test_workers_fit_512_mb_and_can_scale(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert worker["mem_limit"] == "512m"
    assert "container_name" not in worker
    assert not any(":" in str(port) for port in worker.get("ports", [])), "fixed host port"


def test_every_setting_name_is_a_real_setting(services: dict[str, Any]) -> None:
    used = {name for service in services.values() for name in environment(service)}
    for path in (COMPOSE_FILE, *(dockerfile(services[name]) for name in ("api", "worker"))):
        used |= set(SETTING_NAME.findall(path.read_text()))
    unknown = {name for name in used if SETTING_NAME.fullmatch(name)} - known_setting_names()
    assert not unknown, f"not fields of shared.settings.Settings: {sorted(unknown)}"


def test_api_and_worker_share_redis_storage_and_credentials(services: dict[str, Any]) -> None:
    api, worker = environment(services["api"]), environment(services["worker"])
    for name in ("REDIS_URL", "STORAGE_URL", "CUTOUT_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"):
        assert api[name] == worker[name], name
    assert api["STORAGE_URL"].startswith("s3://cutout/")
    minio = environment(services["minio"])
    assert api["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert api["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert worker["CUTOUT_MODEL_DIR"] == "/models"


def test_api_and_worker_wait_for_the_bucket(services: dict[str, Any]) -> None:
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["minio-setup"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"


def test_health_checks(services: dict[str, Any]) -> None:
    for name in ("redis", "minio", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])


def test_redis_persists_with_aof(services: dict[str, Any]) -> None:
    redis = services["redis"]
    command = redis["command"]
    command = command if isinstance(command, str) else " ".join(command)
    assert "--appendonly yes" in command
    assert any(str(volume).endswith(":/data") for volume in redis["volumes"])


def test_dockerfiles_copy_what_they_use(services: dict[str, Any]) -> None:
    for name in ("api", "worker"):
        path = dockerfile(services[name])
        assert path.is_file(), path
        text = path.read_text()
        # COPY --from=<stage> copies from an earlier build stage, not from the repo.
        for source in re.findall(r"^COPY\s+(?!--from)(.+?)\s+\S+$", text, re.MULTILINE):
            for item in source.split():
                assert (REPO_ROOT / item).exists(), f"{path.name} copies missing {item}"
        copy_lines = " ".join(re.findall(r"^COPY .*", text, re.MULTILINE))
        copied = set(re.findall(r"requirements-[a-z]+\.txt", copy_lines))
        for requirements in re.findall(r"pip install -r (\S+)", text):
            assert requirements in copied, f"{path.name} installs {requirements} without copying it"
            assert included_requirements(requirements) <= copied, f"{path.name}: -r includes"


def included_requirements(name: str) -> set[str]:
    """The requirements files `name` pulls in with -r, transitively."""
    found = set()
    for line in (REPO_ROOT / name).read_text().splitlines():
        if line.startswith("-r "):
            child = line.split()[1]
            found |= {child} | included_requirements(child)
    return found


def test_api_image_stays_thin(services: dict[str, Any]) -> None:
    text = dockerfile(services["api"]).read_text()
    assert "requirements-worker.txt" not in text and "worker/" not in text
    assert "0.0.0.0:8000" in text


def test_worker_image_bakes_in_the_verified_model(services: dict[str, Any]) -> None:
    text = dockerfile(services["worker"]).read_text()
    assert re.search(r"^RUN python scripts/fetch_model.py --model-dir /models", text, re.M)
    assert "scripts/quantize_model.py --model-dir /models" in text
    assert "COPY --from=models /models /models" in text
    assert "--concurrency=1" in text


def test_build_context_leaves_out_local_state() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "data", "models"} <= set(ignored)
