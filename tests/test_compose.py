"""docker-compose.yml and the Dockerfiles agree with the repo (Docker itself is not run here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from shared.settings import REPO_ROOT, Settings

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SETTING_NAME = re.compile(r"\b(?:CUTOUT_[A-Z0-9_]+|REDIS_URL|STORAGE_URL)\b")
# Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME:?error}; $$ is a literal $.
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET")


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


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """`text` as compose resolves it with `env` (and the file's defaults); required unset: error."""
    env = env or {}

    def value(match: re.Match[str]) -> str:
        name, kind, default = match.groups()
        if env.get(name):
            return env[name]
        if kind == ":?":
            raise KeyError(f"{name} is required: {default}")
        return default or ""

    return VARIABLE.sub(value, text).replace("$$", "$")


def megabytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", str(size).lower()).groups()  # type: ignore[union-attr]
    return int(number) * {"k": 1, "m": 1024, "g": 1024 * 1024, "": 1}[unit] // 1024


def seconds(duration: str) -> float:
    """A compose duration (`180s`, `3m`, `1m30s`) in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s|ms)", str(duration))
    assert parts, duration
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(number) * scale[unit] for number, unit in parts)


def default_of(text: str, name: str) -> str | None:
    """The default given to `${name:-...}` in `text` (None when it has none)."""
    for found, kind, default in VARIABLE.findall(text):
        if found == name and kind == ":-":
            return default
    return None


def test_workers_fit_512_mb_and_can_scale(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert megabytes(worker["mem_limit"]) == 512
    assert "container_name" not in worker
    assert not worker.get("ports"), "a host port would clash at --scale worker=2"
    deploy = worker["deploy"]
    assert isinstance(deploy["replicas"], int) and deploy["replicas"] >= 1
    # deploy.resources (swarm and newer compose) and mem_limit (older engines) agree.
    assert megabytes(deploy["resources"]["limits"]["memory"]) == megabytes(worker["mem_limit"])


def test_a_stopping_worker_may_finish_its_job() -> None:
    text = COMPOSE_FILE.read_text()
    worker = yaml.safe_load(text)["services"]["worker"]
    hard_limit = int(default_of(text, "CUTOUT_TASK_TIME_LIMIT") or Settings().task_time_limit)
    soft_limit = int(default_of(text, "CUTOUT_TASK_SOFT_TIME_LIMIT") or 0)
    assert hard_limit == Settings().task_time_limit
    assert soft_limit < hard_limit < Settings().broker_visibility_timeout
    assert seconds(worker["stop_grace_period"]) > hard_limit
    assert environment(worker)["CUTOUT_TASK_TIME_LIMIT"].startswith("${CUTOUT_TASK_TIME_LIMIT")


def test_secrets_have_no_default_values() -> None:
    text = COMPOSE_FILE.read_text()
    secrets = [found for found in VARIABLE.findall(text) if SECRET_NAME.search(found[0])]
    assert {name for name, _, _ in secrets} >= {
        "REDIS_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "MINIO_APP_PASSWORD",
    }
    # Required, or empty when unset (an optional feature off, such as signed webhooks):
    # never a default value anyone could read here.
    defaulted = [(name, default) for name, kind, default in secrets if kind != ":?" and default]
    assert not defaulted, f"a secret with a default: {defaulted}"
    for name in ("REDIS_PASSWORD", "MINIO_ROOT_PASSWORD", "MINIO_APP_PASSWORD"):
        assert all(kind == ":?" for found, kind, _ in secrets if found == name), name
    with pytest.raises(KeyError, match="PASSWORD is required"):
        interpolate(text)
    # Everything else resolves: the file starts with only the three secrets set.
    env = {"REDIS_PASSWORD": "r" * 32, "MINIO_ROOT_PASSWORD": "m" * 32}
    resolved = yaml.safe_load(interpolate(text, {**env, "MINIO_APP_PASSWORD": "a" * 32}))
    assert (
        environment(resolved["services"]["api"])["REDIS_URL"] == f"redis://:{'r' * 32}@redis:6379/0"
    )


def test_the_api_listens_on_loopback_unless_told_otherwise() -> None:
    text = COMPOSE_FILE.read_text()
    env = {"REDIS_PASSWORD": "r", "MINIO_ROOT_PASSWORD": "m", "MINIO_APP_PASSWORD": "a"}
    api = yaml.safe_load(interpolate(text, env))["services"]["api"]
    assert api["ports"] == ["127.0.0.1:8000:8000"]
    everywhere = "0.0.0.0"  # noqa: S104 - the operator's explicit choice, tested here
    exposed = yaml.safe_load(interpolate(text, {**env, "API_BIND": everywhere}))
    assert exposed["services"]["api"]["ports"] == ["0.0.0.0:8000:8000"]
    assert environment(api)["CUTOUT_AUTH"] == "required"
    for name, service in yaml.safe_load(interpolate(text, env))["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_every_setting_name_is_a_real_setting(services: dict[str, Any]) -> None:
    used = {name for service in services.values() for name in environment(service)}
    for path in (COMPOSE_FILE, *(dockerfile(services[name]) for name in ("api", "worker"))):
        used |= set(SETTING_NAME.findall(path.read_text()))
    unknown = {name for name in used if SETTING_NAME.fullmatch(name)} - known_setting_names()
    assert not unknown, f"not fields of shared.settings.Settings: {sorted(unknown)}"


def test_api_and_worker_share_redis_storage_and_credentials(services: dict[str, Any]) -> None:
    api, worker = environment(services["api"]), environment(services["worker"])
    for name in (
        "REDIS_URL",
        "STORAGE_URL",
        "CUTOUT_S3_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):
        assert api[name] == worker[name], name
    assert api["STORAGE_URL"].startswith("s3://cutout/")
    assert worker["CUTOUT_MODEL_DIR"] == "/models"


def test_the_app_uses_its_own_minio_user_limited_to_the_bucket(services: dict[str, Any]) -> None:
    api, setup = environment(services["api"]), environment(services["minio-setup"])
    root = environment(services["minio"])
    assert api["AWS_ACCESS_KEY_ID"] == setup["MINIO_APP_USER"]
    assert api["AWS_SECRET_ACCESS_KEY"] == setup["MINIO_APP_PASSWORD"]
    assert interpolate(api["AWS_ACCESS_KEY_ID"]) != interpolate(root["MINIO_ROOT_USER"])
    for name in ("api", "worker"):
        assert not any("MINIO_ROOT" in value for value in environment(services[name]).values())
    command = " ".join(setup_command(services["minio-setup"]))
    assert 'mc admin user add cutout "$$MINIO_APP_USER"' in command
    assert "mc admin policy attach cutout cutout-app --user" in command
    mounted = {v.split(":")[1]: v.split(":")[0] for v in services["minio-setup"]["volumes"]}
    policy_file = next(src for dst, src in mounted.items() if dst in command)
    policy = json.loads((REPO_ROOT / policy_file).read_text())
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    bucket = api["STORAGE_URL"].removeprefix("s3://").split("/")[0]
    assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert "s3:*" not in actions and not any(a.startswith("admin:") for a in actions)


def setup_command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return [command] if isinstance(command, str) else list(command)


def test_api_and_worker_wait_for_the_bucket(services: dict[str, Any]) -> None:
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["minio-setup"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"


def test_health_checks(services: dict[str, Any]) -> None:
    for name in ("redis", "minio", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])
    assert "worker.probe ready" in " ".join(services["worker"]["healthcheck"]["test"])


def test_redis_persists_with_aof_and_a_password(services: dict[str, Any]) -> None:
    redis = services["redis"]
    command = " ".join(setup_command(redis))
    for option in (
        "--appendonly yes",
        "--appendfsync always",
        "--maxmemory-policy noeviction",
        '--requirepass "$$REDIS_PASSWORD"',
    ):
        assert option in command, option
    # The image's entrypoint drops root only for a command starting with redis-server.
    assert "docker-entrypoint.sh redis-server" in command
    assert environment(redis)["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    assert "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])
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


def test_keys_can_be_made_inside_the_stack(services: dict[str, Any]) -> None:
    # The API requires keys in compose; the worker image carries the `cutout keys` command
    # (its dependencies are the worker's) and the stack's REDIS_URL.
    assert environment(services["api"])["CUTOUT_AUTH"] == "required"
    text = dockerfile(services["worker"]).read_text()
    assert "COPY cutout/ cutout/" in text
    assert "from cutout.cli.main import cli" in text and "/usr/local/bin/cutout" in text
