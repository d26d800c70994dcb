"""Shared fixtures: a real mock world on port 0, clean settings, temporary folders."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bots.settings import ENV_PREFIXES
from mock_portals.process import WorldProcess

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "fixtures" / "world"
DEMO_ENV = ROOT / "config" / "demo.env"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No test sees the developer's own settings."""
    for key in [k for k in os.environ if k.startswith(ENV_PREFIXES)]:
        monkeypatch.delenv(key)


def suite_logs_dir(basetemp: Path) -> Path:
    """One folder for every log the suite's runs write, shared by all xdist workers."""
    root = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    return root / "suite-logs"


@pytest.fixture(scope="session")
def suite_logs(tmp_path_factory) -> Path:
    """Every log the suite's bot runs write; the leak check reads them all at the end."""
    folder = suite_logs_dir(tmp_path_factory.getbasetemp())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pytest_sessionfinish(session, exitstatus):
    """After the whole suite (all workers): no demo password or token and no NIK/KK in any log,
    nor in anything a run wrote under a reports folder (activation batch workbooks aside)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller checks, once every worker has finished
    from tests.leaks import find_leaks, find_report_leaks, reports_folders

    # The controller's basetemp holds every worker's (popen-gwN), and each test's REPORTS_DIR.
    basetemp = session.config._tmp_path_factory.getbasetemp()
    found = find_leaks([suite_logs_dir(basetemp), ROOT / "logs"])
    found += find_report_leaks(reports_folders(basetemp) + [ROOT / "reports"])
    if found:
        session.config.get_terminal_writer().line("LEAKS in logs or reports: " + "; ".join(found), red=True)
        session.exitstatus = 1


class MockWorld(WorldProcess):
    """A mock world in its own process (`python -m bots portals --port 0`)."""

    def __init__(self, seed: Path = WORLD, extra_env: dict | None = None):
        super().__init__(seed, extra_env)


@pytest.fixture(scope="session")
def shared_world():
    """One world for tests that only read it."""
    world = MockWorld()
    yield world
    world.stop()


@pytest.fixture
def world():
    """A fresh world for a test that changes it (clock, faults, rows)."""
    world = MockWorld()
    yield world
    world.stop()


@pytest.fixture
def bot_env(tmp_path, suite_logs):
    """Environment for a `python -m bots` subprocess: demo credentials, temporary folders."""

    def make(world_url: str, portals: tuple[str, ...] | None = None, **extra) -> dict:
        env_file = DEMO_ENV
        if portals:  # only these portals' credentials: a portal check of two portals is quick
            env_file = tmp_path / "portals.env"
            prefixes = tuple(key.upper() + "_" for key in portals)
            env_file.write_text("".join(line + "\n" for line in DEMO_ENV.read_text().splitlines()
                                        if line.startswith(prefixes)))
        return {**os.environ, "BOTS_ENV_FILE": str(env_file), "PORTALS_BASE_URL": world_url,
                "VAR_DIR": str(tmp_path / "var"), "REPORTS_DIR": str(tmp_path / "reports"),
                "LOGS_DIR": str(suite_logs), "BOTS_RETRY_ATTEMPTS": "2", **extra}

    return make


def run_cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bots", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


class Browserless:
    """A person with a cookie jar: logs into a portal over plain HTTP (for portal tests)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            answer = self.opener.open(self.base + path, body, timeout=10)
            return answer.status, answer.geturl(), answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode()

    def csrf(self, html: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def login(self, prefix: str, username: str, password: str):
        _, _, html = self.open(f"{prefix}/login")
        return self.open(f"{prefix}/login", {"csrf_token": self.csrf(html), "username": username,
                                             "password": password})


def demo_users() -> list[dict]:
    import csv

    with open(WORLD / "portal_users.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
