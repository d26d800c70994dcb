"""esim_activation_queue end to end: batches, refunds, closing, GraPARI's workbook back."""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests.conftest import WORLD, MockWorld, run_cli

pytestmark = pytest.mark.browser

VALID = {"PSB-2611-001", "PSB-2611-012"}
#: invalid Dukcapil data (002, 003, 007, 008) or ISMARA arrears (004): a person confirms the refund first
TO_CONFIRM = {"PSB-2611-002", "PSB-2611-003", "PSB-2611-004", "PSB-2611-007", "PSB-2611-008"}
#: an unknown device (005) or an incomplete form (006): never a refund, a person or the sales agent acts
WAITING_ON_SOMEONE = {"PSB-2611-005": "DEVICE_UNKNOWN", "PSB-2611-006": "FORM_INCOMPLETE"}


def start_world(tmp_path):
    folder = tmp_path / "world"
    folder.mkdir()
    for name in ("esim_orders.csv", "esim_payments.csv", "dukcapil.csv", "ismara.csv"):
        shutil.copy(WORLD / name, folder / name)
    users = (WORLD / "portal_users.csv").read_text().splitlines()
    (folder / "portal_users.csv").write_text("\n".join(
        [users[0]] + [u for u in users[1:] if u.split(",")[0] in ("indiana", "aggregator", "dukcapil", "ismara")])
        + "\n")
    return MockWorld(seed=folder)


@pytest.fixture
def esim(tmp_path, bot_env):
    world = start_world(tmp_path)
    yield world, bot_env(world.url), tmp_path
    world.stop()


@pytest.fixture(scope="module")
def issued(tmp_path_factory, suite_logs, module_store_env):
    """One world and one run for the import tests (a refused import changes nothing)."""
    import os

    from tests.conftest import DEMO_ENV
    tmp_path = tmp_path_factory.mktemp("esim-import")
    world = start_world(tmp_path)
    env = {**os.environ, "BOTS_ENV_FILE": str(DEMO_ENV), "PORTALS_BASE_URL": world.url,
           "VAR_DIR": str(tmp_path / "var"), "REPORTS_DIR": str(tmp_path / "reports"), "LOGS_DIR": str(suite_logs),
           "COLUMNS": "200", **module_store_env}
    for key in [k for k in env if k.startswith(("BANK_", "OTOMAX_", "SUPPLIER_", "HELPDESK_", "NOTIFY_"))]:
        del env[key]
    done = run_cli("run", "esim_activation_queue", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    yield world, env, tmp_path
    world.stop()


def batch_files(tmp_path):
    return sorted((tmp_path / "reports" / "esim").glob("batch-aktivasi-*.xlsx"))


def batched_orders(tmp_path) -> list[str]:
    from bots.esim.batch import order_ids

    found = []
    for path in batch_files(tmp_path):
        sheet = load_workbook(path)["Batch Aktivasi"]
        found += order_ids(sheet.iter_rows(min_row=7, values_only=True))
    return found


def refunds(world) -> list[str]:
    return sorted(r["order_id"] for r in world.state()["refund_requests"])


def sheet_rows(path, name):
    sheet = load_workbook(path)[name]
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]


def status_file(tmp_path):
    return max((tmp_path / "reports" / "esim").glob("esim-status-*.xlsx"))


