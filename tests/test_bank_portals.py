"""The mock banks (`/bank/<bca|mandiri|bri|bni>/`): mutasi, exports round-tripped, and the page object."""

from __future__ import annotations

import shutil
import urllib.request
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from bots.errors import PortalUnavailable
from bots.parsers import parse_statement, pending_match_key, with_occurrences
from bots.portals.bank import BankAccount, BankPortal
from bots.portals.session import PortalBrowser
from bots.settings import load_settings
from mock_portals.exports import write_statement
from tests.conftest import DEMO_ENV, WORLD, Browserless, MockWorld
from tests.stores import bot_runs_env

NOW = datetime.fromisoformat("2026-11-23T10:00:00+07:00")  # the world's clock in these tests
BCA, BCA2, MANDIRI, BRI, BNI = "5270418836", "0998877665", "1560007734218", "034201000871562", "0823417769"
USERS = {"bca": ("kasir.bca", "Bca-demo-8841"), "mandiri": ("kasir.mandiri", "Mdr-demo-2290"),
         "bri": ("kasir.bri", "Bri-demo-7713"), "bni": ("kasir.bni", "Bni-demo-5527")}
ACCOUNTS = {("bca", BCA): 10_000_000, ("bca", BCA2): 5_000_000, ("mandiri", MANDIRI): 20_000_000,
            ("bri", BRI): 64_118_250, ("bni", BNI): 42_905_000}
# (bank, account, posted_at, description, amount, direction), in seed order
MUTATIONS = [
    ("bca", BCA, "2026-10-20T09:00:00", "SWITCHING CR TRANSFER DR 002 BERKAH PHONE CIKUPA 750311.00", 750311, "CR"),
    ("bca", BCA, "2026-11-21T08:15:00", "TRSF E-BANKING CR 2111/FTSCY/WS95051 500123.00 BUDI SANTOSO", 500123, "CR"),
    ("bca", BCA, "2026-11-21T08:15:00", "TRSF E-BANKING CR 2111/FTSCY/WS95051 500123.00 BUDI SANTOSO", 500123, "CR"),
    ("bca", BCA, "2026-11-22T13:40:00", 'TRSF E-BANKING DB 2211/FTSCY/WS95051 PT SUPLIER "PULSA", INV 0922', 1500000, "DB"),
    ("bca", BCA2, "2026-11-22T10:00:00", "SETORAN TUNAI ANDRÉ CELL SERPONG", 123456, "CR"),
    ("bca", BCA, "2026-11-23T09:30:00", "KR OTOMATIS LLG-ANTAR BANK TOKO BU YANTI", 1000000, "CR"),
    ("bca", BCA, "2026-11-23T09:59:30", "BI-FAST CR BIF TRANSFER DR 014 SINAR PULSA TIGARAKSA 250087.00", 250087, "CR"),
    ("bca", BCA, "2026-11-23T12:00:00", "TRSF E-BANKING CR 2311/FTSCY/WS95051 300214.00 RIZKY CELLULAR", 300214, "CR"),
    ("mandiri", MANDIRI, "2026-11-20T11:27:10", "GAJI CS M2B (LINA) MCM InhouseTrf KE EKA MAYANG SARI HARAHAP", 750000, "DB"),
    ("mandiri", MANDIRI, "2026-11-22T14:02:55", "TRF DARI BUDI SANTOSO MCM InhouseTrf DARI BUDI SANTOSO 500123", 500123, "CR"),
    ("mandiri", MANDIRI, "2026-11-23T06:30:00", "SA Cash Dep; SETOR TUNAI CAHAYA CELL", 2500000, "CR"),
    ("bri", BRI, "2026-11-21T00:31:53", "NBMB BUDI SANTOSO TO PT TRAVELPULSA ESB:NBMB:0001500F:168770158106", 500123, "CR"),
    ("bri", BRI, "2026-11-22T09:05:07", "BRIVA 88810 PT SUPLIER PULSA ESB:BRIVA:0001500F:168770158107", 2000000, "DB"),
    ("bri", BRI, "2026-11-22T09:05:07", "BRIVA 88810 PT SUPLIER PULSA ESB:BRIVA:0001500F:168770158107", 1000, "DB"),
    ("bni", BNI, "2026-11-20T10:15:22", "TRF DARI | BUDI SANTOSO | 500123", 500123, "CR"),
    ("bni", BNI, "2026-11-22T13:40:01", "TRF KE | PT SUPLIER PULSA | INV 2026-0905, 0906", 15000000, "DB"),
]
FORMATS = {"bca-individual": ("bca", BCA), "bca-bisnis": ("bca", BCA), "mandiri-mcm": ("mandiri", MANDIRI),
           "bri-cms": ("bri", BRI), "bni": ("bni", BNI)}
