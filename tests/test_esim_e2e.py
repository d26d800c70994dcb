"""esim_activation_queue end to end: batches, refunds, closing, GraPARI's workbook back."""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests.conftest import WORLD, MockWorld, run_cli

pytestmark = pytest.mark.browser

VALID = {"PSB-2611-001", "PSB-2611-012"}
REFUNDED = {"PSB-2611-002", "PSB-2611-003", "PSB-2611-004", "PSB-2611-005", "PSB-2611-006", "PSB-2611-007",
            "PSB-2611-008"}


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
def issued(tmp_path_factory, suite_logs):
    """One world and one run for the import tests (a refused import changes nothing)."""
    import os

    from tests.conftest import DEMO_ENV
    tmp_path = tmp_path_factory.mktemp("esim-import")
    world = start_world(tmp_path)
    env = {**os.environ, "BOTS_ENV_FILE": str(DEMO_ENV), "PORTALS_BASE_URL": world.url,
           "VAR_DIR": str(tmp_path / "var"), "REPORTS_DIR": str(tmp_path / "reports"), "LOGS_DIR": str(suite_logs),
           "COLUMNS": "200"}
    for key in [k for k in env if k.startswith(("BANK_", "OTOMAX_", "SUPPLIER_", "HELPDESK_", "NOTIFY_"))]:
        del env[key]
    done = run_cli("run", "esim_activation_queue", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    yield world, env, tmp_path
    world.stop()


def batch_files(tmp_path):
    return sorted((tmp_path / "reports" / "esim").glob("batch-aktivasi-*.xlsx"))


def batched_orders(tmp_path) -> list[str]:
    found = []
    for path in batch_files(tmp_path):
        sheet = load_workbook(path)["Batch Aktivasi"]
        found += [row[0] for row in sheet.iter_rows(min_row=7, values_only=True) if row[0]]
    return found


def refunds(world) -> list[str]:
    return sorted(r["order_id"] for r in world.state()["refund_requests"])


def test_valid_orders_batched_once_invalid_refunded_once_unpaid_closed(esim):
    world, env, tmp_path = esim
    done = run_cli("run", "esim_activation_queue", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(batched_orders(tmp_path)) == sorted(VALID)
    assert refunds(world) == sorted(REFUNDED)
    status = load_workbook(next((tmp_path / "reports" / "esim").glob("esim-status-*.xlsx")))
    assert status.sheetnames == ["Ringkasan", "Menunggu Pembayaran", "Refund", "Setoran Upfront"]
    waiting = [r[0] for r in status["Menunggu Pembayaran"].iter_rows(min_row=2, values_only=True)]
    assert sorted(waiting) == ["PSB-2611-009", "PSB-2611-011"]
    summary = {r[0]: r[1] for r in status["Ringkasan"].iter_rows(min_row=4, values_only=True) if r[0]}
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
    assert sorted(batched_orders(tmp_path)) == sorted(VALID) and refunds(world) == sorted(REFUNDED)
    # a payment arrives for a waiting order: it is checked and goes into a new batch
    world.post("/__mock/rows/esim_payments", {"order_id": "PSB-2611-009", "amount": "25000", "paid_at": "now",
                                              "channel": "BNI VA"})
    world.post("/__mock/rows/dukcapil", {"nik": "3603120909870009", "kk": "3603120909210009", "name": "HENDRA"})
    third = run_cli("run", "esim_activation_queue", env=env)
    assert third.returncode == 0, third.stderr
    assert len(batch_files(tmp_path)) == 2 and sorted(batched_orders(tmp_path)) == sorted(VALID | {"PSB-2611-009"})


@pytest.mark.parametrize("point", ["refund:after_send", "batch:after_intent"])
def test_killed_while_requesting_refunds_or_issuing_a_batch(esim, point):
    world, env, tmp_path = esim
    killed = run_cli("run", "esim_activation_queue", env={**env, "BOTS_CRASH_AT": point})
    assert killed.returncode == -9
    done = run_cli("run", "esim_activation_queue", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert refunds(world) == sorted(REFUNDED)  # none twice, none missing
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
    assert deposit[4] == datetime(2026, 8, 27)
