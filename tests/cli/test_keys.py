"""`cutout keys` errors: one line and a non-zero exit, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from cutout.cli.main import cli
from shared.settings import get_settings
from tests.processes import free_port


@pytest.fixture
def redis_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CUTOUT_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("redis_down")
@pytest.mark.parametrize("args", [["create", "acme"], ["list"], ["revoke", "abcd"]])
def test_an_unreachable_redis_is_one_line(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["keys", *args])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: store_unavailable: cannot reach Redis at redis://")
    assert len(result.output.strip().splitlines()) == 1
