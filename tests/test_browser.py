"""Browser resolution (DESIGN §7) and page objects driving a real Chromium against the world."""

from __future__ import annotations

import pytest

from bots.browser import SYSTEM_ARGS, BrowserChoice, resolve_browser
from bots.errors import ConfigError, PortalUnavailable
from bots.portals.helpdesk import HelpdeskInbox
from bots.portals.otomax import OtomaxAdmin
from bots.portals.session import PortalBrowser
from bots.settings import load_settings
from tests.conftest import DEMO_ENV
from tests.stores import bot_runs_env


def test_configured_path_wins(tmp_path):
    chrome = tmp_path / "chrome"
    chrome.write_text("")
    choice = resolve_browser(str(chrome), own=lambda: "/elsewhere/chrome")
    assert choice == BrowserChoice(str(chrome), "BOTS_BROWSER")


def test_configured_path_that_does_not_exist_names_the_key(tmp_path):
    with pytest.raises(ConfigError) as error:
        resolve_browser(str(tmp_path / "missing"))
    assert error.value.key == "BOTS_BROWSER"


def test_playwright_own_browser_before_system_ones(tmp_path):
    system = tmp_path / "chromium-headless-shell"
    system.write_text("")
    choice = resolve_browser(None, own=lambda: "/root/.cache/ms-playwright/chrome", candidates=[str(system)])
    assert choice.source == "playwright" and choice.executable is None
    assert "executable_path" not in choice.launch_options()


def test_system_browsers_in_order_with_quiet_flags(tmp_path):
    shell, full = tmp_path / "chromium-headless-shell", tmp_path / "chromium"
    full.write_text("")
    assert resolve_browser(None, own=lambda: None, candidates=[str(shell), str(full)]).executable == str(full)
    shell.write_text("")
    choice = resolve_browser(None, own=lambda: None, candidates=[str(shell), str(full)])
    assert choice.executable == str(shell)
    assert choice.launch_options()["args"] == SYSTEM_ARGS and "--no-sandbox" in SYSTEM_ARGS


def test_no_browser_at_all_says_how_to_get_one():
    with pytest.raises(ConfigError) as error:
        resolve_browser(None, own=lambda: None, candidates=["/nonexistent/chrome"])
    assert "make test" in str(error.value)


@pytest.fixture
def settings(shared_world, tmp_path):
    return load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": shared_world.url, "REPORTS_DIR": str(tmp_path / "reports"),
        "VAR_DIR": str(tmp_path / "var"), "LOGS_DIR": str(tmp_path / "logs"), **bot_runs_env()})


@pytest.mark.browser
def test_logs_in_reads_agents_and_keeps_a_screenshot(settings, shared_world):
    with PortalBrowser(settings, "test-run") as browser:
        otomax = OtomaxAdmin(browser, settings.portal("otomax"))
        agents = otomax.list_agents()
        seeded = {a["agent_id"]: a["balance"] for a in shared_world.state()["agents"]}
        assert {a.agent_id: a.balance for a in agents} == seeded
        assert browser.choice.source in ("playwright", "system", "BOTS_BROWSER")
        folder = browser.capture("otomax", "screenshot for the test")
    shot = folder / "01-otomax.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
    assert "Daftar Agen" in (folder / "01-otomax.html").read_text()


@pytest.mark.browser
def test_logs_in_again_when_the_session_ends(settings, world):
    settings = load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": world.url, "REPORTS_DIR": str(settings.reports_dir)})
    with PortalBrowser(settings, "test-run") as browser:
        inbox = HelpdeskInbox(browser, settings.portal("helpdesk"))
        assert inbox.messages() == []
        world.post("/__mock/faults", {"expire_sessions": True})
        assert inbox.messages() == []  # sent to the login page, logged in again, read again
        assert inbox.logged_in


@pytest.mark.browser
def test_a_portal_in_maintenance_raises_ours_after_retries(settings, world, tmp_path):
    settings = load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": world.url, "REPORTS_DIR": str(tmp_path / "reports")})
    world.post("/__mock/faults", {"maintenance": True})
    with PortalBrowser(settings, "run-x") as browser:
        otomax = OtomaxAdmin(browser, settings.portal("otomax"), attempts=2, backoff_seconds=0, sleep=lambda s: None)
        with pytest.raises(PortalUnavailable) as error:
            otomax.list_agents()
    assert "maintenance" in str(error.value)
    assert list((tmp_path / "reports" / "artifacts" / "run-x").glob("*.png"))


@pytest.mark.browser
def test_a_wrong_password_is_a_setting_error(settings):
    from dataclasses import replace

    with PortalBrowser(settings, "run-y") as browser:
        wrong = replace(settings.portal("otomax"), password="Keliru-9931")
        with pytest.raises(ConfigError) as error:
            OtomaxAdmin(browser, wrong).list_agents()
    assert error.value.key == "OTOMAX_PASSWORD" and "Keliru-9931" not in str(error.value)


@pytest.mark.browser
def test_a_form_whose_answer_is_lost_raises_ours_whoever_calls_submit(settings, tmp_path):
    from tests.conftest import MockWorld

    lost = MockWorld()
    settings = load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": lost.url, "REPORTS_DIR": str(tmp_path / "reports")})
    with PortalBrowser(settings, "run-lost") as browser:
        otomax = OtomaxAdmin(browser, settings.portal("otomax"), attempts=1)
        otomax.open("/saldo/tambah")
        button = otomax.page.get_by_role("button", name="Tambah Saldo")
        lost.stop()  # the server is gone between the form and its answer
        with pytest.raises(PortalUnavailable) as error:
            otomax._submit(button, "adding balance to AG001")  # no _guard around it: still ours
    assert "outcome unknown" in str(error.value)