START, END = date(2026, 11, 20), date(2026, 11, 23)


def write_world(folder):
    """The seed above as a world folder, with the demo users (config/demo.env's credentials)."""
    shutil.copy(WORLD / "portal_users.csv", folder / "portal_users.csv")
    accounts = [f"{bank},{no},PT TRAVELPULSA NUSANTARA,{opening}" for (bank, no), opening in ACCOUNTS.items()]
    quote = lambda text: '"' + text.replace('"', '""') + '"'  # noqa: E731
    mutations = [f"{b},{no},{at}+07:00,{quote(text)},{amount},{way}" for b, no, at, text, amount, way in MUTATIONS]
    for name, header, rows in (("bank_accounts", "bank,account_no,holder,opening_balance", accounts),
                               ("mutations", "bank,account_no,posted_at,description,amount,direction",
                                mutations)):
        (folder / f"{name}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


def start_world(folder) -> MockWorld:
    world = MockWorld(seed=write_world(folder))
    world.post("/__mock/clock", {"set": NOW.isoformat()})
    return world


@pytest.fixture(scope="module")
def bank_world(tmp_path_factory):
    """One world for the tests that only read it (its clock moves on by real seconds only)."""
    world = start_world(tmp_path_factory.mktemp("bank-world"))
    yield world
    world.stop()


@pytest.fixture
def fresh_world(tmp_path):
    world = start_world(tmp_path)
    yield world
    world.stop()


def expected(bank: str, account: str, start: date, end: date, now: datetime = NOW):
    """What the statement must say, worked out from the seed: (date or None, text, amount, way, saldo)."""
    mine = sorted((m for m in MUTATIONS if m[:2] == (bank, account)), key=lambda m: m[2])
    balance, lines = ACCOUNTS[(bank, account)], []
    for _, _, at, text, amount, way in mine:
        moment = datetime.fromisoformat(at + "+07:00")
        if moment > now:
            continue
        balance += amount if way == "CR" else -amount
        pending = bank == "bca" and now - moment < timedelta(minutes=5)
        if start <= moment.date() <= end:
            lines.append((None if pending else moment.date(), text, Decimal(amount), way, Decimal(balance)))
    return lines


def logged_in(world: MockWorld, bank: str) -> Browserless:
    person = Browserless(world.url)
    status, url, _ = person.login(f"/bank/{bank}", *USERS[bank])
    assert status == 200 and url.endswith(f"/bank/{bank}/")
    return person


def download(person: Browserless, bank: str, account: str, fmt: str, start=START, end=END):
    """(status, headers, bytes): the body as bytes, since KlikBCA's is not UTF-8."""
    url = f"{person.base}/bank/{bank}/mutasi/unduh?rekening={account}&dari={start}&sampai={end}&format={fmt}"
    try:
        with person.opener.open(urllib.request.Request(url), timeout=10) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# -- HTTP level ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_each_export_round_trips_through_the_parser(bank_world, fmt):
    bank, account = FORMATS[fmt]
    status, headers, data = download(logged_in(bank_world, bank), bank, account, fmt)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    name = headers["Content-Disposition"].removeprefix('attachment; filename="').rstrip('"')
    assert headers["Content-Disposition"].startswith("attachment; filename=") and account in name
    statement = parse_statement(data, name, account_no=account)
    assert statement.format.startswith(fmt) and (statement.bank, statement.account_no) == (bank, account)
    has_balance = fmt not in ("bca-bisnis", "bni")  # those exports carry no running balance
    assert [(ln.posted_on, ln.description, ln.amount, ln.direction, ln.balance if has_balance else None)
            for ln in statement.lines] == [(*line[:4], line[4] if has_balance else None)
                                          for line in expected(bank, account, START, END)]
    if fmt in ("mandiri-mcm", "bri-cms", "bni"):  # these carry the time of day too
        times = [datetime.fromisoformat(m[2]) for m in MUTATIONS
                 if m[:2] == (bank, account) and START <= datetime.fromisoformat(m[2]).date() <= END]
        assert [ln.posted_at for ln in statement.lines] == sorted(times)


def test_bca_individual_states_period_and_balances_in_windows_1252(bank_world):
    _, headers, data = download(logged_in(bank_world, "bca"), "bca", BCA, "bca-individual")
    assert "windows-1252" in headers["Content-Type"]
    statement = parse_statement(data, "bca.csv")
    lines = expected("bca", BCA, START, END)
    assert (statement.period_start, statement.period_end) == (START, END)
    assert statement.opening_balance == 10_000_000 + 750311  # the October credit is before the period
    assert statement.closing_balance == lines[-1][4]
    assert data.startswith(b"No. rekening : 5270418836\r\n")
    assert b"'PEND,'BI-FAST CR BIF TRANSFER" in data and b',"500,123.00",CR,' in data
    other = parse_statement(download(logged_in(bank_world, "bca"), "bca", BCA2, "bca-individual")[2], "b.csv")
    assert [ln.description for ln in other.lines] == ["SETORAN TUNAI ANDRÉ CELL SERPONG"]  # é in cp1252


def test_home_lists_the_banks_accounts_with_their_balance_now(bank_world):
    _, _, html = logged_in(bank_world, "bca").open("/bank/bca/")
    assert 'aria-label="Daftar Rekening"' in html and "Nama Pemilik" in html
    assert BCA in html and BCA2 in html and MANDIRI not in html
    assert "Rp 11.500.644" in html and "Rp 5.123.456" in html  # opening + everything up to now
    assert ">Mutasi</a>" in html


def test_mutasi_page_shows_pending_rows_and_refuses_long_or_reversed_periods(bank_world):
    person = logged_in(bank_world, "bca")
    _, _, html = person.open(f"/bank/bca/mutasi?rekening={BCA}&dari={START}&sampai={END}")
    assert 'aria-label="Mutasi Rekening"' in html and "<td>PEND</td>" in html
    assert "<td>22/11/2026</td>" in html and "Rp 1.500.000" in html and "RIZKY" not in html  # future row
    status, _, html = person.open(f"/bank/bca/mutasi?rekening={BCA}&dari=2026-10-01&sampai={END}")
    assert status == 400 and "maksimal 31 hari" in html and "Mutasi Rekening</th>" not in html
    status, _, html = person.open(f"/bank/bca/mutasi?rekening={BCA}&dari={END}&sampai={START}")
    assert status == 400 and "tidak boleh sebelum" in html
    status, headers, body = download(person, "bca", BCA, "bca-individual", date(2026, 10, 1), END)
    assert status == 400 and headers["Content-Type"].startswith("text/html") and b"31 hari" in body
    status, _, body = download(person, "bca", MANDIRI, "bca-individual")  # not this user's account
    assert status == 404 and b"tidak terdaftar" in body
    assert download(person, "bca", BCA, "bni")[0] == 400  # a format this bank does not offer


def test_a_31_day_period_is_the_longest_allowed(bank_world):
    person = logged_in(bank_world, "bri")
    assert download(person, "bri", BRI, "bri-cms", END - timedelta(days=30), END)[0] == 200
    assert download(person, "bri", BRI, "bri-cms", END - timedelta(days=31), END)[0] == 400


def test_a_second_login_ends_the_first_session(bank_world):
    first, second = logged_in(bank_world, "bni"), logged_in(bank_world, "bni")
    _, url, html = first.open("/bank/bni/mutasi")
    assert "/bank/bni/login" in url and "Sesi Anda telah berakhir" in html
    assert second.open("/bank/bni/mutasi")[1].endswith("/bank/bni/mutasi")


def test_future_rows_appear_when_the_clock_reaches_them(fresh_world):
    person = logged_in(fresh_world, "bca")
    before = parse_statement(download(person, "bca", BCA, "bca-individual")[2], "before.csv")
    assert "RIZKY CELLULAR" not in " ".join(ln.description for ln in before.lines)
    fresh_world.post("/__mock/clock", {"advance": "3h"})
    person = logged_in(fresh_world, "bca")  # 3 hours idle: the session ended
    after = parse_statement(download(person, "bca", BCA, "bca-individual")[2], "after.csv")
    assert len(after.lines) == len(before.lines) + 1
    assert after.lines[-1].description.endswith("RIZKY CELLULAR") and after.lines[-1].posted_on == END
    assert after.closing_balance == before.closing_balance + 300214
    assert "Rp 11.800.858" in person.open("/bank/bca/")[2]  # 11.500.644 + 300.214


def test_a_bca_mutation_is_pending_for_five_minutes_then_posted(fresh_world):
    fresh_world.post("/__mock/rows/mutations", {
        "bank": "bca", "account_no": BCA2, "posted_at": "-1m", "amount": "500231", "direction": "CR",
        "description": "TRSF E-BANKING CR 2311/FTSCY/WS95051 500231.00 CAHAYA CELL"})
    person = logged_in(fresh_world, "bca")
    pending = parse_statement(download(person, "bca", BCA2, "bca-individual")[2], "p.csv").lines[-1]
    # dated by the bank's transaction day its description carries (2311), not by when it is read
    assert pending.pending and pending.posted_on == END and pending.amount == 500231
    fresh_world.post("/__mock/clock", {"advance": "10m"})
    posted = parse_statement(download(person, "bca", BCA2, "bca-individual")[2], "q.csv").lines[-1]
    assert not posted.pending and posted.posted_on == END
    assert pending_match_key(posted) == pending_match_key(pending)
    assert with_occurrences([posted])[0][1] == with_occurrences([pending])[0][1]  # one identity throughout
    # the pending window is KlikBCA's: other banks post at once
    fresh_world.post("/__mock/rows/mutations", {
        "bank": "bni", "account_no": BNI, "posted_at": "-1m", "amount": "750049", "direction": "CR",
        "description": "TRF DARI | DWI JAYA PONSEL | 750049"})
    line = parse_statement(download(logged_in(fresh_world, "bni"), "bni", BNI, "bni")[2], "b.csv").lines[-1]
    assert line.amount == 750049 and not line.pending and line.posted_on == END


# -- the writers alone ---------------------------------------------------------------------------------

def test_an_empty_period_is_still_a_statement_and_unknown_formats_are_refused():
    account = {"bank": "bca", "account_no": BCA, "holder": "PT TRAVELPULSA NUSANTARA",
               "opening_balance": 750311}
    name, data = write_statement("bca-individual", account, [], START, START, NOW)
    statement = parse_statement(data, name)
    assert statement.lines == [] and statement.opening_balance == statement.closing_balance == 750311
    with pytest.raises(ValueError, match="unknown export format"):
        write_statement("bca-pdf", account, [], START, START, NOW)


def test_long_mandiri_remarks_are_split_at_a_word():
    account = {"bank": "mandiri", "account_no": MANDIRI, "holder": "X", "opening_balance": 0}
    text = "PEMBAYARANSANGATPANJANGSEKALITANPASPASI lalu kata-kata biasa yang banyak"
    line = {"posted_at": NOW, "description": text, "amount": 5, "direction": "CR", "balance": 5,
            "pending": False, "seq": 1}
    _, data = write_statement("mandiri-mcm", account, [line], END, END, NOW)
    assert parse_statement(data, "m.csv").lines[0].description == text


# -- the page object, in a real browser -----------------------------------------------------------------

@pytest.fixture
def settings(bank_world, tmp_path):
    return load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": bank_world.url, "REPORTS_DIR": str(tmp_path / "reports"),
        "VAR_DIR": str(tmp_path / "var"), "LOGS_DIR": str(tmp_path / "logs"), **bot_runs_env()})


