"""The console's run, upload, eSIM, complaint and report screens in a real Chromium, against a
real console and a real world (tests/reconcile_world.py, not reconciled yet).

One world, one console and one browser for the module; each person is a browser context of
their own, typing into fields found by label and pressing buttons found by role. The tests
share the world in file order: the dry run first (it changes nothing), then the upload that
credits, then the screens that read what the runs left (Riwayat Run, Laporan). Every page a
test opens is screenshotted and its text checked for a NIK (16 digits).
"""

from __future__ import annotations

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from openpyxl import Workbook, load_workbook

from bots.konsol import people
from bots.konsol.app import ConsoleServer, create_app
from bots.konsol.roles import PERMISSIONS, ROLES
from bots.lock import run_lock
from bots.settings import load_settings
from tests.conftest import DEMO_ENV, MockWorld, run_cli
from tests.konsol_pages import settled, submit
from tests.reconcile_world import BCA, EXPECTED_CODES, T0, env_file, write_world
from tests import test_konsol_browser
from tests.test_konsol_browser import PASSWORD, SIXTEEN, person, token
from tests.test_konsol_services import FEE, PAID_TK1, bca_export

pytestmark = pytest.mark.browser

#: my screens, with the permission that opens each
SCREENS = {"/riwayat-run": "runs.view", "/jalankan": "runs.start", "/unggah-mutasi": "mutasi.upload",
           "/esim": "esim.view", "/komplain": "komplain.view", "/komplain/supervisor": "komplain.supervise",
           "/laporan": "laporan.view"}


class Shots:
    """Every page visited, screenshotted; none of them shows a NIK."""

    def __init__(self, folder):
        self.folder, self.count = folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page, name: str) -> None:
        self.count += 1
        settled(page)
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"))
        assert not SIXTEEN.search(page.inner_text("body")), (name, page.url)

    def visit(self, page, path: str, name: str | None = None) -> None:
        assert page.goto(path).status == 200, path
        self.take(page, name or path.strip("/").replace("/", "-"))


@pytest.fixture(scope="module")
def konsol(tmp_path_factory, suite_logs, module_store_env):
    folder = tmp_path_factory.mktemp("konsol-screens")
    world = MockWorld(seed=write_world(folder / "world"))
    world.post("/__mock/clock", {"set": T0.isoformat()})
    settings = load_settings(env_file=env_file(folder), environ={}, overrides={
        "PORTALS_BASE_URL": world.url, "VAR_DIR": str(folder / "var"), "REPORTS_DIR": str(folder / "reports"),
        "LOGS_DIR": str(suite_logs), "BOTS_NOW": T0.isoformat(), "BOTS_RETRY_ATTEMPTS": "1",
        "CONSOLE_SECRET_KEY": "k" * 48, **module_store_env})
    app = create_app(settings)
    store = app.extensions["konsol"].store
    for role in ROLES:
        people.add_person(store, role, role, PASSWORD, T0, "test")
    server = ConsoleServer(app).start()
    yield {"url": server.url, "world": world, "store": store, "settings": settings, "folder": folder,
           "shots": Shots(folder / "shots")}
    server.stop()
    world.stop()


#: one Chromium for the module: the fixture of test_konsol_browser, started on this module's console
browser = test_konsol_browser.browser


def balances(konsol) -> dict[str, int]:
    return {a["agent_id"]: a["balance"] for a in konsol["world"].state()["agents"]}


def finished(page) -> None:
    """Wait for the launch on the page to end (htmx asks for its state every second)."""
    page.locator("#launch[data-state=finished]").wait_for(timeout=120_000)


def test_each_screen_opens_for_its_roles_and_refuses_the_others_even_a_hand_made_post(browser, konsol):
    shots = konsol["shots"]
    for role in ROLES:
        page = person(browser, konsol, role)
        for path, permission in SCREENS.items():
            if role in PERMISSIONS[permission]:
                shots.visit(page, path, f"{role}-{path.strip('/').replace('/', '-')}")
            else:
                assert page.request.get(path).status == 403, (role, path)
        if role == "cs":  # neither finance's upload nor GraPARI's acts, nor a batch with NIK in it
            csrf = token(page)
            upload = {"csrf_token": csrf, "berkas": {"name": "m.csv", "mimeType": "text/csv",
                                                     "buffer": bca_export(BCA, PAID_TK1)}}
            assert page.request.post("/unggah-mutasi", multipart=upload).status == 403
            for act in ("konfirmasi-refund", "batalkan"):
                answer = page.request.post(f"/esim/{act}", form={"csrf_token": csrf, "order": "PSB-2611-002",
                                                                 "note": "cs mencoba"})
                assert answer.status == 403
            assert page.request.get("/laporan/unduh/esim/batch-aktivasi-20261123-01.xlsx").status == 403
        if role == "grapari":  # no runs
            csrf = token(page)
            assert page.request.post("/jalankan", form={"csrf_token": csrf, "bot": "reconcile_payments",
                                                        "mode": "sekarang"}).status == 403
            assert page.request.post("/riwayat-run/x/ulang", form={"csrf_token": csrf}).status == 403
        if role == "finance":
            assert page.request.post("/jalankan", form={"bot": "reconcile_payments", "mode": "uji"}).status == 400
        page.context.close()
    assert konsol["world"].state()["balance_log"] == [] and not (konsol["folder"] / "var" / "konsol").exists()


