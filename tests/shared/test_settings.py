"""Settings come from the environment, and the README's table is the generated one."""

from __future__ import annotations

import pytest

from shared.settings import REPO_ROOT, Settings, settings_table


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUTOUT_MAX_MEGAPIXELS", "12.5")
    monkeypatch.setenv("CUTOUT_FALLBACK", "false")
    settings = Settings()
    assert settings.max_megapixels == 12.5 and settings.fallback is False


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUTOUT_PNG_COMPRESS_LEVEL", "12")
    with pytest.raises(ValueError, match="png_compress_level"):
        Settings()


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_readme_configuration_table_is_current() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme, "regenerate it: .venv/bin/python -m shared.settings"
