"""Settings come from the environment, and the README's table is the generated one."""

from __future__ import annotations

import base64

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


def test_webhook_secrets_are_checked_without_being_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    good = "whsec_" + base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("WEBHOOK_SECRET", good)
    secret = Settings().webhook_secret
    assert secret is not None and secret.get_secret_value() == good and good not in repr(secret)
    for bad in ("k" * 40, "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()):
        monkeypatch.setenv("WEBHOOK_SECRET", bad)
        with pytest.raises(ValueError, match="webhook secret") as caught:
            Settings()
        assert bad not in str(caught.value)


def test_webhook_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().webhook_delays[:3] == [0.0, 5.0, 300.0]
    assert Settings().webhook_delays[-1] == 86400.0 and len(Settings().webhook_delays) == 10
    monkeypatch.setenv("CUTOUT_WEBHOOK_SCHEDULE", "0, 0.5,1")
    assert Settings().webhook_delays == [0.0, 0.5, 1.0]
    for bad in ("", "5,10", "0,-1", "0,soon"):
        monkeypatch.setenv("CUTOUT_WEBHOOK_SCHEDULE", bad)
        with pytest.raises(ValueError, match="webhook_schedule"):
            Settings()