def test_a_dry_run_shows_its_plan_and_a_held_lock_refuses_a_run_naming_its_holder(browser, konsol):
    before = balances(konsol)
    page = person(browser, konsol, "finance")
    with run_lock(konsol["settings"], "check_pending_tx", now=T0):
        page.goto("/jalankan")
        assert f"dipegang pid {os.getpid()}" in page.get_by_role("table", name="Bot").inner_text()
        submit(page.get_by_role("button", name="Jalankan sekarang check_pending_tx"))  # answered under the lock
        assert f"kunci dipegang pid {os.getpid()}" in page.get_by_role("alert").inner_text()
    konsol["shots"].take(page, "jalankan-terkunci")
    submit(page.get_by_role("button", name="Uji coba reconcile_payments"))
    assert "/jalankan/" in page.url
    finished(page)
    konsol["shots"].take(page, "jalankan-uji-coba")
    plan = page.get_by_role("table", name="Rencana")
    assert plan.get_by_role("columnheader").all_inner_texts() == ["Bank", "Rekening", "Tanggal", "Nominal", "D/K",
                                                                    "Kode", "Alasan"]
    rows = plan.locator("tbody tr").all()
    assert sorted(row.locator("td").nth(5).inner_text() for row in rows) == EXPECTED_CODES
    assert "23/11/2026\tRp 500.123\tCR\tAUTO_CREDITED" in plan.inner_text()  # WIB dates, money in rupiah
    assert "uji coba selesai" in page.get_by_role("table", name="Status run").inner_text()
    assert balances(konsol) == before and konsol["world"].state()["balance_log"] == []  # a dry run changes nothing
    page.goto("/jalankan")
    assert "uji coba" in page.get_by_role("table", name="Run dari konsol").inner_text()
    page.context.close()


def test_an_upload_previewed_and_processed_credits_its_exact_match_once(browser, konsol):
    shots, before = konsol["shots"], balances(konsol)
    page = person(browser, konsol, "finance")

    def upload(name: str, data: bytes) -> None:
        page.goto("/unggah-mutasi")
        page.get_by_label("Berkas ekspor mutasi").set_input_files({"name": name, "mimeType": "text/csv",
                                                                   "buffer": data})
        submit(page.get_by_role("button", name="Pratinjau"))

    upload("rusak.csv", bca_export(BCA, PAID_TK1.replace("500123.00,CR", "5001x3.00,CR"), FEE))
    alert = page.get_by_role("alert").inner_text()
    assert "rusak.csv, baris 7, kolom 4 (Jumlah)" in alert and "tidak ada yang diproses" in alert, alert
    shots.take(page, "mutasi-rusak")
    assert list((konsol["folder"] / "var" / "konsol" / "mutasi").glob("*.csv")) == []  # a bad file is not kept

    upload("mutasi 23-11.csv", bca_export(BCA, PAID_TK1, FEE))
    shots.take(page, "mutasi-pratinjau")
    facts = page.get_by_role("table", name="Berkas").inner_text()
    for shown in ("KlikBCA Individual", f"BCA {BCA}", "23/11/2026 – 23/11/2026", "Rp 500.123 (1 baris)",
                  "Rp 17.000 (1 baris)", "2: 2 baru, 0 sudah dikenal"):
        assert shown in facts, (shown, facts)
    lines = page.get_by_role("table", name="Baris mutasi").inner_text()
    assert "BUDI SANTOSO" in lines and lines.count("baru") == 2
    preview_url = page.url
    submit(page.get_by_role("button", name="Proses"))
    assert "/unggah-mutasi/hasil/" in page.url
    finished(page)
    shots.take(page, "mutasi-hasil")
    assert "berhasil" in page.get_by_role("table", name="Status run").inner_text()
    assert "AUTO_CREDITED\t1" in page.get_by_role("table", name="Ringkasan run").inner_text()
    page.reload()  # POST-redirect-GET: a reload shows the result and sends nothing
    page.goto(preview_url)  # the same file again: every line known now, nothing to credit
    assert "2: 0 baru, 2 sudah dikenal" in page.get_by_role("table", name="Berkas").inner_text()
    after = balances(konsol)
    assert {a: after[a] - before[a] for a in after if after[a] != before[a]} == {"AG1": 500123}
    assert [r["ticket_id"] for r in konsol["world"].state()["balance_log"]] == ["TK1"]  # credited once

    upload("lain.csv", bca_export("9999999999", PAID_TK1))
    alert = page.get_by_role("alert").inner_text()
    assert "9999999999 bukan rekening perusahaan" in alert and BCA in alert, alert
    shots.take(page, "mutasi-rekening-lain")
    assert konsol["world"].state()["balance_log"] == [r for r in konsol["world"].state()["balance_log"]
                                                      if r["ticket_id"] == "TK1"]
    page.context.close()


