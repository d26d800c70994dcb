"""The mock world's framework: logins, sessions, CSRF, pagination, control API, faults."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from bots.settings import portal_prefix
from tests.conftest import ROOT, Browserless, demo_users


@pytest.mark.parametrize("user", demo_users(), ids=lambda u: u["portal"])
def test_each_portal_demo_user_logs_in(shared_world, user):
    person = Browserless(shared_world.url)
    status, url, html = person.login(portal_prefix(user["portal"]), user["username"], user["password"])
    assert status == 200
    assert url.endswith(portal_prefix(user["portal"]) + "/")
    assert f"Masuk sebagai {user['username']}" in html


def test_wrong_password_is_refused(shared_world):
    status, _, html = Browserless(shared_world.url).login("/otomax", "admin.cs", "salah")
    assert status == 401
    assert "Nama pengguna atau kata sandi salah" in html


def test_pages_need_a_login_and_remember_where_to_go(shared_world):
    person = Browserless(shared_world.url)
    status, url, html = person.open("/otomax/agen")
    assert "/otomax/login?next=" in url and 'type="password"' in html
    _, _, html = person.open(url.replace(shared_world.url, ""))
    _, url, html = person.open(url.replace(shared_world.url, ""), {
        "csrf_token": person.csrf(html), "username": "admin.cs", "password": "Otx-demo-6604"})
    assert url.endswith("/otomax/agen") and "Daftar Agen" in html


def test_sessions_are_separate_per_portal(shared_world):
    person = Browserless(shared_world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    _, url, _ = person.open("/helpdesk/pesan")
    assert "/helpdesk/login" in url
    cookie_paths = {c.path for c in person.jar}
    assert "/otomax/" in cookie_paths


def test_a_post_without_the_csrf_token_is_refused(world):
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    status, _, html = person.open("/otomax/logout", {"csrf_token": "forged"})
    assert status == 400 and "Token formulir tidak valid" in html
    _, url, _ = person.open("/otomax/agen")
    assert url.endswith("/otomax/agen")  # still logged in: the forged POST did nothing


def test_session_idles_out_on_the_world_clock(world):
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    assert world.post("/__mock/clock", {"advance": "16m"})[0] == 200
    _, url, html = person.open("/otomax/agen")
    assert "/otomax/login" in url and "Sesi Anda telah berakhir" in html


def test_forced_session_expiry(world):
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    status, body = world.post("/__mock/faults", {"expire_sessions": True})
    assert status == 200 and body["sessions_ended"] == 1
    _, url, _ = person.open("/otomax/")
    assert "/otomax/login" in url


def test_bank_allows_one_session_per_user(shared_world):
    first, second = Browserless(shared_world.url), Browserless(shared_world.url)
    first.login("/bank/bca", "kasir.bca", "Bca-demo-8841")
    second.login("/bank/bca", "kasir.bca", "Bca-demo-8841")
    _, url, _ = first.open("/bank/bca/")
    assert "/bank/bca/login" in url
    _, url, _ = second.open("/bank/bca/")
    assert url.endswith("/bank/bca/")


def test_agents_listing_paginates_and_shows_rupiah(world):
    rows = [{"agent_id": f"AGX{n:03d}", "name": f"Konter {n}", "phone": "0812000000", "balance": "1500000"}
            for n in range(30)]
    assert world.post("/__mock/rows/agents", rows) == (201, {"added": 30})
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    _, _, html = person.open("/otomax/agen?per_page=10&page=2")
    total = len(world.state()["agents"])
    assert f"Halaman 2 dari {-(-total // 10)} (total {total} data)" in html
    assert "Rp 1.500.000" in html and "Berikutnya" in html and "Sebelumnya" in html


def test_state_lists_every_table(shared_world):
    state = shared_world.state()
    for table in ("portal_users", "agents", "tickets", "transactions", "esim_orders", "balance_log",
                  "complaints", "refund_requests", "helpdesk_messages"):
        assert isinstance(state[table], list)
    assert {"agent_id", "name", "phone", "balance"} <= set(state["agents"][0])


def test_clock_set_and_advance(world):
    status, body = world.post("/__mock/clock", {"set": "2026-11-23T08:00:00+07:00"})
    assert status == 200 and body["now"].startswith("2026-11-23T08:00")
    status, body = world.post("/__mock/clock", {"advance": "90m"})
    assert body["now"].startswith("2026-11-23T09:30")
    assert world.post("/__mock/clock", {"advance": "soon"})[0] == 400


def test_rows_in_seed_format_with_relative_time_and_bad_row(world):
    status, _ = world.post("/__mock/rows/tickets", {
        "ticket_id": "TK900", "agent_id": "AG0001", "amount": "500123", "bank": "BCA",
        "account_no": "5270418836", "created_at": "-3m", "expires_at": "+6h", "status": "open"})
    assert status == 201
    ticket = next(t for t in world.state()["tickets"] if t["ticket_id"] == "TK900")
    assert ticket["bank"] == "bca" and ticket["status"] == "OPEN" and ticket["amount"] == 500123
    status, body = world.post("/__mock/rows/tickets", {
        "ticket_id": "TK901", "agent_id": "AG0001", "amount": "1.500.000", "bank": "bca",
        "account_no": "5270418836", "created_at": "now", "expires_at": "", "status": "OPEN"})
    assert status == 400 and "amount" in body["error"]
    assert world.post("/__mock/rows/nonsense", {})[0] == 404


def test_faults_error_rate_and_maintenance(world):
    world.post("/__mock/faults", {"error_rate": 1.0, "portals": ["otomax"]})
    person = Browserless(world.url)
    assert person.open("/otomax/login")[0] == 500
    assert person.open("/helpdesk/login")[0] == 200  # limited to the named portal
    world.post("/__mock/faults", {"maintenance": True})
    status, _, html = person.open("/helpdesk/login")
    assert status == 503 and "Sedang Pemeliharaan" in html
    world.post("/__mock/faults", {})
    assert person.open("/otomax/login")[0] == 200
    injected = world.get("/__mock/faults")["injected"]
    assert injected["error"] == 1 and injected["maintenance"] == 1


def test_commit_then_drop_connection(world):
    world.post("/__mock/faults", {"drop_rate": 1.0, "portals": ["helpdesk"]})
    request = urllib.request.Request(
        world.url + "/helpdesk/api/messages", data=b'{"title": "Eskalasi", "message": "cek mutasi"}',
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " + __import__("base64").b64encode(b"finance:Hlp-demo-8253").decode()},
        method="POST")
    with pytest.raises((urllib.error.URLError, ConnectionError, __import__("http.client").client.HTTPException)):
        urllib.request.urlopen(request, timeout=10).read()
    messages = world.state()["helpdesk_messages"]
    assert [m["title"] for m in messages] == ["Eskalasi"]  # it happened, though nobody was told
    assert world.get("/__mock/faults")["injected"]["drop_after_commit"] == 1


def test_latency_is_added(world):
    world.post("/__mock/faults", {"latency_ms": 300})
    before = world.get("/__mock/faults")["injected"].get("latency", 0)
    Browserless(world.url).open("/otomax/login")
    faults = world.get("/__mock/faults")
    # counted once per request it delayed (the world's own record, not a stopwatch)
    assert faults["active"]["latency_ms"] == 300 and faults["injected"]["latency"] == before + 1


def test_bad_seed_row_stops_the_world_naming_file_line_and_column(tmp_path):
    (tmp_path / "agents.csv").write_text("agent_id,name,phone,balance\nAG1,Toko,0812,100\nAG2,Toko,0813,Rp 5.000\n")
    done = subprocess.run([sys.executable, "-m", "bots", "portals", "--seed", str(tmp_path), "--port", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "agents.csv, line 3, column 4 (balance)" in done.stderr
    assert "Traceback" not in done.stderr


# -- business faults: notes cut short, actions refused ----------------------------------------------

def _form(person: Browserless, path: str, fields: dict):
    """GET a portal form, then POST it with its CSRF token; (status, url, html)."""
    _, _, html = person.open(path)
    return person.open(path, {"csrf_token": person.csrf(html), **fields})


def _approve(person: Browserless, ticket_id: str):
    _, _, html = person.open(f"/otomax/tiket?q={ticket_id}")
    return person.open(f"/otomax/tiket/{ticket_id}/setujui", {"csrf_token": person.csrf(html)})


def _heading(html: str) -> str:
    import re
    return re.search(r"<h1>([^<]*)</h1>", html).group(1)


def _alert(html: str) -> str:
    import re
    return re.search(r'role="alert">([^<]*)<', html).group(1)


LONG = "BOT:Q7ZK2M9XW4 " + "transfer manual, bukti WA 09:12, dicek oleh finance " * 3


def test_note_limit_cuts_every_free_text_but_the_act_still_happens(world):
    status, body = world.post("/__mock/faults", {"note_limit": 30})
    assert status == 200 and body["active"]["note_limit"] == 30
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    before = next(a["balance"] for a in world.state()["agents"] if a["agent_id"] == "AG0001")
    status, _, html = _form(person, "/otomax/saldo/tambah", {"agent_id": "AG0001", "amount": "50000", "note": LONG})
    assert status == 200 and _heading(html) == "Saldo Ditambahkan"
    person.login("/supplier/mitra", "h2h.travelpulsa", "Mtr-demo-3158")
    status, _, html = _form(person, "/supplier/mitra/komplain",
                            {"trx_id": "TRX0007", "level": "normal", "message": LONG, "reference": "TPNOTE00001"})
    assert status == 200 and _heading(html) == "Komplain Terkirim"
    person.login("/aggregator", "ops.balaraja", "Agg-demo-1189")
    status, _, html = _form(person, "/aggregator/refund/ajukan",
                            {"order_id": "PSB-2611-001", "amount": "175000", "reason": LONG, "reference": "RF-X"})
    assert status == 200 and _heading(html) == "Refund Diajukan"

    state = world.state()
    manual = [r for r in state["balance_log"] if r["kind"] == "MANUAL"]
    assert [(r["agent_id"], r["amount"], r["note"]) for r in manual] == [("AG0001", 50000, LONG[:30])]
    assert next(a["balance"] for a in state["agents"] if a["agent_id"] == "AG0001") == before + 50000
    assert [(c["trx_id"], c["message"], c["reference"]) for c in state["complaints"]] == [
        ("TRX0007", LONG[:30], "TPNOTE00001")]
    assert [(r["order_id"], r["reason"], r["reference"]) for r in state["refund_requests"]] == [
        ("PSB-2611-001", LONG[:30], "RF-X")]
    # the portal's own pages and exports show the cut text, as the bots will read it
    _, _, csv_text = person.open("/aggregator/refund/unduh")
    assert f",{LONG[:30]},RF-X," in csv_text
    assert world.get("/__mock/faults")["injected"]["note_cut"] == 3

    world.post("/__mock/faults", {"note_limit": 30, "portals": ["aggregator"]})  # limited to one portal
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    _form(person, "/otomax/saldo/tambah", {"agent_id": "AG0001", "amount": "1000", "note": LONG})
    assert world.state()["balance_log"][-1]["note"] == LONG.strip()
    world.post("/__mock/faults", {"note_limit": 500})  # a note shorter than the limit is kept whole
    _form(person, "/otomax/saldo/tambah", {"agent_id": "AG0001", "amount": "1000", "note": "pendek"})
    assert world.state()["balance_log"][-1]["note"] == "pendek"
    assert world.get("/__mock/faults")["injected"]["note_cut"] == 3


def test_refuse_rate_refuses_every_act_with_a_business_page_and_changes_nothing(world):
    status, body = world.post("/__mock/faults", {"refuse_rate": 1.0, "seed": 3})
    assert status == 200 and body["active"]["refuse_rate"] == 1.0
    before = world.state()
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    answers = [_approve(person, "DEP-0005"), _approve(person, "DEP-0006")]
    answers.append(_form(person, "/otomax/saldo/tambah", {"agent_id": "AG0001", "amount": "50000", "note": "x"}))
    person.login("/supplier/mitra", "h2h.travelpulsa", "Mtr-demo-3158")
    answers.append(_form(person, "/supplier/mitra/komplain",
                         {"trx_id": "TRX0007", "level": "hard", "message": "cek", "reference": "TPREF0001"}))
    person.login("/aggregator", "ops.balaraja", "Agg-demo-1189")
    answers.append(_form(person, "/aggregator/refund/ajukan",
                         {"order_id": "PSB-2611-001", "amount": "175000", "reason": "NIK", "reference": "RF-1"}))
    for status, _, html in answers:
        assert status in (409, 422), html
        assert _alert(html).strip()  # says why
    headings = [_heading(html) for _, _, html in answers]
    assert set(headings[:2]) <= {"Agen Tidak Ditemukan", "Tiket Ditolak"}
    assert headings[2:] == ["Penambahan Ditolak", "Komplain Ditolak", "Refund Ditolak"]

    after = world.state()
    for table in ("tickets", "agents", "balance_log", "complaints", "refund_requests"):
        assert after[table] == before[table], table
    assert world.get("/__mock/faults")["injected"]["refused"] == 5

    # a refusal is rolled only for an act the portal would do: a bad request keeps its own answer
    status, _, html = _form(person, "/aggregator/refund/ajukan",
                            {"order_id": "NOPE", "amount": "1", "reason": "x", "reference": ""})
    assert status == 404 and _heading(html) == "Pesanan Tidak Ditemukan"
    # limited to the portals named; cleared, everything works again
    world.post("/__mock/faults", {"refuse_rate": 1.0, "portals": ["aggregator"]})
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    status, _, html = _approve(person, "DEP-0005")
    assert status == 200 and _heading(html) == "Tiket Disetujui"
    world.post("/__mock/faults", {})
    person.login("/aggregator", "ops.balaraja", "Agg-demo-1189")
    status, _, html = _form(person, "/aggregator/refund/ajukan",
                            {"order_id": "PSB-2611-001", "amount": "175000", "reason": "NIK", "reference": "RF-1"})
    assert status == 200 and len(world.state()["refund_requests"]) == 1


def test_refuse_rate_refuses_about_its_share(world):
    world.post("/__mock/faults", {"refuse_rate": 0.5, "seed": 11, "portals": ["otomax"]})
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    codes = [_form(person, "/otomax/saldo/tambah", {"agent_id": "AG0002", "amount": "1000", "note": f"n{i}"})[0]
             for i in range(40)]
    added = [r for r in world.state()["balance_log"] if r["kind"] == "MANUAL"]
    assert codes.count(200) == len(added) and codes.count(422) == 40 - len(added)
    assert 8 <= len(added) <= 32
    assert world.get("/__mock/faults")["injected"]["refused"] == 40 - len(added)


def test_business_faults_are_validated(world):
    for bad in ({"refuse_rate": 1.5}, {"refuse_rate": "often"}, {"note_limit": -1}, {"note_limit": 2.5},
                {"note_limit": True}):
        status, body = world.post("/__mock/faults", bad)
        assert status == 400, bad
    status, body = world.post("/__mock/faults", {"nonsense": 1})
    assert status == 400 and "note_limit" in body["error"] and "refuse_rate" in body["error"]
