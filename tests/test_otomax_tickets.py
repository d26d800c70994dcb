"""Otomax deposit tickets and balance: the mock portal's pages and rules, and the page objects."""

from __future__ import annotations

import re
import shutil
import threading
from datetime import date, datetime
from pathlib import Path

import pytest

from bots.errors import ActionRefused, PortalUnavailable
from bots.portals.otomax import OtomaxAdmin
from bots.portals.session import PortalBrowser
from bots.settings import load_settings
from tests.conftest import DEMO_ENV, WORLD, Browserless, MockWorld
from tests.stores import bot_runs_env

AGENTS = """agent_id,name,phone,balance
AG01,Konter Satu,0811000001,100000
AG02,Konter Dua,0811000002,0
AG03,Konter Tiga,0811000003,50000
"""
# Old tickets at fixed times (date filters); open ones relative to the world's start.
TICKETS = """ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status
T01,AG01,500123,bca,5270418836,2026-01-10T09:00:00+07:00,2026-01-10T15:00:00+07:00,APPROVED
T02,AG02,250087,mandiri,1560007734218,2026-01-12T00:30:00+07:00,2026-01-12T06:30:00+07:00,EXPIRED
T03,AG03,100391,bni,0823417769,2026-01-13T10:00:00+07:00,,CANCELLED
T04,AG01,300214,bri,034201000871562,-5h,-1h,OPEN
T05,AG02,750049,BCA,5270418836,-3h,+3h,OPEN
T06,AG03,1000192,bca,5270418836,-2h,,OPEN
""" + "".join(f"B{n:02d},AG03,{200000 + n},bni,0823417769,-{9 + n}m,+6h,OPEN\n" for n in range(1, 25))
NEWEST_FIRST = [f"B{n:02d}" for n in range(1, 25)] + ["T06", "T05", "T04", "T03", "T02", "T01"]
TICKET_HEADER = "ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status,approved_at"
PASSWORD = "Otx-demo-6604"


