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
from tests import stores
from tests.postgres import Cluster

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "fixtures" / "world"
DEMO_ENV = ROOT / "config" / "demo.env"

#: The store the suite runs on. "sqlite" (`make test`): SQLite, and the tests that take
#: `store_url` on PostgreSQL too; "postgresql" (`make test-pg`): those on PostgreSQL only, and
#: every bot run that `bot_env` sets up (DATABASE_URL) on the worker's PostgreSQL database,
#: emptied for each test.
#: Read here, once: the autouse fixture below clears BOTS_* for every test.
TEST_DATABASE = os.environ.get("BOTS_TEST_DATABASE", "sqlite")
if TEST_DATABASE not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"BOTS_TEST_DATABASE: expected sqlite or postgresql, got {TEST_DATABASE!r}")
STORE_BACKENDS = ["postgresql"] if TEST_DATABASE == "postgresql" else ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No test sees the developer's own settings."""
    for key in [k for k in os.environ if k.startswith(ENV_PREFIXES)]:
        monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster, started once per session (per xdist worker)."""
    cluster = Cluster()
    why = cluster.unavailable()
    if why and TEST_DATABASE == "postgresql":
        pytest.fail(f"BOTS_TEST_DATABASE=postgresql but {why}")
    if why:
        pytest.skip(why)
    cluster.start()
    yield cluster
    cluster.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "store_backends(*names): the store backends a `store_url` test runs on "
                                       "in `make test` (default both: a long proof may take one); test-pg: PostgreSQL")
    config.addinivalue_line("markers", "sqlite_store: the test is about SQLite's own files (the lock files beside "
                                       "the database): its bot runs keep SQLite in `make test-pg` too")


def pytest_generate_tests(metafunc):
    """A test that takes `store_url` runs once per store backend (only PostgreSQL in test-pg)."""
    marker = metafunc.definition.get_closest_marker("store_backends")
    backends = [b for b in STORE_BACKENDS if marker is None or b in marker.args or TEST_DATABASE == "postgresql"]
    for fixture in ("store_url", "new_store_url"):
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, backends, indirect=True)


@pytest.fixture(scope="session")
def postgres_store(postgres) -> str:
    """One migrated PostgreSQL database per session (per xdist worker), emptied for each test
    that uses it: creating a database takes about a second here, emptying one a few ms."""
    from bots.store import Store

    name = postgres.create_database(prefix="store")
    store = Store(postgres.url(name))
    store.migrate()
    store.dispose()
    return name


@pytest.fixture(scope="module")
def module_store_env(request) -> dict[str, str]:
    """For a module's fixture that keeps one store for all its tests: in `make test-pg`, a
    PostgreSQL database of the module's own as DATABASE_URL (the test's store is emptied before
    each test); in `make test`, nothing (SQLite under the fixture's VAR_DIR)."""
    if TEST_DATABASE != "postgresql":
        return {}
    cluster = request.getfixturevalue("postgres")
    name = cluster.create_database(prefix="module")
    request.addfinalizer(lambda: cluster.drop_database(name))
    return {"DATABASE_URL": cluster.url(name)}


@pytest.fixture(autouse=TEST_DATABASE == "postgresql")
def _bot_runs_on_postgresql(request):
    """`make test-pg`: every test starts with the worker's PostgreSQL store emptied, the one its
    bot runs use (`bot_env`) and `store_url_of(tmp_path)` names."""
    stores.BOT_RUNS_STORE.clear()
    if TEST_DATABASE == "postgresql" and request.node.get_closest_marker("sqlite_store") is None:
        _postgres_database(request)


@pytest.fixture
def store_url(request, tmp_path) -> str:
    """The URL of a store with nothing in it: a new SQLite file under tmp_path, or the session's
    PostgreSQL database, emptied (already migrated: `migrate()` applies nothing there)."""
    if getattr(request, "param", TEST_DATABASE) == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'bots.sqlite3'}"
    return _postgres_database(request)


@pytest.fixture
def new_store_url(request, tmp_path) -> str:
    """Like `store_url`, but never migrated: a new SQLite file, or a new PostgreSQL database."""
    if getattr(request, "param", TEST_DATABASE) == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'bots.sqlite3'}"
    cluster = request.getfixturevalue("postgres")
    name = cluster.create_database()
    request.addfinalizer(lambda: cluster.drop_database(name))
    return cluster.url(name)


@pytest.fixture
def store(store_url):
    """A migrated Store on `store_url` (so on SQLite and on PostgreSQL), disposed after the test."""
    from bots.store import Store

    store = Store(store_url)
    store.migrate()
    yield store
    store.dispose()


_PG_URL = pytest.StashKey[str]()


def _postgres_database(request) -> str:
    """The session's PostgreSQL store, emptied (and migrated) once per test, however many ask."""
    if _PG_URL not in request.node.stash:
        from bots.store import Store

        cluster, name = request.getfixturevalue("postgres"), request.getfixturevalue("postgres_store")
        cluster.empty_database(name)
        store = Store(cluster.url(name))
        store.migrate()  # nothing to do, unless a test dropped the store (a lost store)
        store.dispose()
        request.node.stash[_PG_URL] = cluster.url(name)
        if TEST_DATABASE == "postgresql":
            stores.BOT_RUNS_STORE[:] = [cluster.url(name)]
    return request.node.stash[_PG_URL]


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
def bot_env(tmp_path, suite_logs, request):
    """Environment for a `python -m bots` subprocess: demo credentials, temporary folders (and,
    in `make test-pg`, the worker's PostgreSQL database, emptied for the test, as DATABASE_URL)."""

    def make(world_url: str, portals: tuple[str, ...] | None = None, **extra) -> dict:
        if (TEST_DATABASE == "postgresql" and "DATABASE_URL" not in extra
                and request.node.get_closest_marker("sqlite_store") is None):
            extra["DATABASE_URL"] = _postgres_database(request)
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
