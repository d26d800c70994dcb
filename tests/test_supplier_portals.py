"""Supplier portals and Otomax's transaction report: mock pages, rules and page objects."""

from __future__ import annotations

import csv
import io
import re
import shutil
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from bots.errors import ActionRefused, PortalUnavailable
from bots.portals.otomax_reports import OtomaxReports
from bots.portals.session import PortalBrowser
from bots.portals.supplier import SupplierPortal, normalise_status, real_sn, sn_in_reply
from bots.settings import load_settings
from mock_portals.framework import Portal
from mock_portals.portals.otomax_transactions import add_transaction_pages
from mock_portals.portals.supplier import RESOLVE_DELAY, STYLES, profile_for
from mock_portals.world import World
from tests.conftest import DEMO_ENV, WORLD, Browserless, MockWorld
from tests.stores import bot_runs_env

# mitra: Sukses/Proses/Gagal; sinar: SUCCESS/PENDING/FAILED with "-" for no SN; kilat has no
# profile and hashes to BERHASIL/DIPROSES/GAGAL. Old rows at fixed times, the rest relative.
TRANSACTIONS = """trx_id,agent_id,product,destination,price,supplier,created_at,status,sn
M1,AG01,S10,081298765431,10350,mitra,2026-01-10T09:00:00+07:00,SUKSES,0144700123456789
M2,AG02,S25,081310554872,25350,mitra,-20m,PENDING,
M3,AG01,I10,085780112233,10450,mitra,-19m,PENDING,
M4,AG03,X50,087788123456,49900,mitra,-18m,PENDING,
M5,AG02,T20,089612004455,20300,mitra,2026-01-12T00:30:00+07:00,GAGAL,
M6,AG03,S10,081355667788,10350,mitra,-10m,PENDING,
M7,AG01,S50,081377889900,49850,mitra,-9m,PENDING,
S1,AG01,AX25,083899001122,25500,sinar,-2h,SUKSES,9821003344556677
S2,AG02,I25,085611223344,25200,sinar,-1h,GAGAL,error_require_login
S3,AG03,X10,087812340987,10600,sinar,-5m,PENDING,
K1,AG01,PLN20,32114455667,20700,kilat,-3h,SUKSES,5732-1984-0021-7765-3310
K2,AG02,DANA50,081290901212,50900,kilat,-4m,PENDING,
"""
BEHAVIOUR = """trx_id,resolves_after,final_status,sn
M2,complaint,SUKSES,0144700255501234
M3,hard_complaint,GAGAL,
M4,never,,
M7,complaint,SUKSES,
S3,complaint,GAGAL,Nomor tujuan salah
"""
AGENT_COMPLAINTS = """complaint_id,trx_id,reported_at,kind,note
KA1,M1,2026-01-10T10:00:00+07:00,PRODUCT_NOT_RECEIVED,Trx S10 ke 081298765431 pulsa belum masuk
KA2,S1,-90m,WRONG_NUMBER,"Salah ketik nomor, seharusnya 083899001123"
"""
MITRA = ("/supplier/mitra", "h2h.travelpulsa", "Mtr-demo-3158")
SINAR = ("/supplier/sinar", "h2h.travelpulsa", "Snr-demo-9072")
KILAT = ("/supplier/kilat", "h2h.kilat", "Klt-demo-4410")
STATUS_HEADER = "trx_id,product,destination,status,sn,updated_at"
HISTORY_HEADER = "reference,trx_id,level,message,created_at,reply"


