"""The console without a browser: people and their commands, roles on every route, sessions,
the migration, its settings, and notifications that link to it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bots.clock import FixedClock
from bots.konsol import audit, people
from bots.konsol.app import create_app
from bots.konsol.auth import OPEN_ENDPOINTS
from bots.konsol.roles import NAVIGATION, PERMISSIONS, ROLES
from bots.settings import load_settings
from tests.conftest import DEMO_ENV, run_cli
from tests.stores import bot_runs_env

JKT = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=JKT)
SECRET = "s" * 40
PASSWORD = "kata-sandi-uji-123"


@pytest.fixture
def settings(tmp_path):
    return load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "VAR_DIR": str(tmp_path / "var"), "REPORTS_DIR": str(tmp_path / "reports"), "LOGS_DIR": str(tmp_path / "l"),
        "CONSOLE_SECRET_KEY": SECRET, **bot_runs_env()})


@pytest.fixture(scope="module")
def shared(tmp_path_factory, module_store_env):
    """One console for the module (migrating and hashing take a while on a busy machine)."""
    folder = tmp_path_factory.mktemp("konsol-unit")
    settings = load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "VAR_DIR": str(folder / "var"), "REPORTS_DIR": str(folder / "reports"), "CONSOLE_SECRET_KEY": SECRET,
        **module_store_env})
    clock = FixedClock(NOW)
    app = create_app(settings, clock=clock)
    store = app.extensions["konsol"].store
    for role in ROLES:
        people.add_person(store, role, role, PASSWORD, NOW, "test")
    return app, store, clock


@pytest.fixture
def console(shared):
    app, store, clock = shared
    clock.advance(hours=9)  # every test's sessions and tries start afresh
    return app, store, clock


def login(client, name: str, password: str = PASSWORD):
    page = client.get("/masuk").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/masuk", data={"csrf_token": token, "username": name, "password": password})


def test_every_route_names_its_permission_and_the_navigation_is_the_issues(console):
    app, _, _ = console
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OPEN_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "permission", None) in PERMISSIONS, rule.rule
    assert [label for label, _, _ in NAVIGATION] == ["Ringkasan", "Riwayat Run", "Jalankan", "Eskalasi",
                                                     "Bon / TOP", "Unggah Mutasi", "eSIM", "Komplain",
                                                     "Tindakan Ragu", "Laporan", "Audit"]
    assert all(PERMISSIONS[p] == frozenset(ROLES) or "supervisor" in PERMISSIONS[p] for p in PERMISSIONS)


def test_idle_timeout_is_15_minutes_to_the_second(console):
    app, store, clock = console
    client = app.test_client()
    login(client, "finance")
    clock.advance(minutes=14, seconds=59)
    assert client.get("/eskalasi").status_code == 200
    clock.advance(minutes=15)
    answer = client.get("/eskalasi")
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]
    assert [r.note for r in audit.trail(store, login="finance", action="session_ended")] == ["idle 15 min"]


def test_session_ends_8_hours_after_login_even_when_busy(console):
    app, store, clock = console
    client = app.test_client()
    login(client, "cs")
    for _ in range(32):  # a request every 14 min 59 s: never idle, 7 h 59 min 28 s in all
        clock.advance(minutes=14, seconds=59)
        assert client.get("/ringkasan").status_code == 200
    clock.advance(minutes=14, seconds=59)
    assert client.get("/ringkasan").status_code == 302
    assert [r.note for r in audit.trail(store, login="cs", action="session_ended")] == ["absolute 8 h"]


def test_a_disabled_person_is_logged_out_at_the_next_request_and_cannot_log_in(console):
    app, store, clock = console
    client = app.test_client()
    login(client, "grapari")
    assert client.get("/ringkasan").status_code == 200
    people.disable_person(store, "grapari", NOW, "test")
    assert client.get("/ringkasan").status_code == 302
    assert login(client, "grapari").status_code == 401
    assert [r.action for r in audit.trail(store, login="test")] == ["user_disabled"] + ["user_added"] * 4


def test_cookies_httponly_samesite_and_secure_behind_tls(settings, tmp_path):
    app = create_app(settings, clock=FixedClock(NOW))
    people.add_person(app.extensions["konsol"].store, "ani", "finance", PASSWORD, NOW, "test")
    cookie = login(app.test_client(), "ani").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    tls = load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "VAR_DIR": str(tmp_path / "var"), "CONSOLE_SECRET_KEY": SECRET, "CONSOLE_SECURE_COOKIES": "true",
        "CONSOLE_TRUSTED_PROXIES": "1", **bot_runs_env()})
    secure = create_app(tls, clock=FixedClock(NOW)).test_client()
    answer = login(secure, "ani")
    assert "Secure" in answer.headers["Set-Cookie"]


def test_people_rules(console):
    _, store, _ = console
    from bots.errors import BusinessError

    for login_name, role, password in (("Ani Besar", "cs", PASSWORD), ("ani", "boss", PASSWORD),
                                       ("ani", "cs", "short"), ("cs", "cs", PASSWORD)):
        with pytest.raises(BusinessError):
            people.add_person(store, login_name, role, password, NOW, "test")
    assert people.check_password(store, "cs", PASSWORD).role == "cs"
    assert people.check_password(store, "cs", "wrong-password") is None
    assert people.check_password(store, "nobody", PASSWORD) is None
    from bots.konsol.tables import konsol_users
    import sqlalchemy as sa

    with store.read() as conn:
        hashes = list(conn.execute(sa.select(konsol_users.c.password_hash)).scalars())
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_users_commands(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "BOTS_ENV_FILE": str(DEMO_ENV), "VAR_DIR": str(tmp_path / "var"),
           "LOGS_DIR": str(tmp_path / "logs"), **bot_runs_env()}
    given = subprocess.run([sys.executable, "-m", "bots", "users", "add", "ani.finance", "--role", "finance"],
                           input="rahasia-ani-123\n", capture_output=True, text=True, env=env)
    assert given.returncode == 0 and "password" not in given.stdout
    made = run_cli("users", "add", "budi", "--role", "cs", env=env)
    password = re.search(r"shown once.*: (\S+)$", made.stdout, re.M).group(1)
    assert made.returncode == 0 and len(password) >= 10
    assert run_cli("users", "disable", "budi", env=env).returncode == 0
    listed = run_cli("users", "list", env=env)
    assert re.search(r"budi\s+│\s+cs\s+│\s+tidak", listed.stdout) and "ani.finance" in listed.stdout
    assert password not in listed.stdout


def test_console_without_a_secret_key_exits_2_naming_it(tmp_path):
    import os

    env = {**os.environ, "BOTS_ENV_FILE": str(DEMO_ENV), "VAR_DIR": str(tmp_path / "var"),
           "LOGS_DIR": str(tmp_path / "logs"), **bot_runs_env()}
    done = run_cli("console", "--port", "0", env=env, timeout=60)
    assert done.returncode == 2 and "CONSOLE_SECRET_KEY" in done.stderr


def test_migration_is_safe_twice_and_keeps_its_ids(settings):
    from bots.store import Store

    store = Store(settings.database_url)
    store.migrate()
    assert store.migrate() == []
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "bots/store/migrations")
    revision = ScriptDirectory.from_config(config).get_revision("0008_konsol")
    assert revision.down_revision == "0007_esim_procedure"


class NoAdds:
    """The transaction server as a notification needs it: no manual adds in its balance log."""

    def balance_log(self, note_contains=None):
        return []


class Recorder:
    configured = True

    def __init__(self):
        self.bodies = []

    def send(self, title, body):
        self.bodies.append(body)
        return True


@pytest.mark.store_backends("sqlite")  # the store is not what this is about (PostgreSQL: make test-pg)
@pytest.mark.parametrize("console_url", ["https://konsol.example.co.id", None])
def test_escalation_notification_links_to_the_console_when_it_has_a_url(store, console_url):
    from bots.parsers import Statement, StatementLine
    from bots.reconcile.act import Executor
    from bots.reconcile.ledger import Ledger
    from bots.reconcile.matching import decide

    store.start_run("reconcile_payments", "run-1", NOW)
    ledger = Ledger(store)
    line = StatementLine("bca", "5270418836", NOW.date(), None, "TRSF E-BANKING CR BUDI", Decimal("1000000.00"), "CR",
                         None, False, 7)
    ledger.add(Statement("bca", "5270418836", None, None, [line], "bca-individual", "x.csv"), "x.csv", "run-1", NOW)
    [outcome] = decide(ledger.undecided(), [], set())
    notifier = Recorder()
    Executor(store, ledger, NoAdds(), notifier, "run-1", lambda: NOW, console_url=console_url).carry_out(outcome)
    [body] = notifier.bodies
    number = ledger.escalations()[0].id
    if console_url:
        assert f"{console_url}/eskalasi/{number}" in body and "python -m bots" not in body
    else:
        assert f"python -m bots escalations resolve ESK-{number}" in body


def test_console_url_setting(tmp_path):
    from bots.errors import ConfigError

    settings = load_settings(env_file=DEMO_ENV, environ={}, overrides={"CONSOLE_URL": "https://konsol.example/"})
    assert settings.console_url == "https://konsol.example"
    with pytest.raises(ConfigError) as error:
        load_settings(env_file=DEMO_ENV, environ={}, overrides={"CONSOLE_URL": "konsol"})
    assert error.value.key == "CONSOLE_URL"
    assert SECRET in load_settings(env_file=DEMO_ENV, environ={"CONSOLE_SECRET_KEY": SECRET}).secrets()


def test_money_and_time_words():
    from bots.konsol.format import age, no_personal_data, rupiah, wib

    assert rupiah(1500000) == "Rp 1.500.000" and rupiah(Decimal("300000.50")) == "Rp 300.000,50"
    assert wib(datetime(2026, 11, 23, 2, 15, tzinfo=ZoneInfo("UTC"))) == "23/11/2026 09:15 WIB"
    assert age(NOW - timedelta(days=1, hours=2), NOW) == "1 hari 2 jam"
    assert no_personal_data("NIK 3603124501900001 di sini") == "NIK <16 digit> di sini"


@pytest.mark.parametrize("console_url", ["https://konsol.example.co.id", None])
def test_refund_confirmation_notification_links_to_the_console_esim_page(console_url):
    from types import SimpleNamespace

    from bots.esim.people import People
    from bots.esim.rules import NIK_NOT_IN_DUKCAPIL, Decision

    told = []
    orders = SimpleNamespace(order=lambda order: SimpleNamespace(customer_name="Sari", received=150000))
    People(lambda key, marker, title, body: told.append(body) or True, orders, console_url=console_url).about(
        Decision("PSB-2611-002", NIK_NOT_IN_DUKCAPIL, "NIK tidak ada di Dukcapil"), NOW)
    [body] = told
    if console_url:
        assert f"{console_url}/esim" in body and "python -m bots" not in body
    else:
        assert "python -m bots esim confirm-refund PSB-2611-002" in body


def test_login_goes_back_only_to_a_page_of_the_console(console):
    app, _, _ = console
    for target, expected in (("/eskalasi?kode=X", "/eskalasi?kode=X"), ("//evil.example", "/ringkasan"),
                             ("/\\evil.example", "/ringkasan"), ("https://evil.example", "/ringkasan")):
        client = app.test_client()
        page = client.get("/masuk").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = client.post("/masuk", query_string={"next": target},
                             data={"csrf_token": token, "username": "supervisor", "password": PASSWORD})
        assert answer.headers["Location"] == expected


def test_files_another_host_kept_in_the_store_are_listed_and_served(console, tmp_path):
    """A workbook, a batch and a capture written on host B (another reports folder, the same
    store): the console on this host lists them and sends their bytes; a batch (NIK, KK) still
    only to the roles that may see it."""
    from io import BytesIO

    from openpyxl import Workbook, load_workbook

    from bots.outputs import keep

    app, store, _ = console
    elsewhere = tmp_path / "host-b" / "reports"
    run_id = "20261120-010203-b0b0b0"
    book = elsewhere / "rekonsiliasi" / "rekonsiliasi-2026-11-20.xlsx"
    batch = elsewhere / "esim" / "batch-aktivasi-20261120-01.xlsx"
    for path, text in ((book, "dari host B"), (batch, "batch host B")):
        path.parent.mkdir(parents=True, exist_ok=True)
        made = Workbook()
        made.active.title = "Ringkasan"
        made.active["A1"] = text
        made.save(path)
    shot = elsewhere / "artifacts" / run_id / "01-otomax.png"
    shot.parent.mkdir(parents=True)
    shot.write_bytes(b"\x89PNG\r\n\x1a\n host B")
    (shot.parent / "01-otomax.txt").write_text("otomax tidak menjawab")
    for path in (book, batch, shot, shot.parent / "01-otomax.txt"):
        keep(store, elsewhere, path, now=NOW, run_id=run_id)
    assert not (app.extensions["konsol"].settings.reports_dir / "rekonsiliasi" / book.name).exists()

    client = app.test_client()
    login(client, "finance")
    listing = client.get("/laporan").text
    assert book.name in listing and batch.name not in listing       # personal data: not for finance
    got = client.get(f"/laporan/unduh/rekonsiliasi/{book.name}")
    assert got.status_code == 200
    assert load_workbook(BytesIO(got.data))["Ringkasan"]["A1"].value == "dari host B"
    assert client.get(f"/laporan/unduh/esim/{batch.name}").status_code == 403
    assert client.get("/laporan/unduh/rekonsiliasi/rekonsiliasi-2026-11-19.xlsx").status_code == 404
    captured = client.get(f"/riwayat-run/{run_id}/tangkapan/01-otomax.png")
    assert captured.status_code == 200 and captured.data == shot.read_bytes()
    assert client.get(f"/riwayat-run/{run_id}/tangkapan/..%2F01-otomax.png").status_code == 404

    supervisor = app.test_client()
    login(supervisor, "supervisor")
    sent = supervisor.get(f"/laporan/unduh/esim/{batch.name}")
    assert sent.status_code == 200
    assert load_workbook(BytesIO(sent.data))["Ringkasan"]["A1"].value == "batch host B"