def make_world(folder: Path) -> MockWorld:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(WORLD / "portal_users.csv", folder)
    (folder / "agents.csv").write_text(AGENTS, encoding="utf-8")
    (folder / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    return MockWorld(seed=folder)


@pytest.fixture(scope="module")
def quiet_world(tmp_path_factory):
    """For tests that only read, or are refused (and prove nothing changed)."""
    world = make_world(tmp_path_factory.mktemp("otomax-quiet"))
    yield world
    world.stop()


@pytest.fixture
def fresh_world(tmp_path):
    world = make_world(tmp_path / "world")
    yield world
    world.stop()


def admin(world: MockWorld) -> tuple[Browserless, str]:
    """A logged-in admin and their session's form token."""
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", PASSWORD)
    return person, person.csrf(person.open("/otomax/saldo/tambah")[2])


def table(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return [r for r in rows if len(r) > 1]


def download(person: Browserless, path: str) -> tuple[dict, str]:
    with person.opener.open(person.base + path, timeout=10) as answer:
        return dict(answer.headers), answer.read().decode()


def balances(world: MockWorld) -> dict[str, int]:
    return {a["agent_id"]: a["balance"] for a in world.state()["agents"]}


# -- the portal over HTTP -----------------------------------------------------------------------------

def test_ticket_list_filters_and_shows_bank_rupiah_and_expiry(quiet_world):
    person, _ = admin(quiet_world)
    _, _, html = person.open("/otomax/tiket?status=OPEN&bank=bca")
    rows = table(html)
    assert [r[0] for r in rows] == ["T06", "T05"]
    assert rows[1][:5] == ["T05", "AG02", "Rp 750.049", "BCA", "5270418836"]
    assert rows[1][6].endswith(" WIB") and rows[0][6] == ""  # T06 has no expiry
    assert [r[-1] for r in rows] == ["Setujui", "Setujui"]
    assert 'href="/otomax/tiket/unduh?status=OPEN&amp;bank=bca"' in html
    # OPEN but past its expiry: shown EXPIRED, without a button
    _, _, html = person.open("/otomax/tiket?q=t0")
    shown = {r[0]: (r[7], r[-1]) for r in table(html)}
    assert shown == {"T06": ("OPEN", "Setujui"), "T05": ("OPEN", "Setujui"), "T04": ("EXPIRED", ""),
                     "T03": ("CANCELLED", ""), "T02": ("EXPIRED", ""), "T01": ("APPROVED", "")}
    assert [r[0] for r in table(person.open("/otomax/tiket?q=ag02")[2])] == ["T05", "T02"]
    # dates are WIB dates: 00:30 WIB on the 12th is still the 11th in UTC
    assert [r[0] for r in table(person.open("/otomax/tiket?dari=2026-01-12&sampai=2026-01-12")[2])] == ["T02"]
    assert [r[0] for r in table(person.open("/otomax/tiket?sampai=2026-01-11")[2])] == ["T01"]
    assert person.open("/otomax/tiket?dari=kemarin")[0] == 400


def test_ticket_list_paginates_newest_first(quiet_world):
    person, _ = admin(quiet_world)
    seen = []
    for number in (1, 2, 3):
        _, _, html = person.open(f"/otomax/tiket?per_page=10&page={number}")
        assert f"Halaman {number} dari 3 (total 30 data)" in html
        seen += [r[0] for r in table(html)]
    assert seen == NEWEST_FIRST
    assert "Berikutnya" not in html and "Sebelumnya" in html


def test_ticket_export_is_every_matching_row_as_csv(quiet_world):
    person, _ = admin(quiet_world)
    headers, text = download(person, "/otomax/tiket/unduh")
    assert headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith('attachment; filename="tiket-deposit-')
    lines = text.splitlines()
    assert lines[0] == TICKET_HEADER and len(lines) == 31  # no pagination
    assert [line.split(",")[0] for line in lines[1:]] == NEWEST_FIRST
    assert lines[-1] == ("T01,AG01,500123,bca,5270418836,2026-01-10T09:00:00+07:00,"
                         "2026-01-10T15:00:00+07:00,APPROVED,")
    assert lines[-3] == "T03,AG03,100391,bni,0823417769,2026-01-13T10:00:00+07:00,,CANCELLED,"
    seeded = next(t for t in quiet_world.state()["tickets"] if t["ticket_id"] == "T05")
    t05 = next(line for line in lines if line.startswith("T05,")).split(",")
    assert t05[:5] == ["T05", "AG02", "750049", "bca", "5270418836"] and t05[7:] == ["OPEN", ""]
    seeded_at = datetime.fromisoformat(seeded["created_at"]).replace(microsecond=0)
    assert datetime.fromisoformat(t05[5]) == seeded_at and t05[5].endswith("+07:00")
    _, text = download(person, "/otomax/tiket/unduh?status=EXPIRED&per_page=10")
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["T04", "T02"]


def test_export_needs_a_login(quiet_world):
    status, url, html = Browserless(quiet_world.url).open("/otomax/tiket/unduh")
    assert "/otomax/login" in url and 'type="password"' in html


def test_approval_is_refused_for_tickets_not_open(quiet_world):
    person, token = admin(quiet_world)
    before = balances(quiet_world)
    for ticket, heading in [("T01", "Tiket Sudah Diproses"), ("T02", "Tiket Kedaluwarsa"),
                            ("T04", "Tiket Kedaluwarsa"), ("T03", "Tiket Dibatalkan")]:
        status, _, html = person.open(f"/otomax/tiket/{ticket}/setujui", {"csrf_token": token})
        assert (status, f"<h1>{heading}</h1>" in html) == (409, True), ticket
    status, _, html = person.open("/otomax/tiket/T99/setujui", {"csrf_token": token})
    assert status == 404 and "Tiket Tidak Ditemukan" in html
    state = quiet_world.state()
    assert balances(quiet_world) == before and state["balance_log"] == []
    assert {t["ticket_id"]: t["status"] for t in state["tickets"]}["T04"] == "OPEN"  # the seed is kept


def test_forms_need_the_session_token(quiet_world):
    person, _ = admin(quiet_world)
    for path, form in [("/otomax/tiket/T05/setujui", {}),
                       ("/otomax/tiket/T05/setujui", {"csrf_token": "forged"}),
                       ("/otomax/saldo/tambah", {"agent_id": "AG01", "amount": "1000", "note": "x"})]:
        status, _, html = person.open(path, form)
        assert status == 400 and "Token formulir tidak valid" in html
    assert quiet_world.state()["balance_log"] == []


@pytest.mark.parametrize("form, status, text", [
    ({"agent_id": "AG99", "amount": "1000", "note": "x"}, 404, "Agen Tidak Ditemukan"),
    ({"agent_id": "AG01", "amount": "0", "note": "x"}, 400, "Nominal &#39;0&#39; tidak valid"),
    ({"agent_id": "AG01", "amount": "-500", "note": "x"}, 400, "Data Tidak Valid"),
    ({"agent_id": "AG01", "amount": "500,5", "note": "x"}, 400, "Data Tidak Valid"),
    ({"agent_id": "AG01", "amount": "5.00", "note": "x"}, 400, "Data Tidak Valid"),
    ({"agent_id": "AG01", "amount": "Rp 5.000", "note": "x"}, 400, "Data Tidak Valid"),
    ({"agent_id": "AG01", "amount": "5000", "note": "  "}, 400, "Keterangan wajib diisi"),
], ids=["agent", "zero", "negative", "comma", "cents", "rp", "note"])
def test_manual_add_validation(quiet_world, form, status, text):
    person, token = admin(quiet_world)
    answer, _, html = person.open("/otomax/saldo/tambah", {"csrf_token": token, **form})
    assert answer == status and text in html
    assert quiet_world.state()["balance_log"] == []


def test_approve_credits_once_even_when_clicked_together(fresh_world):
    person, token = admin(fresh_world)
    status, _, html = person.open("/otomax/tiket/T05/setujui", {"csrf_token": token})
    assert status == 200 and "<h1>Tiket Disetujui</h1>" in html
    assert "T05" in html and "AG02" in html and "Rp 750.049" in html and "Saldo baru: Rp 750.049" in html
    status, _, html = person.open("/otomax/tiket/T05/setujui", {"csrf_token": token})
    assert status == 409 and "Tiket Sudah Diproses" in html

    answers = []
    threads = [threading.Thread(target=lambda: answers.append(
        person.open("/otomax/tiket/T06/setujui", {"csrf_token": token})[0])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] + [409] * 7

    state = fresh_world.state()
    assert balances(fresh_world) == {"AG01": 100000, "AG02": 750049, "AG03": 50000 + 1000192}
    log = [{k: v for k, v in r.items() if k != "created_at"} for r in state["balance_log"]]
    assert log == [{"agent_id": "AG02", "amount": 750049, "kind": "DEPOSIT", "ticket_id": "T05",
                    "note": "Deposit tiket T05"},
                   {"agent_id": "AG03", "amount": 1000192, "kind": "DEPOSIT", "ticket_id": "T06",
                    "note": "Deposit tiket T06"}]
    t05 = next(t for t in state["tickets"] if t["ticket_id"] == "T05")
    assert t05["status"] == "APPROVED" and t05["approved_at"] == state["balance_log"][0]["created_at"]
    _, text = download(person, "/otomax/tiket/unduh?q=T05")
    assert text.splitlines()[1].endswith(",APPROVED," + t05["approved_at"][:19] + "+07:00")
    # the world's clock passes B01's expiry: no longer approvable
    fresh_world.post("/__mock/clock", {"advance": "7h"})
    person, token = admin(fresh_world)  # the session idled out meanwhile
    status, _, html = person.open("/otomax/tiket/B01/setujui", {"csrf_token": token})
    assert status == 409 and "Tiket Kedaluwarsa" in html


def test_manual_add_adds_every_time_and_is_logged(fresh_world):
    person, token = admin(fresh_world)
    form = {"csrf_token": token, "agent_id": "AG01", "amount": "500.123", "note": "BOT:k1 koreksi"}
    for expected in ("Rp 600.123", "Rp 1.100.246"):
        status, _, html = person.open("/otomax/saldo/tambah", form)
        assert status == 200 and "<h1>Saldo Ditambahkan</h1>" in html and f"Saldo baru: {expected}" in html
    person.open("/otomax/saldo/tambah", {**form, "agent_id": "AG02", "amount": "7000", "note": "lain"})
    assert balances(fresh_world)["AG01"] == 100000 + 2 * 500123
    log = fresh_world.state()["balance_log"]
    assert [(r["agent_id"], r["amount"], r["kind"], r["ticket_id"], r["note"]) for r in log] == [
        ("AG01", 500123, "MANUAL", None, "BOT:k1 koreksi")] * 2 + [("AG02", 7000, "MANUAL", None, "lain")]

    _, _, html = person.open("/otomax/saldo/riwayat?agen=ag01&q=bot:K1")
    assert [r[1:] for r in table(html)] == [["AG01", "MANUAL", "Rp 500.123", "", "BOT:k1 koreksi"]] * 2
    assert 'href="/otomax/saldo/riwayat/unduh?agen=ag01&amp;q=bot%3AK1"' in html
    headers, text = download(person, "/otomax/saldo/riwayat/unduh")
    assert headers["Content-Type"].startswith("text/csv")
    lines = text.splitlines()
    assert lines[0] == "agent_id,amount,kind,ticket_id,note,created_at"
    assert [line.rsplit(",", 1)[0] for line in lines[1:]] == [  # newest first
        "AG02,7000,MANUAL,,lain", "AG01,500123,MANUAL,,BOT:k1 koreksi", "AG01,500123,MANUAL,,BOT:k1 koreksi"]
    assert all(line.endswith("+07:00") for line in lines[1:])


# -- the page objects in a real browser ------------------------------------------------------------------

def settings_for(world: MockWorld, tmp_path: Path):
    return load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": world.url, "REPORTS_DIR": str(tmp_path / "reports"),
        "VAR_DIR": str(tmp_path / "var"), "LOGS_DIR": str(tmp_path / "logs"), **bot_runs_env()})


@pytest.fixture
def otomax(fresh_world, tmp_path):
    settings = settings_for(fresh_world, tmp_path)
    with PortalBrowser(settings, "test-otomax") as browser:
        yield OtomaxAdmin(browser, settings.portal("otomax"), backoff_seconds=0, sleep=lambda s: None)


@pytest.mark.browser
def test_bot_reads_tickets_and_approves_once(otomax, fresh_world):
    tickets = otomax.tickets()
    assert [t.ticket_id for t in tickets] == NEWEST_FIRST
    t05 = otomax.ticket("T05")
    assert (t05.agent_id, t05.amount, t05.bank, t05.account_no, t05.status, t05.approved_at) == (
        "AG02", 750049, "bca", "5270418836", "OPEN", None)
    assert t05.created_at.utcoffset().total_seconds() == 7 * 3600 and t05.expires_at > t05.created_at
    assert otomax.ticket("T06").expires_at is None and otomax.ticket("T9") is None
    assert [t.ticket_id for t in otomax.tickets(since=date(2026, 1, 12), status="EXPIRED")] == ["T04", "T02"]

    first = otomax.approve_ticket("T05")
    assert first.outcome == "approved" and "Saldo baru: Rp 750.049" in first.message
    assert otomax.approve_ticket("T05").outcome == "already_processed"
    outcomes = [otomax.approve_ticket(t).outcome for t in ("T03", "T04", "T9")]
    assert outcomes == ["cancelled", "expired", "not_found"]
    approved = otomax.ticket("T05")
    assert approved.status == "APPROVED" and approved.approved_at is not None

    # another operator approves T06 between the bot reading the list and clicking "Setujui"
    person, token = admin(fresh_world)
    read_table = otomax.read_table

    def read_then_someone_approves(name):
        rows = read_table(name)
        person.open("/otomax/tiket/T06/setujui", {"csrf_token": token})
        return rows

    otomax.read_table = read_then_someone_approves
    late = otomax.approve_ticket("T06")
    assert late.outcome == "already_processed" and "sudah disetujui" in late.message
    log = fresh_world.state()["balance_log"]
    assert [(r["ticket_id"], r["amount"]) for r in log] == [("T05", 750049), ("T06", 1000192)]


@pytest.mark.browser
def test_bot_adds_balance_and_finds_its_marker(otomax, fresh_world):
    assert otomax.balance_log(note_contains="BOT:x") == []
    assert otomax.add_balance("AG01", 25000, "BOT:x koreksi saldo") == 125000
    assert otomax.add_balance("AG01", 1000, "BOT:y lain") == 126000
    found = otomax.balance_log(note_contains="BOT:x")
    assert [(e.agent_id, e.amount, e.kind, e.ticket_id, e.note) for e in found] == [
        ("AG01", 25000, "MANUAL", None, "BOT:x koreksi saldo")]
    assert found[0].created_at.tzinfo is not None
    assert [e.note for e in otomax.balance_log(agent_id="AG01")] == ["BOT:y lain", "BOT:x koreksi saldo"]
    assert otomax.balance_log(note_contains="bot:x") == []  # a marker is matched exactly
    with pytest.raises(ActionRefused, match="Agen Tidak Ditemukan: Agen AG99 tidak terdaftar"):
        otomax.add_balance("AG99", 1000, "BOT:z")
    with pytest.raises(ActionRefused, match="Keterangan wajib diisi"):
        otomax.add_balance("AG01", 1000, "")
    assert balances(fresh_world)["AG01"] == 126000


@pytest.mark.browser
def test_reads_log_in_again_when_the_session_ends_and_give_up_in_maintenance(otomax, fresh_world):
    logins = []
    login = otomax.login
    otomax.login = lambda: (logins.append(1), login())[1]
    assert len(otomax.tickets()) == 30 and len(logins) == 1
    fresh_world.post("/__mock/faults", {"expire_sessions": True})
    assert len(otomax.tickets(status="OPEN")) == 26  # the export answered with the login page
    assert len(logins) == 2 and otomax.logged_in
    fresh_world.post("/__mock/faults", {"expire_sessions": True})
    assert otomax.balance_log() == [] and len(logins) == 3
    fresh_world.post("/__mock/faults", {"maintenance": True})
    with pytest.raises(PortalUnavailable, match="503"):
        otomax.tickets()
    assert fresh_world.get("/__mock/faults")["injected"]["maintenance"] == 3  # one per attempt


@pytest.mark.browser
def test_a_lost_answer_after_the_click_is_unknown_not_guessed(otomax, fresh_world):
    assert otomax.ticket("T05").status == "OPEN"  # logged in before the faults start
    fresh_world.post("/__mock/faults", {"drop_rate": 1.0, "portals": ["otomax"]})
    with pytest.raises(PortalUnavailable, match="outcome unknown"):
        otomax.approve_ticket("T05")
    with pytest.raises(PortalUnavailable, match="outcome unknown"):
        otomax.add_balance("AG01", 5000, "BOT:drop")
    state = fresh_world.state()
    assert [(r["ticket_id"], r["note"]) for r in state["balance_log"]] == [
        ("T05", "Deposit tiket T05"), (None, "BOT:drop")]  # each done exactly once
    assert next(t for t in state["tickets"] if t["ticket_id"] == "T05")["status"] == "APPROVED"
    assert fresh_world.get("/__mock/faults")["injected"]["drop_after_commit"] == 2
    fresh_world.post("/__mock/faults", {})
    # what the caller does next: read the portal
    assert otomax.ticket("T05").status == "APPROVED"
    assert len(otomax.balance_log(note_contains="BOT:drop")) == 1
