"""The console's data layer (bots/konsol/services): real store, real files, the real mock world."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bots.errors import BusinessError, InputFileError, RunLocked
from bots.konsol.services import NotFound
from bots.konsol.services import complaints, esim, launch, reports, runs, statements
from bots.lock import run_lock
from bots.settings import load_settings
from bots.store import Store
from tests.conftest import DEMO_ENV, ROOT, MockWorld, run_cli
from tests.stores import bot_runs_env
from tests.parsers.support import FIXTURES
from tests.reconcile_world import BCA, EXPECTED_CODES, T0, env_file, write_world

JAKARTA = T0.tzinfo


def make_settings(tmp_path: Path, logs: Path, **env):
    environ = {"VAR_DIR": str(tmp_path / "var"), "REPORTS_DIR": str(tmp_path / "reports"), "LOGS_DIR": str(logs),
               "BOTS_RETRY_ATTEMPTS": "2", **bot_runs_env(), **env}
    return load_settings(environ=environ, root=ROOT)


@pytest.fixture
def offline(tmp_path, suite_logs):
    """Settings and a migrated store without any world (the store-only screens)."""
    settings = make_settings(tmp_path, tmp_path / "logs", BOTS_NOW=T0.isoformat())
    store = Store(settings.database_url)
    store.migrate()
    yield settings, store
    store.dispose()


# -- Riwayat Run -----------------------------------------------------------------------------------

def test_runs_filtered_by_bot_outcome_and_day_with_their_log_lines_and_captures(offline):
    settings, store = offline
    day = T0.astimezone(timezone.utc)
    for run_id, bot, started, outcome, code in [
            ("r1", "reconcile_payments", day - timedelta(days=1), "ok", 0),
            ("r2", "reconcile_payments", day, "portal_down", 3),
            ("r3", "check_pending_tx", day, "ok", 0),
            ("r4", "reconcile_payments", day + timedelta(minutes=5), None, None)]:
        store.start_run(bot, run_id, started, pid=123)
        if outcome:
            store.finish_run(run_id, started + timedelta(seconds=4), outcome, code, {"new_lines": 2}, None)
    assert [r.run_id for r in runs.list_runs(store)] == ["r4", "r3", "r2", "r1"]  # same start: the later first
    assert [r.run_id for r in runs.list_runs(store, bot="reconcile_payments", outcome="portal_down")] == ["r2"]
    assert [r.run_id for r in runs.list_runs(store, outcome="running")] == ["r4"]
    assert [r.run_id for r in runs.list_runs(store, start=T0.date() - timedelta(days=1),
                                             end=T0.date() - timedelta(days=1))] == ["r1"]
    assert {"reconcile_payments", "check_pending_tx", "esim_activation_queue"} <= set(runs.run_filters(store).bots)

    log = settings.logs_dir / f"bots-{T0:%Y-%m-%d}.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"time": (T0 + timedelta(seconds=i)).isoformat(), "level": "INFO", "run_id": run_id, "bot": "x",
              "message": text, "extra": {}, "where": "bots.x:f:1"}
             for i, (run_id, text) in enumerate([("r2", "run started"), ("r3", "someone else's"),
                                                  ("r2", "order of NIK 3603121505900001 checked")])]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n{cut short", encoding="utf-8")
    artifacts = settings.reports_dir / "artifacts" / "r2"
    artifacts.mkdir(parents=True)
    (artifacts / "01-bank-bca.png").write_bytes(b"\x89PNG")
    (artifacts / "01-bank-bca.html").write_text("<html>maintenance</html>")
    (artifacts / "01-bank-bca.txt").write_text("portal bank_bca: maintenance\n")
    settings.var_dir.mkdir(parents=True, exist_ok=True)  # the SQLite store made it; PostgreSQL's does not
    (settings.var_dir / "secret.txt").write_text("not yours")

    detail = runs.run_detail(settings, store, "r2")
    assert (detail.run.exit_code, detail.run.counts) == (3, {"new_lines": 2})
    assert [line.message for line in detail.log] == ["run started", "order of NIK <16 digit> checked"]
    [capture] = detail.captures
    assert (capture.portal, capture.screenshot, capture.html, capture.trace) == ("bank-bca", "01-bank-bca.png",
                                                                                 "01-bank-bca.html", None)
    assert capture.reason == "portal bank_bca: maintenance"
    shown = runs.capture_file(settings, "r2", "01-bank-bca.png")
    assert shown.media_type == "image/png" and shown.path.read_bytes() == b"\x89PNG"
    assert runs.capture_file(settings, "r2", "01-bank-bca.html").media_type.startswith("text/plain")
    (artifacts / "02-otomax.png").symlink_to(settings.var_dir / "secret.txt")
    for run_id, name in [("r2", "../../../var/secret.txt"), ("..", "r2"), ("r2", ".."), ("/etc", "passwd"),
                         ("r2", "02-otomax.png"), ("r1", "01-bank-bca.png"), ("r2", "01-bank-bca.png/")]:
        with pytest.raises(NotFound):
            runs.capture_file(settings, run_id, name)
    with pytest.raises(NotFound):
        runs.run_detail(settings, store, "nope")


# -- Jalankan --------------------------------------------------------------------------------------

def test_a_launch_is_refused_while_the_lock_is_held_naming_the_holder(offline):
    settings, _ = offline
    launcher = launch.Launcher(settings, cwd=ROOT)
    assert launch.who_holds(settings, "reconcile_payments") is None
    with run_lock(settings, "reconcile_payments", now=T0):
        holder = launch.who_holds(settings, "reconcile_payments")
        assert holder["pid"] == os.getpid()
        with pytest.raises(RunLocked, match=f"pid {os.getpid()}"):
            launcher.start("reconcile_payments", by="ani")
    assert launch.who_holds(settings, "reconcile_payments") is None
    assert not launcher.root.exists() or not any(launcher.root.iterdir())  # nothing was started
    with pytest.raises(BusinessError, match="no bot named"):
        launcher.start("rm -rf", by="ani")


@pytest.fixture(scope="module")
def reconcile(tmp_path_factory, suite_logs, module_store_env):
    """One world for the reconciliation's screens: the tests that change nothing come first."""
    tmp_path = tmp_path_factory.mktemp("konsol-reconcile")
    folder = write_world(tmp_path / "world")
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    settings = make_settings(tmp_path, suite_logs, BOTS_ENV_FILE=str(env_file(folder)), PORTALS_BASE_URL=world.url,
                             BOTS_NOW=T0.isoformat(), **module_store_env)
    store = Store(settings.database_url)
    store.migrate()
    yield world, settings, store, launch.Launcher(settings, cwd=ROOT)
    store.dispose()
    world.stop()