def test_the_history_lists_a_cli_run_with_its_log_lines_and_its_failure_capture(browser, konsol, tmp_path):
    world, settings = konsol["world"], konsol["settings"]
    only_helpdesk = tmp_path / "helpdesk.env"
    only_helpdesk.write_text("".join(line + "\n" for line in DEMO_ENV.read_text().splitlines()
                                     if line.startswith("HELPDESK_")))
    world.post("/__mock/faults", {"maintenance": True, "portals": ["helpdesk"]})
    # no BOTS_NOW: the run is recorded at the real time, as its log lines are
    done = run_cli("run", "portal_check", env={
        **os.environ, "BOTS_ENV_FILE": str(only_helpdesk), "PORTALS_BASE_URL": world.url,
        "VAR_DIR": str(settings.var_dir), "REPORTS_DIR": str(settings.reports_dir),
        "LOGS_DIR": str(settings.logs_dir), "BOTS_RETRY_ATTEMPTS": "1", "DATABASE_URL": settings.database_url})
    world.post("/__mock/faults", {})
    assert done.returncode == 3, done.stdout + done.stderr
    run_id = next(line.split()[3] for line in done.stderr.splitlines() if "run started" in line)

    page = person(browser, konsol, "cs")
    page.goto("/riwayat-run")
    page.get_by_label("Bot", exact=True).select_option("portal_check")
    submit(page.get_by_role("button", name="Saring"))
    assert "bot=portal_check" in page.url  # the filtered page, not the one before it
    konsol["shots"].take(page, "riwayat-run-saring")
    table = page.get_by_role("table", name="Run").inner_text()
    assert run_id in table and "portal mati" in table and "reconcile_payments" not in table
    submit(page.get_by_role("link", name=run_id))  # loaded: the screenshot image too
    konsol["shots"].take(page, "riwayat-run-detail")
    assert "3" in page.get_by_role("row", name="Kode keluar").inner_text()
    log = page.get_by_role("table", name="Baris log").inner_text()
    assert "run started" in log and "did not pass the check" in log
    shot = page.get_by_role("img", name="Tangkapan layar helpdesk")
    assert shot.evaluate("img => img.complete && img.naturalWidth > 0")  # shown inline
    html = page.request.get(page.get_by_role("link", name="HTML halaman (teks, unduh)").get_attribute("href"))
    assert html.headers["content-type"].startswith("text/plain") and "attachment" in html.headers[
        "content-disposition"] and html.headers["x-content-type-options"] == "nosniff"
    with run_lock(settings, "portal_check", now=T0):  # Jalankan ulang: refused while the bot runs
        submit(page.get_by_role("button", name="Jalankan ulang"))  # answered under the lock
        assert f"kunci dipegang pid {os.getpid()}" in page.get_by_role("alert").inner_text()
    assert page.request.get(f"/riwayat-run/{run_id}/tangkapan/..%2F..%2Fvar%2Fbots.sqlite3").status == 404
    page.context.close()