def test_valid_batched_invalid_wait_for_confirmation_nothing_refunded_for_form_or_device(esim):
    world, env, tmp_path = esim
    done = run_cli("run", "esim_activation_queue", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(batched_orders(tmp_path)) == sorted(VALID)
    assert refunds(world) == []  # nobody confirmed anything yet: no refund at all
    status = load_workbook(status_file(tmp_path))
    assert {"Ringkasan", "Menunggu Pembayaran", "Refund", "Setoran Upfront", "Perlu Tindakan",
            "Gagal Aktivasi"} == set(status.sheetnames)
    waiting = [r["No. Pesanan"] for r in sheet_rows(status_file(tmp_path), "Menunggu Pembayaran")]
    assert sorted(waiting) == ["PSB-2611-009", "PSB-2611-011"]
    act = {r["No. Pesanan"]: r["Kode"] for r in sheet_rows(status_file(tmp_path), "Perlu Tindakan")}
    assert act == {**WAITING_ON_SOMEONE, **{o: act.get(o) for o in TO_CONFIRM}} and set(act) >= TO_CONFIRM
    pending = {r["No. Pesanan"]: r["Status"] for r in sheet_rows(status_file(tmp_path), "Refund")}
    assert pending == {o: "Menunggu konfirmasi refund" for o in TO_CONFIRM}
    summary = {r[0]: r[1] for r in status["Ringkasan"].iter_rows(min_row=5, values_only=True) if r[0]}
    assert summary["CLOSED_UNPAID"] == 1
    sheet = load_workbook(batch_files(tmp_path)[0])["Batch Aktivasi"]
    header = [c.value for c in sheet[6]]
    assert sheet["B2"].value.startswith(datetime.now().strftime("%Y")[:2]) and sheet["B4"].value == 2
    assert sheet.protection.sheet is True
    assert sheet.cell(row=7, column=header.index("NIK") + 1).protection.locked is True
    assert sheet.cell(row=7, column=header.index("MSISDN") + 1).protection.locked is False
    assert sheet.cell(row=7, column=header.index("Masa Komitmen") + 1).value == "1 bulan"
    assert sheet.cell(row=7, column=header.index("NIK") + 1).value == "3603121505900001"  # text, not a number

    again = run_cli("run", "esim_activation_queue", env=env)
    assert again.returncode == 0, again.stderr
    assert sorted(batched_orders(tmp_path)) == sorted(VALID) and refunds(world) == []

    # a person confirms one refund with the customer: it is requested once, with their name
    confirmed = run_cli("esim", "confirm-refund", "PSB-2611-002", "--note", "pelanggan setuju via WA",
                        "--by", "Sari CS", env=env)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert refunds(world) == ["PSB-2611-002"]
    [request] = world.state()["refund_requests"]
    assert request["amount"] == 125000 and request["reason"].startswith("RF-PSB-2611-002 ")
    twice = run_cli("esim", "confirm-refund", "PSB-2611-002", "--note", "sekali lagi", env=env)
    assert twice.returncode == 0 and "already confirmed by Sari CS" in twice.stdout
    assert run_cli("esim", "confirm-refund", "PSB-2611-001", "--note", "x", env=env).returncode == 2  # VALID
    assert run_cli("run", "esim_activation_queue", env=env).returncode == 0
    assert refunds(world) == ["PSB-2611-002"]
    row = next(r for r in sheet_rows(status_file(tmp_path), "Refund") if r["No. Pesanan"] == "PSB-2611-002")
    assert row["Dikonfirmasi Oleh"] == "Sari CS" and row["Referensi"] == "RF-PSB-2611-002"

    # a payment arrives for a waiting order: it is checked and goes into a new batch
    world.post("/__mock/rows/esim_payments", {"order_id": "PSB-2611-009", "amount": "25000", "paid_at": "now",
                                              "channel": "BNI VA"})
    world.post("/__mock/rows/dukcapil", {"nik": "3603120909870009", "kk": "3603120909210009", "name": "HENDRA"})
    third = run_cli("run", "esim_activation_queue", env=env)
    assert third.returncode == 0, third.stderr
    assert len(batch_files(tmp_path)) == 2 and sorted(batched_orders(tmp_path)) == sorted(VALID | {"PSB-2611-009"})


def test_a_partly_paid_order_closed_at_72_hours_gets_its_money_back_once_and_later_money_too(esim):
    world, env, tmp_path = esim
    world.post("/__mock/clock", {"advance": "25h"})  # PSB-2611-009: 73 hours, only the upfront in
    at = {**env, "BOTS_NOW": world.get("/__mock/clock")["now"]}
    assert run_cli("run", "esim_activation_queue", env=at).returncode == 0
    closed = [r for r in world.state()["refund_requests"] if r["order_id"] == "PSB-2611-009"]
    assert [(r["amount"], r["reference"]) for r in closed] == [(150000, "RF-PSB-2611-009")]
    assert run_cli("run", "esim_activation_queue", env=at).returncode == 0
    assert len([r for r in world.state()["refund_requests"] if r["order_id"] == "PSB-2611-009"]) == 1
    # the eSIM fee comes after the close: it goes back too, once
    world.post("/__mock/rows/esim_payments", {"order_id": "PSB-2611-009", "amount": "25000", "paid_at": "now",
                                              "channel": "BNI VA"})
    for _ in range(2):
        assert run_cli("run", "esim_activation_queue", env=at).returncode == 0
    closed = [r for r in world.state()["refund_requests"] if r["order_id"] == "PSB-2611-009"]
    assert sorted((r["amount"], r["reference"]) for r in closed) == [(25000, "RF-PSB-2611-009-2"),
                                                                    (150000, "RF-PSB-2611-009")]
    assert "PSB-2611-009" not in batched_orders(tmp_path)


def test_a_configured_wait_refunds_without_a_person(esim, tmp_path):
    world, env, _ = esim
    config = tmp_path / "config"
    config.mkdir()
    from tests.conftest import ROOT
    text = (ROOT / "config" / "bots.toml").read_text().replace('refund_after = "confirmation"', 'refund_after = "2h"')
    (config / "bots.toml").write_text(text)
    env = {**env, "BOTS_CONFIG_DIR": str(config)}
    assert run_cli("run", "esim_activation_queue", env=env).returncode == 0
    assert refunds(world) == []  # waiting since this run
    world.post("/__mock/clock", {"advance": "3h"})
    at = {**env, "BOTS_NOW": world.get("/__mock/clock")["now"]}
    assert run_cli("run", "esim_activation_queue", env=at).returncode == 0
    assert refunds(world) == sorted(TO_CONFIRM)


@pytest.mark.parametrize("point", ["refund:after_send", "batch:after_intent"])
def test_killed_while_requesting_refunds_or_issuing_a_batch(esim, point):
    world, env, tmp_path = esim
    world.post("/__mock/clock", {"advance": "25h"})  # PSB-2611-009 closes with its upfront paid: a refund
    env = {**env, "BOTS_NOW": world.get("/__mock/clock")["now"]}
    killed = run_cli("run", "esim_activation_queue", env={**env, "BOTS_CRASH_AT": point})
    assert killed.returncode == -9
    done = run_cli("run", "esim_activation_queue", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert refunds(world) == ["PSB-2611-009"]  # once; nothing refunded without a person's confirmation
    assert sorted(batched_orders(tmp_path)) == sorted(VALID)  # no order in two batches
    assert len(batch_files(tmp_path)) == 1


def fill(path, rows: dict[str, tuple], target=None):
    book = load_workbook(path)
    sheet = book["Batch Aktivasi"]
    header = [c.value for c in sheet[6]]
    for row in sheet.iter_rows(min_row=7):
        if row[0].value in rows:
            status, msisdn, when = rows[row[0].value]
            row[header.index("Status Aktivasi")].value = status
            row[header.index("MSISDN")].value = msisdn
            row[header.index("Diaktifkan Pada")].value = when
    out = target or path.with_name("filled-" + path.name)
    book.save(out)
    return out, sheet, header


@pytest.mark.parametrize("change, message", [
    ("locked", "locked cell changed (Paket)"),
    ("msisdn", "MSISDN"),
    ("unknown", "unknown order"),
    ("sheet", "no sheet named 'Batch Aktivasi'"),
])
def test_import_of_a_broken_batch_exits_2_naming_the_cell(issued, change, message):
    world, env, tmp_path = issued
    filled, _, _ = fill(batch_files(tmp_path)[0], {"PSB-2611-001": ("AKTIF", "081234567001",
                                                                    datetime(2026, 11, 23, 10, 0))},
                        target=tmp_path / f"broken-{change}.xlsx")
    book = load_workbook(filled)
    sheet = book["Batch Aktivasi"]
    header = [c.value for c in sheet[6]]
    if change == "locked":
        sheet.cell(row=7, column=header.index("Paket") + 1).value = "Halo 500K"
    elif change == "msisdn":
        sheet.cell(row=7, column=header.index("MSISDN") + 1).value = "12345"
    elif change == "unknown":
        sheet.cell(row=8, column=1).value = "PSB-9999-999"
    else:
        sheet.title = "Sheet1"
    book.save(filled)
    done = run_cli("esim", "import", str(filled), env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and filled.name in done.stderr
    if change != "sheet":
        assert "cell " in done.stderr
    assert "3603121505900001" not in done.stderr  # never a NIK in a message


def test_zz_import_of_a_filled_batch_gives_deposit_due_dates_across_holidays(issued):
    world, env, tmp_path = issued
    filled, _, _ = fill(batch_files(tmp_path)[0], {"PSB-2611-001": ("AKTIF", "081234567001", datetime(2026, 8, 14, 10, 0)),
                                 "PSB-2611-012": ("GAGAL", None, None)})
    done = run_cli("esim", "import", str(filled), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "27/08/2026" in done.stdout  # Fri 14 Aug + 7 working days, without 17 and 25 August
    status = load_workbook(next((tmp_path / "reports" / "esim").glob("esim-status-*.xlsx")))
    [deposit] = list(status["Setoran Upfront"].iter_rows(min_row=2, values_only=True))
    assert deposit[0] == "PSB-2611-001" and deposit[1] == "081234567001"
    assert deposit[4] == datetime(2026, 8, 27, 23, 59, 59)  # a deadline is a moment: the end of that day
    assert deposit[7] == "DEPOSIT_OVERDUE"
    [failed] = sheet_rows(status_file(tmp_path), "Gagal Aktivasi")
    assert failed["No. Pesanan"] == "PSB-2611-012" and failed["Kode"] == "ACTIVATION_FAILED"

    # the aggregator's deposit list shows the setoran: the item closes at the next run
    world.post("/__mock/rows/esim_deposits", {"order_id": "PSB-2611-001", "msisdn": "081234567001",
                                              "amount": "175000", "deposited_at": "2026-08-20T10:00:00+07:00",
                                              "reference": "STR-0001"})
    assert run_cli("run", "esim_activation_queue", env=env).returncode == 0
    [deposit] = sheet_rows(status_file(tmp_path), "Setoran Upfront")
    assert deposit["Kode"] == "DEPOSIT_RECEIVED" and deposit["Disetor"] == datetime(2026, 8, 20, 10, 0)

    # a re-import that changes a recorded value stops, listing it, unless accepted
    changed, _, _ = fill(batch_files(tmp_path)[0], {"PSB-2611-001": ("AKTIF", "081234567999",
                                                                     datetime(2026, 8, 14, 10, 0))},
                         target=tmp_path / "changed.xlsx")
    refused = run_cli("esim", "import", str(changed), env=env)
    assert refused.returncode == 2 and "PSB-2611-001 MSISDN: 081234567001 → 081234567999" in refused.stderr
    accepted = run_cli("esim", "import", str(changed), "--accept-changes", env=env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    [deposit] = sheet_rows(status_file(tmp_path), "Setoran Upfront")
    assert deposit["MSISDN"] == "081234567999"
    from tests.stores import store_query
    [(payload,)] = store_query(env, "select payload from actions where kind = 'reimport_change'")
    assert "081234567001" in payload

    # a lost batch file is written again from the store, the same; a file still there is never rewritten
    original = batch_files(tmp_path)[0]
    kept = [[c.value for c in row] for row in load_workbook(original)["Batch Aktivasi"].iter_rows()]
    batch_id = original.stem.removeprefix("batch-aktivasi-")
    assert run_cli("esim", "reissue", batch_id, env=env).returncode == 2
    original.unlink()
    again = run_cli("esim", "reissue", batch_id, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [[c.value for c in row] for row in load_workbook(original)["Batch Aktivasi"].iter_rows()] == kept
    assert len(batch_files(tmp_path)) == 1


def test_a_batch_name_already_taken_stops_the_run_naming_the_file(esim):
    from zoneinfo import ZoneInfo

    world, env, tmp_path = esim
    folder = tmp_path / "reports" / "esim"
    folder.mkdir(parents=True)
    day = datetime.now(ZoneInfo("Asia/Jakarta"))
    taken = folder / f"batch-aktivasi-{day:%Y%m%d}-01.xlsx"
    taken.write_text("not a batch")
    done = run_cli("run", "esim_activation_queue", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert taken.name in done.stderr and taken.read_text() == "not a batch"  # nothing overwritten
    taken.unlink()
    again = run_cli("run", "esim_activation_queue", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(batched_orders(tmp_path)) == sorted(VALID) and len(batch_files(tmp_path)) == 1


def test_each_person_is_told_once_and_no_customer_text_stops_the_bot(tmp_path, bot_env):
    folder = tmp_path / "world"
    folder.mkdir()
    for name in ("esim_orders.csv", "esim_payments.csv", "dukcapil.csv", "ismara.csv"):
        shutil.copy(WORLD / name, folder / name)
    users = (WORLD / "portal_users.csv").read_text().splitlines()
    (folder / "portal_users.csv").write_text("\n".join(
        [users[0]] + [u for u in users[1:] if u.split(",")[0] in ("indiana", "aggregator", "dukcapil", "ismara",
                                                                   "helpdesk")]) + "\n")
    world = MockWorld(seed=folder)
    try:
        env = bot_env(world.url, NOTIFY_URLS=f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages")
        # a customer's name with a control character and a formula, valid and paid
        world.post("/__mock/rows/esim_orders", {
            "order_id": "PSB-2611-099", "submitted_at": "-2h", "sales_agent": "DS-BLR-01",
            "customer_name": "=Budi\u0007 Santoso\u001b", "nik": "3603121505900099", "kk": "3603120101150099",
            "phone": "081311110099", "email": "b@contoh.id", "device": "Apple iPhone 15", "package": "Halo 150K",
            "upfront_amount": "150000", "esim_fee": "25000", "payment_method": "QRIS", "form_completed": "ya"})
        world.post("/__mock/rows/esim_payments", {"order_id": "PSB-2611-099", "amount": "175000", "paid_at": "-1h",
                                                  "channel": "QRIS"})
        world.post("/__mock/rows/dukcapil", {"nik": "3603121505900099", "kk": "3603120101150099", "name": "BUDI"})
        for _ in range(2):
            done = run_cli("run", "esim_activation_queue", env=env)
            assert done.returncode == 0, done.stdout + done.stderr
        assert "PSB-2611-099" in batched_orders(tmp_path)
        titles = [m["title"] for m in world.state()["helpdesk_messages"]]
        markers = sorted(t.split("]")[0] + "]" for t in titles)
        assert len(markers) == len(set(markers))  # each once, however often the bot runs
        assert "[PERANGKAT-PSB-2611-005]" in markers
        assert any(m.startswith("[FORMULIR-PSB-2611-006-") for m in markers)
        assert {f"[KONFIRMASI-REFUND-{o}]" for o in TO_CONFIRM} <= set(markers)
        assert not any("36031" in str(m) for m in world.state()["helpdesk_messages"])  # no NIK, no KK
    finally:
        world.stop()