def balances(world) -> dict[str, int]:
    return {a["agent_id"]: a["balance"] for a in world.state()["agents"]}


@pytest.mark.browser
def test_a_dry_run_gives_its_plan_as_rows_and_changes_nothing(reconcile):
    world, settings, store, launcher = reconcile
    before = balances(world)
    started = launcher.start("reconcile_payments", by="ani", dry_run=True)
    done = launcher.wait(started.id, 120)
    assert (done.state, done.exit_code, done.outcome, done.by) == ("finished", 0, "dry_run", "ani"), done.tail
    assert done.run_id and done.run_id in " ".join(done.tail)
    assert done.plan.header == ["Bank", "Rekening", "Tanggal", "Nominal", "D/K", "Kode", "Alasan"]
    assert sorted(row["Kode"] for row in done.plan.rows) == EXPECTED_CODES
    assert {row["Rekening"] for row in done.plan.rows if row["Bank"] == "BCA"} == {BCA}
    assert balances(world) == before and runs.list_runs(store) == []  # a dry run writes nothing anywhere
    assert [s.id for s in launcher.launches()] == [started.id]
    assert launcher.get(started.id).argv[-4:-2] == ["reconcile_payments", "--dry-run"]


# -- Unggah Mutasi ---------------------------------------------------------------------------------