def test_a_bad_batch_upload_names_its_cell_and_records_nothing(browser, konsol, tmp_path):
    from bots.esim.batch import SHEET

    book = Workbook()
    book.active.title = SHEET
    book.active["B2"] = "20991231-01"
    book.save(tmp_path / "batch-aktivasi-20991231-01.xlsx")
    page = person(browser, konsol, "grapari")
    page.goto("/esim")
    page.get_by_label("Berkas batch terisi (xlsx dari GraPARI)").set_input_files(
        tmp_path / "batch-aktivasi-20991231-01.xlsx")
    submit(page.get_by_role("button", name="Unggah batch"))
    alert = page.get_by_role("alert").inner_text()
    assert "batch-aktivasi-20991231-01.xlsx, sel B2: unknown batch" in alert and "tidak ada yang dicatat" in alert
    konsol["shots"].take(page, "esim-batch-salah")
    page.get_by_label("Berkas batch terisi (xlsx dari GraPARI)").set_input_files(
        {"name": "batch.xlsx", "mimeType": "application/octet-stream", "buffer": b"bukan excel"})
    submit(page.get_by_role("button", name="Unggah batch"))
    assert "batch.xlsx: not an Excel workbook" in page.get_by_role("alert").inner_text()
    answer = page.request.post("/esim/konfirmasi-refund", form={"csrf_token": token(page), "order": "PSB-1",
                                                                "note": " "})
    assert "Catatan wajib" in answer.text()  # a note is required
    page.context.close()


def test_reports_listed_by_kind_and_downloaded(browser, konsol):
    page = person(browser, konsol, "finance")
    page.goto("/laporan")
    konsol["shots"].take(page, "laporan")
    assert "Batch aktivasi eSIM" not in page.get_by_label("Jenis").inner_text()  # finance has no esim.view
    page.get_by_label("Jenis").select_option(label="Rekonsiliasi bank")
    page.get_by_label("Dari tanggal").fill("2026-11-23")
    submit(page.get_by_role("button", name="Saring"))
    with page.expect_download() as download:
        page.get_by_role("link", name="rekonsiliasi-2026-11-23.xlsx").click()
    with open(download.value.path(), "rb") as handle:
        book = load_workbook(handle)
    assert book.sheetnames and download.value.suggested_filename == "rekonsiliasi-2026-11-23.xlsx"
    page.get_by_label("Jenis").select_option(label="Komplain supplier")
    submit(page.get_by_role("button", name="Saring"))
    assert "Tidak ada workbook" in page.get_by_role("table", name="Laporan").inner_text()
    assert page.request.get("/laporan/unduh/rekonsiliasi/..%2F..%2Fvar%2Fbots.sqlite3").status == 404
    page.context.close()


def test_open_complaint_cases_with_their_next_step_and_the_supervisors_view(browser, konsol):
    from bots.complaints.book import ComplaintBook
    from bots.complaints.ladder import Step

    def pending(trx_id: str, minutes_ago: int) -> SimpleNamespace:  # as the transaction server lists one
        return SimpleNamespace(trx_id=trx_id, created_at=now - timedelta(minutes=minutes_ago), status="PENDING",
                               agent_id="AG1", product="S10", destination="081200000001", price=10500,
                               supplier="MITRA", sn=None)

    now = T0  # the console's clock (BOTS_NOW)
    book = ComplaintBook(konsol["store"])
    book.follow([pending("T1", 20), pending("T2", 60)], now - timedelta(minutes=20))
    for trx, step, level, ago in [("T1", "complaint", "normal", 17), ("T2", "hard_complaint", "hard", 45),
                                  ("T2", "supervisor", None, 10)]:
        book.record_step(Step(trx, step, "mitra", level, step.upper(), "alasan", timedelta(minutes=1)),
                         f"REF-{trx}-{step}", now - timedelta(minutes=ago))
    page = person(browser, konsol, "cs")
    page.goto("/komplain")
    konsol["shots"].take(page, "komplain-cs")
    cases = page.get_by_role("table", name="Kasus komplain").inner_text()
    assert "T1" in cases and "T2" in cases and "Rp 10.500" in cases and "Mitra Pulsa Nusantara" in cases
    assert page.get_by_role("link", name="Tampilan supervisor").count() == 0
    page.context.close()
    page = person(browser, konsol, "supervisor")
    page.goto("/komplain")
    submit(page.get_by_role("link", name="Tampilan supervisor"))
    konsol["shots"].take(page, "komplain-supervisor")
    rows = page.get_by_role("table", name="Kasus komplain").locator("tbody tr").all_inner_texts()
    assert len(rows) == 1 and rows[0].startswith("T2") and "SUPERVISOR_REMINDER" in rows[0]
    page.context.close()
    assert konsol["shots"].count == len(list(konsol["shots"].folder.glob("*.png")))
