"""The payment gateway's mock dashboard, Otomax's VA/retail deposit requests, and their page objects."""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bots.portals.gateway import GatewayPortal
from bots.portals.otomax import OtomaxAdmin
from bots.portals.session import PortalBrowser
from bots.settings import load_settings
from mock_portals.seed import TABLES, SeedError, load_table
from tests.conftest import DEMO_ENV, WORLD, Browserless, MockWorld

DAY = "2026-11-23"
PAYMENTS = f"""payment_id,reference,channel,amount,fee,status,created_at,paid_at,settled_at
PG-1,VR-1,va_bca,500000,4000,PAID,{DAY}T08:00:00+07:00,{DAY}T09:00:00+07:00,
PG-2,VR-2,Alfamart,250000,5000,SETTLED,{DAY}T08:10:00+07:00,{DAY}T09:10:00+07:00,{DAY}T11:00:00+07:00
PG-3,VR-3,QRIS,300000,2100,PENDING,{DAY}T10:00:00+07:00,,
PG-4,VR-4,INDOMARET,100000,5000,PAID,2026-11-22T08:00:00+07:00,2026-11-22T09:00:00+07:00,
PG-5,VR-5,VA_BNI,75000,4000,FAILED,{DAY}T07:00:00+07:00,,
"""
REQUESTS = f"""reference,agent_id,amount,channel,created_at,expires_at,status
VR-1,AG01,500000,VA_BCA,{DAY}T07:00:00+07:00,{DAY}T23:00:00+07:00,OPEN
VR-2,AG02,250000,ALFAMART,{DAY}T07:00:00+07:00,,OPEN
VR-3,AG03,300000,qris,2026-11-20T07:00:00+07:00,2026-11-21T07:00:00+07:00,EXPIRED
"""
JAKARTA = ZoneInfo("Asia/Jakarta")
GATEWAY_USER, GATEWAY_PASSWORD = "merchant.travelpulsa", "Pgw-demo-4417"


def make_world(folder: Path) -> MockWorld:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(WORLD / "portal_users.csv", folder)
    (folder / "gateway_payments.csv").write_text(PAYMENTS, encoding="utf-8")
    (folder / "deposit_requests.csv").write_text(REQUESTS, encoding="utf-8")
    return MockWorld(seed=folder)


@pytest.fixture
def world(tmp_path):
    world = make_world(tmp_path / "world")
    yield world
    world.stop()


def export(person: Browserless, path: str) -> tuple[str, list[dict]]:
    with person.opener.open(person.base + path, timeout=10) as answer:
        kind, text = answer.headers["Content-Type"], answer.read().decode()
    return kind, list(csv.DictReader(io.StringIO(text)))