@pytest.mark.browser
def test_page_object_lists_accounts_and_reports_a_refusal_in_the_banks_words(settings, bank_world):
    with PortalBrowser(settings, "bank-run") as browser:
        bca = BankPortal(browser, settings.portal("bank_bca"), attempts=2, backoff_seconds=0)
        closing = expected("bca", BCA, START, END)[-1][4]
        assert bca.accounts() == [BankAccount(BCA, "PT TRAVELPULSA NUSANTARA", int(closing)),
                                  BankAccount(BCA2, "PT TRAVELPULSA NUSANTARA", 5_123_456)]
        with pytest.raises(PortalUnavailable, match="maksimal 31 hari"):
            bca.download_statement(BCA, date(2026, 10, 1), END)
        with pytest.raises(PortalUnavailable, match="Rekening 1111 is not offered"):
            bca.download_statement("1111", START, END)
        with pytest.raises(ValueError):
            bca.download_statements(BCA, END, START)
        bank_world.post("/__mock/faults", {"expire_sessions": True})  # e.g. staff logged in meanwhile
        bisnis = bca.download_statement(BCA, START, END, fmt="bca-bisnis")
        assert bisnis.fmt == "bca-bisnis" and bisnis.data.startswith(b"Tanggal Transaksi,")
        assert len(parse_statement(bisnis.data, bisnis.file_name, account_no=BCA).lines) == 5


@pytest.mark.browser
def test_page_object_downloads_each_banks_statement_in_31_day_chunks(settings):
    start = END - timedelta(days=39)  # 40 days: one full chunk of 31, then 9
    with PortalBrowser(settings, "bank-run") as browser:
        for key, fmt in BankPortal.FORMATS.items():
            bank = key.removeprefix("bank_")
            account = next(no for b, no in ACCOUNTS if b == bank)
            downloads = BankPortal(browser, settings.portal(key)).download_statements(account, start, END)
            assert [(d.fmt, d.account_no) for d in downloads] == [(fmt, account)] * 2
            first, second = (parse_statement(d.data, d.file_name, account_no=account) for d in downloads)
            assert len(first.lines) == len(expected(bank, account, start, start + timedelta(days=30)))
            assert len(second.lines) == len(expected(bank, account, start + timedelta(days=31), END)) > 0