def bca_export(account: str, *rows: str) -> bytes:
    return (f"No. rekening : {account}\nNama : PT TRAVELPULSA NUSANTARA\nPeriode : 23/11/2026 - 23/11/2026\n"
            "Kode Mata Uang : Rp\n\nTanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo\n"
            + "".join(row + "\n" for row in rows)).encode()


PAID_TK1 = "'23/11,'TRSF E-BANKING CR 2311/FTSCY/WS95051 500123.00 BUDI SANTOSO,'0000,500123.00,CR,10500123.00"
FEE = "'23/11,'BIAYA ADM,'0000,17000.00,DB,10483123.00"


def test_previews_name_format_account_period_totals_and_new_lines(offline):
    settings, store = offline
    bca = statements.preview_statement(settings, store, (FIXTURES / "bca-individual.csv").read_bytes(),
                                       "mutasi-bca.csv", by="ani", accept_old=True)
    assert (bca.format_label, bca.bank, bca.account_no) == ("KlikBCA Individual", "bca", "5270418836")
    assert (bca.period_start, bca.period_end, bca.period_stated) == (date(2026, 9, 25), date(2026, 10, 5), True)
    assert (bca.credits, bca.debits, bca.credit_count, bca.debit_count) == (9500521, 1667000, 6, 3)
    assert (bca.opening_balance, bca.closing_balance) == (185450000, 193283521)
    assert bca.new_count == len(bca.lines) == 9 and bca.account_known is None  # no accounts known here
    assert bca.lines[1].amount == 500123 and bca.lines[1].line == 8 and bca.lines[1].direction == "CR"
    assert statements.upload_path(settings, bca.sha256).read_bytes() == (FIXTURES / "bca-individual.csv").read_bytes()

    mandiri = statements.preview_statement(settings, store, (FIXTURES / "mandiri-mcm.csv").read_bytes(),
                                           "mcm.csv", by="ani", accept_old=True)
    assert (mandiri.format_label, mandiri.account_no, mandiri.period_stated) == ("Mandiri MCM", "1560007734218",
                                                                                 False)
    assert (mandiri.period_start, mandiri.period_end) == (date(2026, 8, 3), date(2026, 8, 8))
    assert (mandiri.credits, mandiri.debits, len(mandiri.lines)) == (4000123, 756500, 5)
    assert mandiri.lines[1].posted_at == datetime(2026, 8, 3, 14, 2, 55, tzinfo=JAKARTA)

    with pytest.raises(InputFileError, match="statement_max_age_days") as old:
        statements.preview_statement(settings, store, (FIXTURES / "mandiri-mcm.csv").read_bytes(), "mcm.csv",
                                     by="ani")
    assert "mcm.csv" in str(old.value) and "var" not in str(old.value)  # named as finance named it

    broken = (FIXTURES / "bca-individual.csv").read_bytes().replace(b"'0000,500123.00,CR", b"'0000,5001x3.00,CR")
    with pytest.raises(InputFileError) as bad:
        statements.preview_statement(settings, store, broken, "rusak.csv", by="ani", accept_old=True)
    assert (bad.value.line, bad.value.column) == (8, "4 (Jumlah)")
    assert str(bad.value).startswith("rusak.csv, line 8, column 4 (Jumlah)")
    with pytest.raises(NotFound):  # a bad file is not kept: nothing to process
        statements.upload_path(settings, __import__("hashlib").sha256(broken).hexdigest())
    with pytest.raises(NotFound):
        statements.upload_path(settings, "../bots.sqlite3")


