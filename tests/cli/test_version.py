"""`cutout --version` prints the package's version from its metadata."""

from __future__ import annotations

import tomllib

from click.testing import CliRunner

from cutout.cli.main import cli
from shared.settings import REPO_ROOT


def test_version_is_the_package_version() -> None:
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"cutout, version {declared}"