def write_world(folder: Path, transactions: str = TRANSACTIONS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(WORLD / "portal_users.csv", folder)
    with open(folder / "portal_users.csv", "a", encoding="utf-8") as users:
        users.write("supplier_kilat,h2h.kilat,Klt-demo-4410\n")
    (folder / "transactions.csv").write_text(transactions, encoding="utf-8")
    (folder / "supplier_behaviour.csv").write_text(BEHAVIOUR, encoding="utf-8")
    (folder / "agent_complaints.csv").write_text(AGENT_COMPLAINTS, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def quiet_world(tmp_path_factory):
    """For tests that only read, or are refused (and prove nothing changed)."""
    world = MockWorld(seed=write_world(tmp_path_factory.mktemp("suppliers-quiet")))
    yield world
    world.stop()


@pytest.fixture
def fresh_world(tmp_path):
    world = MockWorld(seed=write_world(tmp_path / "world"))
    yield world
    world.stop()


def supplier(world: MockWorld, who=MITRA) -> tuple[Browserless, str]:
    """A logged-in supplier account and its session's form token."""
    person = Browserless(world.url)
    person.login(*who)
    return person, person.csrf(person.open(who[0] + "/komplain")[2])


def table(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return [r for r in rows if len(r) > 1]


def csv_rows(person: Browserless, path: str) -> list[list[str]]:
    status, _, text = person.open(path)
    assert status == 200, text[:200]
    return list(csv.reader(io.StringIO(text, newline="")))


def complain(person: Browserless, token: str, trx_id: str, level: str, reference: str,
             prefix: str = "/supplier/mitra"):
    return person.open(prefix + "/komplain", {"csrf_token": token, "trx_id": trx_id, "level": level,
                                              "message": f"mohon cek {trx_id}", "reference": reference})


# -- pure helpers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("Sukses", "SUKSES"), ("SUCCESS", "SUKSES"), ("berhasil", "SUKSES"), ("Proses", "PENDING"),
    ("DIPROSES", "PENDING"), ("Processing", "PENDING"), (" Validasi  Provider ", "PENDING"),
    ("PENDING", "PENDING"), ("Gagal", "GAGAL"), ("FAILED", "GAGAL")])
def test_normalise_status(raw, expected):
    assert normalise_status(raw) == expected


@pytest.mark.parametrize("raw", ["Sukses Sebagian", "", "00"])
def test_an_unknown_status_word_is_refused_not_guessed(raw):
    with pytest.raises(ValueError, match="unknown supplier status"):
        normalise_status(raw)


@pytest.mark.parametrize("text, expected", [
    ("0144700123456789", "0144700123456789"), (" 9821003344556677 ", "9821003344556677"),
    ("5732-1984-0021-7765-3310", "5732-1984-0021-7765-3310"), ("SN:0144700123456789", "0144700123456789"),
    ("R2X9K7Q4M1", "R2X9K7Q4M1"), ("error_require_login", None), ("Nomor tujuan salah", None),
    ("-", None), ("", None), (None, None), ("1234567", None), ("DIPROSES", None), ("GAGAL12345", None),
    ("0144 7001 2345", None)])
def test_real_sn(text, expected):
    assert real_sn(text) == expected


@pytest.mark.parametrize("reply, expected", [
    ("Sudah sukses SN 0144700255501234", "0144700255501234"),
    ("sukses, sn:5512-3344-7788-9900 token PLN", "5512-3344-7788-9900"),
    ("Sedang kami cek ke operator", None),
    ("SN error_require_login", None),
    ("", None), (None, None),
])
def test_an_sn_in_a_complaint_reply(reply, expected):
    assert sn_in_reply(reply) == expected


def test_a_sukses_transaction_with_a_behaviour_row_is_still_checked_until_it_resolves():
    from mock_portals.portals.supplier import reply_to

    trx = {"trx_id": "P1", "status": "SUKSES", "sn": "0144700255501234"}
    complaint = {"level": "normal"}
    assert reply_to(complaint, trx) == "Sudah sukses SN 0144700255501234"  # no row: the SN it has
    assert reply_to(complaint, trx, {"resolves_after": "never"}) == "Sedang kami cek ke operator"
    assert reply_to(complaint, {**trx, "resolved_at": 1}, {"resolves_after": "complaint"}).startswith("Sudah sukses")


def test_unknown_supplier_codes_get_a_stable_style():
    assert profile_for("kilat") is profile_for("KILAT") is STYLES[2]
    assert profile_for("mitra").words["PENDING"] == "Proses" and profile_for("sinar").empty_sn == "-"


# -- supplier portals over HTTP ----------------------------------------------------------------------

def test_each_supplier_speaks_its_own_words_in_its_export(quiet_world):
    expected = {
        MITRA: [("M7", "Proses", ""), ("M6", "Proses", ""), ("M4", "Proses", ""), ("M3", "Proses", ""),
                ("M2", "Proses", ""), ("M5", "Gagal", "Nomor tujuan salah"),
                ("M1", "Sukses", "0144700123456789")],
        SINAR: [("S3", "PENDING", "-"), ("S2", "FAILED", "error_require_login"),
                ("S1", "SUCCESS", "9821003344556677")],
        KILAT: [("K2", "DIPROSES", ""), ("K1", "BERHASIL", "5732-1984-0021-7765-3310")],
    }
    for who, rows in expected.items():
        person = Browserless(quiet_world.url)
        person.login(*who)
        lines = csv_rows(person, who[0] + "/transaksi/unduh")
        assert ",".join(lines[0]) == STATUS_HEADER
        assert [(r[0], r[3], r[4]) for r in lines[1:]] == rows  # newest first, only its own
        assert all(r[5].endswith("+07:00") for r in lines[1:])
    assert [r[0] for r in csv_rows(person, KILAT[0] + "/transaksi/unduh?status=berhasil")[1:]] == ["K1"]


def test_status_page_listing_and_filters(quiet_world):
    person, _ = supplier(quiet_world, SINAR)
    status, _, html = person.open("/supplier/sinar/status?trx_id=S2")
    assert status == 200 and 'aria-label="Status Transaksi"' in html
    assert table(html) == [["S2", "I25", "085611223344", "FAILED", "error_require_login",
                            "Transaksi gagal, saldo dikembalikan"]]
    status, _, html = person.open("/supplier/sinar/status?trx_id=M1")  # another supplier's
    assert status == 404 and "Transaksi M1 tidak ditemukan" in html
    person, _ = supplier(quiet_world, MITRA)
    _, _, html = person.open("/supplier/mitra/transaksi?status=Proses&per_page=10&page=1")
    assert [r[0] for r in table(html)] == ["M7", "M6", "M4", "M3", "M2"]
    assert "Halaman 1 dari 1 (total 5 data)" in html
    assert 'href="/supplier/mitra/transaksi/unduh?status=Proses"' in html
    _, _, html = person.open("/supplier/mitra/transaksi?q=0812987")
    assert table(html) == [["M1", "S10", "081298765431", "Sukses", "0144700123456789", "Transaksi sukses"]]
    _, url, html = Browserless(quiet_world.url).open("/supplier/mitra/transaksi/unduh")
    assert "/supplier/mitra/login" in url and 'type="password"' in html


def test_complaints_that_are_refused_record_nothing(quiet_world):
    person, token = supplier(quiet_world)
    status, _, html = complain(person, token, "S1", "normal", "R-x")  # sinar's, not mitra's
    assert status == 404 and "<h1>Transaksi Tidak Ditemukan</h1>" in html
    assert complain(person, token, "M2", "urgent", "R-x")[0] == 400
    assert person.open("/supplier/mitra/komplain", {"csrf_token": token, "trx_id": "M2", "level": "hard",
                                                    "message": " "})[0] == 400
    status, _, html = complain(person, "forged", "M2", "normal", "R-x")
    assert status == 400 and "Token formulir tidak valid" in html
    assert quiet_world.state()["complaints"] == []


def test_complaints_resolve_after_the_delay_as_the_behaviour_says(fresh_world):
    person, token = supplier(fresh_world)
    for trx in ("M2", "M3", "M4", "M6"):  # complaint, hard_complaint, never, no behaviour row
        status, _, html = complain(person, token, trx, "normal", f"R-{trx}")
        assert status == 200 and "<h1>Komplain Terkirim</h1>" in html
    fresh_world.post("/__mock/clock", {"advance": "59s"})
    def words():
        return {r[0]: (r[3], r[4]) for r in csv_rows(person, "/supplier/mitra/transaksi/unduh")[1:]}

    assert {t: words()[t] for t in ("M2", "M3", "M4", "M6")} == dict.fromkeys(("M2", "M3", "M4", "M6"),
                                                                              ("Proses", ""))
    fresh_world.post("/__mock/clock", {"advance": "2s"})
    assert words()["M2"] == ("Sukses", "0144700255501234")
    assert words()["M3"] == words()["M4"] == words()["M6"] == ("Proses", "")  # a normal one is not enough

    complain(person, token, "M3", "hard", "R-M3-keras")
    complain(person, token, "M4", "hard", "R-M4-keras")
    fresh_world.post("/__mock/clock", {"advance": "61s"})
    assert words()["M3"] == ("Gagal", "Nomor tujuan salah") and words()["M4"] == ("Proses", "")

    state = fresh_world.state()
    made = {c["reference"]: datetime.fromisoformat(c["created_at"]) for c in state["complaints"]}
    rows = {t["trx_id"]: t for t in state["transactions"]}
    assert (rows["M2"]["status"], rows["M2"]["sn"]) == ("SUKSES", "0144700255501234")
    assert datetime.fromisoformat(rows["M2"]["resolved_at"]) == made["R-M2"] + RESOLVE_DELAY
    assert (rows["M3"]["status"], rows["M3"]["sn"]) == ("GAGAL", "Nomor tujuan salah")
    assert datetime.fromisoformat(rows["M3"]["resolved_at"]) == made["R-M3-keras"] + RESOLVE_DELAY
    assert rows["M4"]["status"] == rows["M6"]["status"] == "PENDING" and "resolved_at" not in rows["M4"]

    replies = {r[0]: r[2:4] + r[5:] for r in csv_rows(person, "/supplier/mitra/komplain/riwayat/unduh")[1:]}
    assert replies == {
        "R-M2": ["Normal", "mohon cek M2", "Sudah sukses SN 0144700255501234"],
        "R-M3": ["Normal", "mohon cek M3", "Transaksi gagal, saldo dikembalikan"],
        "R-M4": ["Normal", "mohon cek M4", "Sedang kami cek ke operator"],
        "R-M6": ["Normal", "mohon cek M6", "Sedang kami cek ke operator"],
        "R-M3-keras": ["Keras", "mohon cek M3", "Transaksi gagal, saldo dikembalikan"],
        "R-M4-keras": ["Keras", "mohon cek M4", "Sudah kami eskalasi ke operator, mohon ditunggu"]}


def test_a_complaint_is_recorded_every_time_it_is_sent(fresh_world):
    person, token = supplier(fresh_world, SINAR)
    for _ in range(2):
        assert complain(person, token, "S3", "hard", "BOT:k1", "/supplier/sinar")[0] == 200
    status, _, html = person.open("/supplier/sinar/komplain", {"csrf_token": token, "trx_id": "S3",
                                                               "level": "normal", "message": "cek lagi"})
    generated = re.search(r"referensi (\S+)\.", html).group(1)
    complaints = fresh_world.state()["complaints"]
    hard = {"supplier": "sinar", "trx_id": "S3", "level": "hard", "message": "mohon cek S3",
            "reference": "BOT:k1"}
    assert [{k: v for k, v in c.items() if k != "created_at"} for c in complaints] == [hard, hard, {
        "supplier": "sinar", "trx_id": "S3", "level": "normal", "message": "cek lagi", "reference": generated}]
    _, _, html = person.open("/supplier/sinar/komplain/riwayat")
    assert [r[1:5] for r in table(html)] == [[generated, "S3", "Normal", "cek lagi"]] + [
        ["BOT:k1", "S3", "Keras", "mohon cek S3"]] * 2
    lines = csv_rows(person, "/supplier/sinar/komplain/riwayat/unduh?q=bot:k1")
    assert ",".join(lines[0]) == HISTORY_HEADER and len(lines) == 3
    person, _ = supplier(fresh_world, MITRA)
    assert csv_rows(person, "/supplier/mitra/komplain/riwayat/unduh")[1:] == []  # only its own


# -- Otomax's transaction report (not wired into otomax.build yet: a test client) -----------------------

def otomax_portal(world: World) -> Portal:
    portal = Portal(world, "otomax", "Otomax Web Admin")

    @portal.page("/")
    def home():
        return portal.render("home.html")

    add_transaction_pages(portal, world)
    return portal


def otomax_client(folder: Path, transactions: str = TRANSACTIONS):
    world = World.from_seed(write_world(folder, transactions))
    client = otomax_portal(world).app.test_client()
    def token(html):
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    client.post("/login", data={"csrf_token": token(client.get("/login").get_data(as_text=True)),
                                "username": "admin.cs", "password": "Otx-demo-6604"})
    return world, client


def test_transaction_report_filters_pages_and_exports(tmp_path):
    world, client = otomax_client(tmp_path)
    html = client.get("/transaksi?per_page=10").get_data(as_text=True)
    rows = table(html)
    assert len(rows) == 10 and "Halaman 1 dari 2 (total 12 data)" in html
    assert rows[0][0] == "K2" and "Laporan Transaksi" in html and 'href="/komplain-agen"' in html
    def listed(query):
        return [r[0] for r in table(client.get("/transaksi?" + query).get_data(as_text=True))]

    assert listed("supplier=sinar") == ["S3", "S2", "S1"]
    html = client.get("/transaksi?status=GAGAL").get_data(as_text=True)
    assert table(html)[1] == ["M5", "AG02", "T20", "089612004455", "Rp 20.300", "mitra",
                              "12/01/2026 00:30:00 WIB", "GAGAL", ""]
    assert 'href="/transaksi/unduh?status=GAGAL"' in html
    assert listed("dari=2026-01-12&sampai=2026-01-12&q=ag02") == ["M5"]
    assert client.get("/transaksi?dari=kemarin").status_code == 400

    answer = client.get("/transaksi/unduh?status=GAGAL")
    assert answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="laporan-transaksi-')
    assert answer.get_data(as_text=True).splitlines() == [
        "trx_id,agent_id,product,destination,price,supplier,created_at,status,sn",
        f"S2,AG02,I25,085611223344,25200,sinar,{_iso(world, 'S2')},GAGAL,error_require_login",
        "M5,AG02,T20,089612004455,20300,mitra,2026-01-12T00:30:00+07:00,GAGAL,"]
    assert len(client.get("/transaksi/unduh").get_data(as_text=True).splitlines()) == 13  # no pagination


def _iso(world: World, trx_id: str) -> str:
    row = next(t for t in world.table("transactions") if t["trx_id"] == trx_id)
    return row["created_at"].isoformat(timespec="seconds")


def test_report_shows_what_the_supplier_resolved(tmp_path):
    world, client = otomax_client(tmp_path)
    world.record("complaints", supplier="mitra", trx_id="M7", level="normal", message="cek",
                 reference="R1", created_at=world.now())
    world.advance_clock(RESOLVE_DELAY + timedelta(seconds=1))
    line = client.get("/transaksi/unduh?q=M7").get_data(as_text=True).splitlines()[1]
    m7 = next(t for t in world.table("transactions") if t["trx_id"] == "M7")
    assert line.endswith(f",SUKSES,{m7['sn']}") and real_sn(m7["sn"]) and m7["resolved_at"]


def test_agent_complaints_page_and_export(tmp_path):
    world, client = otomax_client(tmp_path)
    html = client.get("/komplain-agen").get_data(as_text=True)
    assert [r[:2] + r[3:] for r in table(html)] == [
        ["KA2", "S1", "WRONG_NUMBER", "Salah ketik nomor, seharusnya 083899001123"],
        ["KA1", "M1", "PRODUCT_NOT_RECEIVED", "Trx S10 ke 081298765431 pulsa belum masuk"]]
    lines = client.get("/komplain-agen/unduh?q=ka1").get_data(as_text=True).splitlines()
    assert lines == ["complaint_id,trx_id,reported_at,kind,note",
                     "KA1,M1,2026-01-10T10:00:00+07:00,PRODUCT_NOT_RECEIVED,"
                     "Trx S10 ke 081298765431 pulsa belum masuk"]


def test_the_export_of_5000_transactions_is_one_response_of_every_row(tmp_path):
    """What keeps a bot's read cheap: one request, however many rows (`make bench` times it)."""
    many = TRANSACTIONS.splitlines()[0] + "\n" + "".join(
        f"B{n:05d},AG0{n % 8 + 1},S10,0812{n:08d},10350,{('mitra', 'sinar')[n % 2]},-{n}m,"
        f"{('SUKSES', 'PENDING', 'GAGAL')[n % 3]},{'01447' + str(n).zfill(11) if n % 3 == 0 else ''}\n"
        for n in range(5000))
    _, client = otomax_client(tmp_path, many)
    lines = client.get("/transaksi/unduh").get_data(as_text=True).splitlines()
    assert len(lines) == 5001 and lines[1].startswith("B00000,") and lines[-1].startswith("B04999,")
    assert len(table(client.get("/transaksi?status=PENDING&per_page=100").get_data(as_text=True))) == 100


# -- the page objects in a real browser ------------------------------------------------------------------

def settings_for(url: str, tmp_path: Path):
    return load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": url, "REPORTS_DIR": str(tmp_path / "reports"),
        "VAR_DIR": str(tmp_path / "var"), "LOGS_DIR": str(tmp_path / "logs"), **bot_runs_env()})