@pytest.mark.browser
def test_an_unknown_account_is_refused_naming_it_and_nothing_acted_on(reconcile):
    world, settings, store, launcher = reconcile
    before = world.state()
    preview = statements.preview_statement(settings, store, bca_export("9999999999", PAID_TK1), "x.csv", by="ani")
    assert preview.account_no == "9999999999" and preview.account_known is None
    done = launcher.wait(statements.process_statement(settings, launcher, preview.sha256, by="ani").id, 120)
    assert done.exit_code == 2 and done.outcome == "bad_input", done.tail
    assert "account 9999999999 (BCA) is not one of the company's configured accounts" in done.error
    after = world.state()
    assert after["agents"] == before["agents"] and after["balance_log"] == [] and after["helpdesk_messages"] == []


@pytest.mark.browser
def test_processing_an_upload_credits_its_exact_match_once(reconcile):
    world, settings, store, launcher = reconcile
    before = balances(world)
    data = bca_export(BCA, PAID_TK1, FEE)
    preview = statements.preview_statement(settings, store, data, "mutasi 23-11.csv", by="ani")
    assert (preview.new_count, preview.credits, preview.debits) == (2, 500123, 17000)

    first = launcher.wait(statements.process_statement(settings, launcher, preview.sha256, by="ani").id, 120)
    assert (first.exit_code, first.error) == (0, None), first.tail
    assert first.counts["AUTO_CREDITED"] == 1 and first.counts["new_lines"] == 2
    again = launcher.wait(statements.process_statement(settings, launcher, preview.sha256, by="ani").id, 120)
    assert again.exit_code == 0 and again.counts["new_lines"] == 0 and "AUTO_CREDITED" not in again.counts
    after = balances(world)
    assert {a: after[a] - before[a] for a in after if after[a] != before[a]} == {"AG1": 500123}
    assert [r["ticket_id"] for r in world.state()["balance_log"]] == ["TK1"]  # one credit

    known = statements.preview_statement(settings, store, data, "lagi.csv", by="ani")
    assert known.new_count == 0 and known.account_known is True  # the store knows the account now
    [run] = [r for r in runs.list_runs(store, bot="reconcile_payments") if r.run_id == first.run_id]
    assert run.outcome == "ok" and run.exit_code == 0


# -- eSIM ------------------------------------------------------------------------------------------