def rows_of(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


# -- the seed files --------------------------------------------------------------------------------

def test_seed_files_are_typed_with_channels_and_statuses_in_any_case(tmp_path):
    (tmp_path / "gateway_payments.csv").write_text(PAYMENTS, encoding="utf-8")
    rows = load_table(tmp_path / "gateway_payments.csv", "gateway_payments", datetime.now(JAKARTA))
    assert [(r["channel"], r["status"]) for r in rows][:2] == [("VA_BCA", "PAID"), ("ALFAMART", "SETTLED")]
    assert rows[2]["paid_at"] is None and rows[1]["settled_at"] is not None and rows[0]["fee"] == 4000


@pytest.mark.parametrize("table, text, line, column, words", [
    ("gateway_payments", "PG-9,VR-9,DANA,1000,0,PAID,now,now,", 2, "3 (channel)", "must be one of VA_BCA"),
    ("gateway_payments", "PG-9,VR-9,QRIS,1000,0,PAID,now,,", 2, "8 (paid_at)", "paid_at is required"),
    ("gateway_payments", "PG-9,VR-9,QRIS,1000,-5,PAID,now,now,", 2, "5 (fee)", "must not be negative"),
    ("gateway_payments", "PG-9,VR-9,QRIS,1000,0,LUNAS,now,now,", 2, "6 (status)", "must be one of PENDING"),
    ("deposit_requests", "VR-9,AG1,1000,QRIS,now,+1h,BARU", 2, "7 (status)", "must be one of OPEN"),
])
def test_a_bad_cell_names_file_line_and_column(tmp_path, table, text, line, column, words):
    path = tmp_path / f"{table}.csv"
    path.write_text(",".join(TABLES[table].column_names) + "\n" + text + "\n", encoding="utf-8")
    with pytest.raises(SeedError) as caught:
        load_table(path, table, datetime.now(JAKARTA))
    error = caught.value
    assert (error.path, error.line, error.column) == (f"{table}.csv", line, column) and words in str(error)


# -- the dashboard ------------------------------------------------------------------------------------

def test_its_own_login_and_the_transaction_list_with_filters(world):
    person = Browserless(world.url)
    assert "Nama pengguna atau kata sandi salah" in person.login("/gateway", "admin.cs", "Otx-demo-6604")[2]
    status, url, html = person.login("/gateway", GATEWAY_USER, GATEWAY_PASSWORD)
    assert status == 200 and "Selamat datang" in html
    _, _, page = person.open("/gateway/transaksi")
    listed = rows_of(page)
    assert [r[0] for r in listed] == ["PG-3", "PG-2", "PG-1", "PG-5", "PG-4"]  # newest (paid, else created) first
    assert listed[2][:7] == ["PG-1", "VR-1", "VA BCA", "Rp 500.000", "Rp 4.000", "Rp 496.000", "PAID"]
    assert "Unduh (CSV)" in page
    _, _, paid = person.open("/gateway/transaksi?status=PAID&kanal=VA_BCA")
    assert [r[0] for r in rows_of(paid)] == ["PG-1"]


def test_the_export_takes_the_filters_and_the_summary_gives_the_days_paid_totals(world):
    person = Browserless(world.url)
    person.login("/gateway", GATEWAY_USER, GATEWAY_PASSWORD)
    kind, rows = export(person, f"/gateway/transaksi/unduh?dari={DAY}")
    assert kind.startswith("text/csv") and [r["payment_id"] for r in rows] == ["PG-3", "PG-2", "PG-1", "PG-5"]
    assert rows[2] == {"payment_id": "PG-1", "reference": "VR-1", "channel": "VA_BCA", "amount": "500000",
                       "fee": "4000", "net": "496000", "status": "PAID", "created_at": f"{DAY}T08:00:00+07:00",
                       "paid_at": f"{DAY}T09:00:00+07:00", "settled_at": ""}
    _, summary = export(person, f"/gateway/ringkasan/unduh?tanggal={DAY}")
    by_status = {r["status"]: r for r in summary}
    assert by_status["TOTAL_PAID"] == {"date": DAY, "status": "TOTAL_PAID", "count": "2", "amount": "750000",
                                       "fee": "9000", "net": "741000"}
    assert by_status["PENDING"]["count"] == "1" and by_status["FAILED"]["count"] == "1"
    _, page = person.open(f"/gateway/ringkasan?tanggal={DAY}")[1:]
    assert "Ringkasan Harian 23/11/2026" in page and "TOTAL_PAID" in page


def test_a_pending_payment_paid_later_through_the_control_api_moves_to_its_paid_day(world):
    assert world.post("/__mock/gateway/PG-3", {"status": "PAID"})[0] == 400  # PAID needs paid_at: seed rule
    assert world.post("/__mock/gateway/PG-404", {"status": "PAID", "paid_at": "now"})[0] == 404
    done = world.control("gateway/PG-3", {"status": "PAID", "paid_at": f"{DAY}T12:00:00+07:00"})
    assert done["status"] == "PAID" and done["paid_at"] == f"{DAY}T12:00:00+07:00"
    [row] = [p for p in world.state()["gateway_payments"] if p["payment_id"] == "PG-3"]
    assert row["status"] == "PAID"
    person = Browserless(world.url)
    person.login("/gateway", GATEWAY_USER, GATEWAY_PASSWORD)
    total = [r for r in export(person, f"/gateway/ringkasan/unduh?tanggal={DAY}")[1] if r["status"] == "TOTAL_PAID"]
    assert total[0]["count"] == "3" and total[0]["amount"] == "1050000"


def test_otomax_lists_the_va_retail_deposit_requests_with_filters_and_an_export(world):
    person = Browserless(world.url)
    person.login("/otomax", "admin.cs", "Otx-demo-6604")
    _, _, page = person.open("/otomax/permintaan-deposit")
    assert "Permintaan Deposit VA/Retail" in page
    assert [r[0] for r in rows_of(page)] == ["VR-2", "VR-1", "VR-3"]
    _, _, open_only = person.open("/otomax/permintaan-deposit?status=OPEN&kanal=VA_BCA")
    assert [r[0] for r in rows_of(open_only)] == ["VR-1"]
    _, rows = export(person, f"/otomax/permintaan-deposit/unduh?dari={DAY}")
    assert [r["reference"] for r in rows] == ["VR-2", "VR-1"] and rows[1]["amount"] == "500000"
    assert rows[0]["expires_at"] == "" and rows[1]["channel"] == "VA_BCA"
    _, _, bad = person.open("/otomax/permintaan-deposit?dari=kemarin")
    assert "Filter Tidak Valid" in bad


# -- the page objects in a real browser ----------------------------------------------------------------

@pytest.mark.browser
def test_page_objects_read_payments_totals_and_requests(world, tmp_path):
    settings = load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": world.url, "REPORTS_DIR": str(tmp_path / "reports"),
        "VAR_DIR": str(tmp_path / "var"), "LOGS_DIR": str(tmp_path / "logs")})
    with PortalBrowser(settings, "test-gateway") as browser:
        gateway = GatewayPortal(browser, settings.portal("gateway"), backoff_seconds=0, sleep=lambda s: None)
        otomax = OtomaxAdmin(browser, settings.portal("otomax"), backoff_seconds=0, sleep=lambda s: None)
        payments = {p.payment_id: p for p in gateway.payments(since=date(2026, 11, 23))}
        assert sorted(payments) == ["PG-1", "PG-2", "PG-3", "PG-5"]
        first = payments["PG-1"]
        assert (first.reference, first.channel, first.amount, first.fee, first.net, first.status) == (
            "VR-1", "VA_BCA", 500000, 4000, 496000, "PAID")
        assert first.paid_at.utcoffset().total_seconds() == 7 * 3600 and payments["PG-3"].paid_at is None
        totals = gateway.day_totals(date(2026, 11, 23))
        assert (totals.count, totals.amount, totals.fee, totals.net) == (2, 750000, 9000, 741000)
        assert gateway.day_totals(date(2026, 1, 1)).count == 0
        requests = otomax.deposit_requests()
        assert [(r.reference, r.agent_id, r.amount, r.channel, r.status) for r in requests] == [
            ("VR-2", "AG02", 250000, "ALFAMART", "OPEN"), ("VR-1", "AG01", 500000, "VA_BCA", "OPEN"),
            ("VR-3", "AG03", 300000, "QRIS", "EXPIRED")]
        assert requests[0].expires_at is None and requests[1].expires_at > requests[1].created_at


def test_settled_at_may_be_left_out_of_the_header(tmp_path):
    header, *rows = PAYMENTS.splitlines()
    text = "\n".join([header.rsplit(",", 1)[0]] + [r.rsplit(",", 1)[0] for r in rows]) + "\n"
    (tmp_path / "gateway_payments.csv").write_text(text, encoding="utf-8")
    loaded = load_table(tmp_path / "gateway_payments.csv", "gateway_payments", datetime.now(JAKARTA))
    assert len(loaded) == 5 and all(r["settled_at"] is None for r in loaded)