@pytest.mark.browser
def test_bot_reads_statuses_complains_once_and_survives_expiry(fresh_world, tmp_path):
    settings = settings_for(fresh_world.url, tmp_path)
    with PortalBrowser(settings, "test-supplier") as browser:
        sinar = SupplierPortal(browser, settings.portal("supplier_sinar"), backoff_seconds=0,
                               sleep=lambda s: None)
        found = sinar.statuses()
        assert {t: (s.status, s.raw_status, s.sn, s.note) for t, s in found.items()} == {
            "S1": ("SUKSES", "SUCCESS", "9821003344556677", ""),
            "S2": ("GAGAL", "FAILED", None, "error_require_login"),
            "S3": ("PENDING", "PENDING", None, "")}
        assert found["S1"].updated_at.utcoffset() == timedelta(hours=7)
        s2 = sinar.status("S2")
        assert (s2.status, s2.sn, s2.note, s2.updated_at) == (
            "GAGAL", None, "error_require_login — Transaksi gagal, saldo dikembalikan", None)
        assert sinar.status("M1") is None

        mitra = SupplierPortal(browser, settings.portal("supplier_mitra"), backoff_seconds=0,
                               sleep=lambda s: None)
        assert mitra.complaints() == []
        mitra.send_complaint("M7", "normal", "Pulsa belum masuk, mohon cek", "BOT:M7:1")
        fresh_world.post("/__mock/faults", {"expire_sessions": True})
        mitra.send_complaint("M4", "hard", "Mohon kepastian status", "BOT:M4:2")  # logs in again
        with pytest.raises(ActionRefused, match="Transaksi Tidak Ditemukan"):
            mitra.send_complaint("S1", "normal", "bukan punya mitra", "BOT:S1")
        fresh_world.post("/__mock/faults", {"drop_rate": 1.0, "portals": ["supplier_mitra"]})
        with pytest.raises(PortalUnavailable, match="outcome unknown"):
            mitra.send_complaint("M6", "normal", "cek", "BOT:M6:3")
        fresh_world.post("/__mock/faults", {"expire_sessions": True})  # and the session is gone too

        sent = mitra.complaints()  # what the caller does next: look for its reference
        assert [(c.reference, c.trx_id, c.level, c.message) for c in sent] == [
            ("BOT:M6:3", "M6", "normal", "cek"), ("BOT:M4:2", "M4", "hard", "Mohon kepastian status"),
            ("BOT:M7:1", "M7", "normal", "Pulsa belum masuk, mohon cek")]
        assert sent[0].created_at.tzinfo is not None and sent[2].reply == "Sedang kami cek ke operator"
        fresh_world.post("/__mock/clock", {"advance": "61s"})
        m7 = mitra.statuses()["M7"]
        assert m7.status == "SUKSES" and m7.sn and m7.sn.startswith("01447") and m7.raw_status == "Sukses"
        assert mitra.complaints()[2].reply == f"Sudah sukses SN {m7.sn}"
    recorded = [c["reference"] for c in fresh_world.state()["complaints"]]
    assert recorded == ["BOT:M7:1", "BOT:M4:2", "BOT:M6:3"]  # each exactly once