@pytest.fixture
def esim_world(tmp_path, suite_logs):
    from tests.test_esim_e2e import start_world

    world = start_world(tmp_path)
    settings = make_settings(tmp_path, suite_logs, BOTS_ENV_FILE=str(DEMO_ENV), PORTALS_BASE_URL=world.url)
    env = {**os.environ, **settings.env}
    done = run_cli("run", "esim_activation_queue", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    store = Store(settings.database_url)
    yield world, settings, store, env, tmp_path
    store.dispose()
    world.stop()


@pytest.mark.browser
def test_esim_refunds_confirmed_or_held_and_batches_imported_through_the_commands(esim_world):
    from tests.test_esim_e2e import TO_CONFIRM, fill

    world, settings, store, env, tmp_path = esim_world
    assert {w.order_id for w in esim.waiting_refunds(store)} == TO_CONFIRM
    done = esim.confirm_refund(settings, "PSB-2611-002", note="pelanggan setuju via WA", by="sari")
    assert (done.confirmed_by, done.already, done.refund_state, done.amount, done.reference) == (
        "sari", False, "done", 125000, "RF-PSB-2611-002")
    cli = run_cli("esim", "confirm-refund", "PSB-2611-002", "--note", "sekali lagi", env=env)
    assert cli.returncode == 0 and "was already confirmed by sari" in cli.stdout  # the CLI sees the same
    assert [r["order_id"] for r in world.state()["refund_requests"]] == ["PSB-2611-002"]
    assert {e.actor for e in store.events("confirm-refund:PSB-2611-002")} == {"person:sari"}

    held = esim.cancel_refund_wait(settings, "PSB-2611-003", note="pelanggan perbaiki data Dukcapil", by="sari")
    assert (held.held_by, held.already) == ("sari", False)
    assert esim.cancel_refund_wait(settings, "PSB-2611-003", note="lagi", by="budi").already
    assert {w.order_id for w in esim.waiting_refunds(store)} == TO_CONFIRM - {"PSB-2611-002", "PSB-2611-003"}
    [hold] = esim.held_refunds(store)
    assert (hold.order_id, hold.held_by, hold.held_note) == ("PSB-2611-003", "sari", "pelanggan perbaiki data Dukcapil")
    assert {e.actor for e in store.events("refund-hold:PSB-2611-003")} == {"person:sari"}
    with pytest.raises(BusinessError, match="PSB-2611-001 is VALID"):
        esim.cancel_refund_wait(settings, "PSB-2611-001", note="x", by="sari")
    assert [r["order_id"] for r in world.state()["refund_requests"]] == ["PSB-2611-002"]  # hold moves no money

    [batch] = esim.list_batches(settings, store)
    assert batch.file_present and batch.order_count == 2 and batch.activated == 0
    source = esim.batch_file(settings, batch.batch_id).path
    filled, sheet, header = fill(source, {"PSB-2611-001": ("AKTIF", "12345", datetime(2026, 11, 23, 10, 0))},
                                 target=tmp_path / "isi.xlsx")
    with pytest.raises(InputFileError) as bad:
        esim.import_batch(settings, filled.read_bytes(), source.name, by="gita")
    assert bad.value.column == f"cell {chr(ord('A') + header.index('MSISDN'))}7"
    assert str(bad.value).startswith(source.name) and "MSISDN" in str(bad.value)
    good, _, _ = fill(source, {"PSB-2611-001": ("AKTIF", "081234567001", datetime(2026, 11, 23, 10, 0))},
                      target=tmp_path / "isi-benar.xlsx")
    imported = esim.import_batch(settings, good.read_bytes(), source.name, by="gita")
    assert imported.batch_id == batch.batch_id and [r["msisdn"] for r in imported.rows] == ["081234567001"]
    assert esim.list_batches(settings, store)[0].activated == 1
    with pytest.raises(InputFileError, match="still there"):
        esim.reissue_batch(settings, batch.batch_id, by="gita")
    for name in ("../../var/bots.sqlite3", "20261123-99"):
        with pytest.raises(NotFound):
            esim.batch_file(settings, name)

    # with a configured wait, the bot refunds the waiting orders without a person, never a held one
    config = tmp_path / "config"
    config.mkdir()
    (config / "bots.toml").write_text((ROOT / "config" / "bots.toml").read_text().replace(
        'refund_after = "confirmation"', 'refund_after = "2h"'))
    world.post("/__mock/clock", {"advance": "3h"})
    later = {**env, "BOTS_CONFIG_DIR": str(config), "BOTS_NOW": world.get("/__mock/clock")["now"]}
    assert run_cli("run", "esim_activation_queue", env=later).returncode == 0
    refunded = {r["order_id"] for r in world.state()["refund_requests"]}
    assert TO_CONFIRM - {"PSB-2611-003"} <= refunded and "PSB-2611-003" not in refunded


# -- Komplain --------------------------------------------------------------------------------------

def test_open_complaint_cases_with_their_next_step_and_the_supervisors_view(offline):
    from dataclasses import dataclass

    from bots.complaints.book import ComplaintBook
    from bots.complaints.ladder import Step

    @dataclass
    class Tx:
        trx_id: str
        created_at: datetime
        status: str = "PENDING"
        agent_id: str = "AG1"
        product: str = "S10"
        destination: str = "081200000001"
        price: int = 10500
        supplier: str = "MITRA"
        sn: str | None = None

    settings, store = offline
    book = ComplaintBook(store)
    now = T0
    book.follow([Tx("T1", now - timedelta(minutes=20)), Tx("T2", now - timedelta(minutes=60)),
                 Tx("T3", now - timedelta(minutes=1))], now - timedelta(minutes=20))
    for trx, step, level, at in [("T1", "complaint", "normal", 17), ("T1", "hard_complaint", "hard", 4),
                                 ("T2", "hard_complaint", "hard", 45), ("T2", "supervisor", None, 10)]:
        book.record_step(Step(trx, step, "mitra", level, step.upper(), "alasan", timedelta(minutes=1)),
                         f"REF-{trx}-{step}", now - timedelta(minutes=at))
    cases = {c.trx_id: c for c in complaints.open_cases(settings, store, now)}
    assert set(cases) == {"T1", "T2", "T3"}
    assert cases["T1"].last_step.step == "hard_complaint" and cases["T1"].supplier_name == "Mitra Pulsa Nusantara"
    assert (cases["T1"].next_step.code, cases["T1"].next_step.due_at) == ("ESCALATED_SUPERVISOR",
                                                                        now + timedelta(minutes=26))
    assert (cases["T3"].next_step.code, cases["T3"].next_step.due_at) == ("COMPLAINT_SENT",
                                                                        now + timedelta(minutes=1))
    assert (cases["T2"].next_step.code, cases["T2"].next_step.due_at) == (
        "SUPERVISOR_REMINDER", now - timedelta(minutes=10) + timedelta(hours=24))
    assert [c.trx_id for c in complaints.supervisor_cases(settings, store, now)] == ["T2"]
    book.resolve("T3", "SUKSES", "SN1", now)
    book.follow([Tx("T3", now - timedelta(minutes=1), status="SUKSES", sn="SN1")], now)
    assert "T3" not in {c.trx_id for c in complaints.open_cases(settings, store, now)}


# -- Laporan ---------------------------------------------------------------------------------------

def test_reports_listed_by_day_and_kind_and_nothing_else_served(offline):
    settings, _ = offline
    folder = settings.reports_dir
    for path in ("rekonsiliasi/rekonsiliasi-2026-11-23.xlsx", "rekonsiliasi/rekonsiliasi-2026-11-22.xlsx",
                 "komplain/komplain-2026-11-23.xlsx", "esim/batch-aktivasi-20261123-01.xlsx",
                 "esim/esim-status-2026-11-21.xlsx"):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        book = Workbook()
        book.active.title = "Ringkasan"
        book.save(folder / path)
    (folder / "rekonsiliasi" / "catatan.txt").write_text("not a workbook")
    (folder / "artifacts" / "r1").mkdir(parents=True)
    (folder / "artifacts" / "r1" / "01-otomax.png").write_bytes(b"\x89PNG")
    outside = settings.var_dir / "bots.sqlite3"  # a link out of the reports folder (the SQLite store's place)
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.touch()
    (folder / "rekonsiliasi" / "rekonsiliasi-2026-11-24.xlsx").symlink_to(outside)

    listed = reports.list_reports(settings)
    assert [r.day for r in listed] == [date(2026, 11, 23)] * 3 + [date(2026, 11, 22), date(2026, 11, 21)]
    assert {r.path for r in listed} == {"rekonsiliasi/rekonsiliasi-2026-11-23.xlsx", "komplain/komplain-2026-11-23.xlsx",
                                        "esim/batch-aktivasi-20261123-01.xlsx", "rekonsiliasi/rekonsiliasi-2026-11-22.xlsx",
                                        "esim/esim-status-2026-11-21.xlsx"}
    assert [r.personal_data for r in listed if r.kind == "esim-batch"] == [True]
    assert [r.day for r in reports.list_reports(settings, kind="rekonsiliasi", start=date(2026, 11, 23))] == [
        date(2026, 11, 23)]
    shown = reports.report_file(settings, "komplain/komplain-2026-11-23.xlsx")
    assert shown.as_attachment and load_workbook(shown.path).sheetnames == ["Ringkasan"]
    for path in ("../var/bots.sqlite3", "rekonsiliasi/../../var/bots.sqlite3", "/etc/passwd",
                 "artifacts/r1/01-otomax.png", "rekonsiliasi/catatan.txt", "rekonsiliasi/rekonsiliasi-2026-11-24.xlsx",
                 "komplain/komplain-2026-11-30.xlsx", "esim/rekonsiliasi-2026-11-23.xlsx"):
        with pytest.raises(NotFound):
            reports.report_file(settings, path)
