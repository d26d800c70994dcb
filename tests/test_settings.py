"""Settings: the written precedence, and a bad or missing setting named by its key."""

from __future__ import annotations

import pytest

from bots.errors import ConfigError
from bots.settings import load_settings, portal_prefix
from tests.conftest import DEMO_ENV


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_defaults_toml_env_file_environment_flags(tmp_path):
    config = tmp_path / "config"
    assert load_settings(environ={}, config_dir=config, root=tmp_path).timeout_ms == 15000  # default
    write(config / "bots.toml", "[browser]\ntimeout_ms = 20000\n")
    assert load_settings(environ={}, config_dir=config, root=tmp_path).timeout_ms == 20000
    env_file = write(tmp_path / ".env", "BOTS_TIMEOUT_MS=25000\n")
    assert load_settings(env_file=env_file, environ={}, config_dir=config).timeout_ms == 25000
    environ = {"BOTS_TIMEOUT_MS": "30000"}
    assert load_settings(env_file=env_file, environ=environ, config_dir=config).timeout_ms == 30000
    flags = {"BOTS_TIMEOUT_MS": "35000"}
    assert load_settings(env_file=env_file, environ=environ, config_dir=config, overrides=flags).timeout_ms == 35000


def test_base_url_alone_points_every_portal_and_each_can_be_overridden():
    settings = load_settings(env_file=DEMO_ENV, environ={"OTOMAX_URL": "https://otomax.example.co.id/admin/"})
    assert settings.portal("bank_bca").url == "http://127.0.0.1:8765/bank/bca"
    assert settings.portal("supplier_mitra").url == "http://127.0.0.1:8765/supplier/mitra"
    assert settings.portal("otomax").url == "https://otomax.example.co.id/admin"
    assert portal_prefix("helpdesk") == "/helpdesk"


@pytest.mark.parametrize("environ, key", [
    ({"BOTS_TIMEOUT_MS": "lama"}, "BOTS_TIMEOUT_MS"),
    ({"BOTS_HEADLESS": "mungkin"}, "BOTS_HEADLESS"),
    ({"PORTALS_BASE_URL": "localhost:8765"}, "PORTALS_BASE_URL"),
    ({"DATABASE_URL": "var/bots.sqlite3"}, "DATABASE_URL"),
    ({"BOTS_NOW": "kemarin"}, "BOTS_NOW"),
    ({"BOTS_BROWSER": "/no/such/chrome"}, "BOTS_BROWSER"),
    ({"BOTS_RETRY_ATTEMPTS": "0"}, "BOTS_RETRY_ATTEMPTS"),
    ({"BOTS_ENV_FILE": "/no/such/.env"}, "BOTS_ENV_FILE"),
])
def test_bad_environment_values_name_their_key(environ, key):
    with pytest.raises(ConfigError) as error:
        load_settings(environ=environ)
    assert error.value.key == key and key in str(error.value)


@pytest.mark.parametrize("toml, key", [
    ('[schedule.jobs.portal_check]\nevery = "sometimes"\n', "schedule.jobs.portal_check.every"),
    ('[schedule.jobs.portal_check]\ncron = "99 * * * *"\n', "schedule.jobs.portal_check.cron"),
    ('[schedule.jobs.portal_check]\nevery = "2m"\ncron = "* * * * *"\n', "schedule.jobs.portal_check"),
    ('[schedule]\ntimezone = "Asia/Atlantis"\n', "schedule.timezone"),
    ('[browser]\ntrace = "always"\n', "browser.trace"),
    ("[browser\n", "bad.toml"),
])
def test_bad_toml_values_name_their_key(tmp_path, toml, key):
    write(tmp_path / "bad.toml", toml)
    with pytest.raises(ConfigError) as error:
        load_settings(environ={}, config_dir=tmp_path)
    assert error.value.key == key


def test_missing_credentials_name_the_key():
    settings = load_settings(environ={"PORTALS_BASE_URL": "http://127.0.0.1:1", "OTOMAX_USERNAME": "cs"})
    with pytest.raises(ConfigError) as error:
        settings.portal("otomax")
    assert error.value.key == "OTOMAX_PASSWORD"
    with pytest.raises(ConfigError) as error:
        settings.portal("bank_bri")
    assert error.value.key == "BANK_BRI_USERNAME"
    with pytest.raises(ConfigError) as error:
        load_settings(environ={}).portal("otomax")
    assert error.value.key == "OTOMAX_URL" and "PORTALS_BASE_URL" in str(error.value)


def test_passwords_are_secrets_and_not_in_repr():
    settings = load_settings(env_file=DEMO_ENV, environ={
        "NOTIFY_URLS": "json://finance:Hlp-demo-8253@127.0.0.1:8765/helpdesk/api/messages"})
    assert "Otx-demo-6604" in settings.secrets() and "Hlp-demo-8253" in settings.secrets()
    assert "Otx-demo-6604" not in repr(settings) and "Otx-demo-6604" not in repr(settings.portal("otomax"))


def test_config_shipped_in_the_repo_is_valid():
    settings = load_settings(env_file=DEMO_ENV, environ={})
    assert settings.schedules["reconcile_payments"].every_seconds == 120
    assert settings.schedules["check_pending_tx"].every_seconds == 30
    assert settings.schedules["esim_activation_queue"].cron
    assert settings.timezone == "Asia/Jakarta"