@pytest.mark.browser
def test_otomax_reports_read_transactions_and_agent_complaints(tmp_path):
    world = World.from_seed(write_world(tmp_path / "world"))
    not_found = Flask("nothing-here")
    app = DispatcherMiddleware(not_found, {"/otomax": otomax_portal(world).app})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = settings_for(f"http://127.0.0.1:{server.server_port}", tmp_path)
        with PortalBrowser(settings, "test-reports") as browser:
            reports = OtomaxReports(browser, settings.portal("otomax"), backoff_seconds=0,
                                    sleep=lambda s: None)
            everything = reports.transactions()
            assert [t.trx_id for t in everything][:3] == ["K2", "S3", "M7"] and len(everything) == 12
            m1 = next(t for t in everything if t.trx_id == "M1")
            assert (m1.agent_id, m1.product, m1.price, m1.supplier, m1.status, m1.sn) == (
                "AG01", "S10", 10350, "mitra", "SUKSES", "0144700123456789")
            assert m1.created_at == datetime.fromisoformat("2026-01-10T09:00:00+07:00")
            assert [t.sn for t in everything if t.status == "PENDING"] == [None] * 7
            failed = reports.transactions(status="gagal", since=date(2026, 1, 11))
            assert [t.trx_id for t in failed] == ["S2", "M5"]
            complaints = reports.agent_complaints()
            assert [(c.complaint_id, c.trx_id, c.kind) for c in complaints] == [
                ("KA2", "S1", "WRONG_NUMBER"), ("KA1", "M1", "PRODUCT_NOT_RECEIVED")]
            assert complaints[0].reported_at.tzinfo is not None
            with pytest.raises(ValueError):
                reports.transactions(status="SELESAI")
    finally:
        server.shutdown()
        server.server_close()
