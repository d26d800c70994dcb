"""The console in a real Chromium against a real world: roles, CSRF, one credit, limits, timeouts.

One world (tests/reconcile_world.py, reconciled once), one console (in a thread, port 0, an
injected clock the tests move) and one browser for the whole module; each person is a
browser context of their own, found and typed into by label and role as people do.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from bots.clock import JAKARTA
from bots.konsol import people
from bots.konsol.app import ConsoleServer, create_app
from bots.konsol.roles import NAVIGATION, PERMISSIONS, ROLES
from bots.reconcile.ledger import Ledger
from bots.settings import load_settings
from tests.conftest import MockWorld
from tests.konsol_pages import PAGE_TIMEOUT, settled, submit
from tests.reconcile_world import T0, env_file, write_world

pytestmark = pytest.mark.browser

PASSWORD = "kata-sandi-uji-123"
SIXTEEN = re.compile(r"(?<!\d)\d{16}(?!\d)")
#: every screen this module checks, with the permission that opens it
SCREENS = {"/ringkasan": "ringkasan.view", "/riwayat-run": "runs.view", "/jalankan": "runs.start",
           "/eskalasi": "eskalasi.view", "/unggah-mutasi": "mutasi.upload", "/esim": "esim.view",
           "/komplain": "komplain.view", "/ragu": "ragu.view", "/laporan": "laporan.view", "/audit": "audit.view"}


class ShiftedClock:
    """The real time plus an offset the tests move (sessions and the login limit use it)."""

    def __init__(self):
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(JAKARTA) + self.offset

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture(scope="module")
def konsol(tmp_path_factory, suite_logs, module_store_env):
    folder = tmp_path_factory.mktemp("konsol")
    seed = write_world(folder / "world")
    world = MockWorld(seed=seed)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    credentials = folder / "konsol.env"  # the transaction server, BCA and the inbox: all these tests need
    credentials.write_text("".join(line + "\n" for line in env_file(folder).read_text().splitlines()
                                   if not line.startswith("BANK_MANDIRI_")))
    settings = load_settings(env_file=credentials, environ={}, overrides={
        "PORTALS_BASE_URL": world.url, "VAR_DIR": str(folder / "var"), "REPORTS_DIR": str(folder / "reports"),
        "LOGS_DIR": str(suite_logs), "BOTS_NOW": T0.isoformat(), "BOTS_RETRY_ATTEMPTS": "2",
        "CONSOLE_SECRET_KEY": "k" * 48, **module_store_env})
    from bots.runner import run_bot

    run_bot("reconcile_payments", settings)
    clock = ShiftedClock()
    app = create_app(settings, clock=clock)
    store = app.extensions["konsol"].store
    for role in ROLES:
        people.add_person(store, role, role, PASSWORD, clock.now(), "test")
    people.add_person(store, "finance2", "finance", PASSWORD, clock.now(), "test")
    server = ConsoleServer(app).start()
    yield {"url": server.url, "world": world, "store": store, "clock": clock, "settings": settings,
           "shots": folder / "shots"}
    server.stop()
    world.stop()


@pytest.fixture(scope="module")
def browser(konsol):
    from playwright.sync_api import sync_playwright

    from bots.browser import resolve_browser

    with sync_playwright() as p:
        chromium = p.chromium.launch(**resolve_browser(konsol["settings"].browser_path).launch_options())
        yield chromium
        chromium.close()


def person(browser, konsol, login: str, password: str = PASSWORD):
    """A logged-in page of its own browser context."""
    context = browser.new_context(base_url=konsol["url"])
    page = context.new_page()
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(login)
    page.get_by_label("Kata sandi").fill(password)
    submit(page.get_by_role("button", name="Masuk"))
    page.get_by_role("heading", name="Ringkasan").wait_for()  # the login's answer is in (and its cookie)
    return page


def token(page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


def escalation(konsol, code: str):
    return next(e for e in Ledger(konsol["store"]).escalations() if e.code == code)


def manual_adds(konsol, agent: str) -> list[dict]:
    return [r for r in konsol["world"].state()["balance_log"] if r["agent_id"] == agent and r["kind"] == "MANUAL"]


def test_every_screen_for_every_role_is_200_or_403_screenshotted_without_nik(browser, konsol):
    """Every role asks for every screen (200 or 403, and no NIK in what it gets outside GraPARI's
    eSIM page); each page is drawn and screenshotted once, by the role that sees it."""
    shots, drawn = konsol["shots"], 0
    detail = f"/eskalasi/{escalation(konsol, 'AMOUNT_MISMATCH').id}"
    screens = {**SCREENS, detail: "eskalasi.view"}
    for role in ROLES:
        page = person(browser, konsol, role)
        links = [a.inner_text() for a in page.get_by_role("navigation").get_by_role("link").all()]
        assert links == [label for label, _, permission in NAVIGATION if role in PERMISSIONS[permission]]
        for path, permission in screens.items():
            answer = page.request.get(path)
            assert answer.status == (200 if role in PERMISSIONS[permission] else 403), (role, path)
            if not (role == "grapari" and path == "/esim"):
                assert not SIXTEEN.search(answer.text()), (role, path)
        for path in (list(screens) if role == "supervisor" else ["/esim", "/audit"] if role == "grapari" else []):
            page.goto(path)  # drawn: its screenshot, and its text as a person sees it
            settled(page)  # the escalation's candidates, with their names, are in the page
            page.screenshot(path=str(shots / f"{role}{path.replace('/', '-')}.png"))
            drawn += 1
            if path != "/esim":
                assert not SIXTEEN.search(page.inner_text("body")), (role, path)
        if role == "grapari":
            assert "Tidak diizinkan" in page.inner_text("body")  # the 403 page, as drawn
        page.context.close()
    assert len(list(shots.glob("*.png"))) == drawn == len(screens) + 2


def test_a_hand_made_post_from_cs_is_403_and_credits_nothing(browser, konsol):
    e = escalation(konsol, "AMOUNT_MISMATCH")
    page = person(browser, konsol, "cs")
    page.goto(f"/eskalasi/{e.id}")
    assert page.get_by_role("button", name="Selesaikan").count() == 0  # not shown, and refused anyway:
    answer = page.request.post(f"/eskalasi/{e.id}/selesaikan", form={
        "csrf_token": token(page), "agent": "AG3", "amount": "300.000", "note": "cs mencoba"})
    assert answer.status == 403
    for act in ("ambil", "tolak"):
        assert page.request.post(f"/eskalasi/{e.id}/{act}", form={"csrf_token": token(page), "note": "x"}).status \
            == 403
    assert page.request.post("/ragu/putuskan", form={"csrf_token": token(page), "key": "x", "verdict": "done",
                                                     "note": "x"}).status == 403
    assert manual_adds(konsol, "AG3") == [] and escalation(konsol, "AMOUNT_MISMATCH").status == "OPEN"
    page.context.close()


def test_a_post_without_csrf_token_is_400(browser, konsol):
    e = escalation(konsol, "AMOUNT_MISMATCH")
    page = person(browser, konsol, "finance")
    answer = page.request.post(f"/eskalasi/{e.id}/selesaikan", form={"agent": "AG3", "note": "tanpa token"})
    assert answer.status == 400 and "token" in answer.text()
    assert page.request.post(f"/eskalasi/{e.id}/ambil").status == 400
    assert manual_adds(konsol, "AG3") == []
    page.context.close()


def test_two_browsers_resolving_one_escalation_credit_once(browser, konsol):
    e = escalation(konsol, "AMOUNT_MISMATCH")
    before = {a["agent_id"]: a["balance"] for a in konsol["world"].state()["agents"]}["AG3"]
    pages = [person(browser, konsol, login) for login in ("finance", "finance2")]
    pages[0].goto(f"/eskalasi/{e.id}")
    submit(pages[0].get_by_role("button", name="Ambil"))
    assert "finance sejak" in pages[0].get_by_role("table", name="Mutasi").inner_text()
    for page in pages:
        page.goto(f"/eskalasi/{e.id}")
        page.get_by_role("cell", name="Konter Berkah", exact=True).wait_for()  # the agent's name, from the server
        form = page.get_by_role("form", name="Selesaikan")
        form.get_by_label("ID agen").fill("AG3")
        assert form.get_by_label("Nominal (Rp)").input_value() == "300.000"  # the line's amount
        form.get_by_label("Catatan").fill("transfer kurang dari tiket, konfirmasi WA")
    with pages[0].expect_navigation(timeout=60_000), pages[1].expect_navigation(timeout=60_000):
        for page in pages:  # both at once: the server gets two requests side by side
            page.get_by_role("button", name="Selesaikan").click(no_wait_after=True)
    for page in pages:
        page.reload()  # POST-redirect-GET: a reload sends nothing again
    adds = manual_adds(konsol, "AG3")
    assert len(adds) == 1 and adds[0]["amount"] == 300000 and adds[0]["note"].startswith("BOT:M-")
    after = {a["agent_id"]: a["balance"] for a in konsol["world"].state()["agents"]}["AG3"]
    assert after == before + 300000
    assert escalation(konsol, "AMOUNT_MISMATCH").status == "RESOLVED"
    assert "Selesai" in pages[1].get_by_role("heading", level=1).inner_text()
    actors = {ev.actor for ev in konsol["store"].events(f"manual:{e.fingerprint}")}
    assert actors & {"person:finance", "person:finance2"} and not any(a.startswith("run:") for a in actors)
    for page in pages:
        page.context.close()


def test_reject_needs_a_note_then_closes_without_credit(browser, konsol):
    e = escalation(konsol, "NO_MATCHING_TICKET")
    page = person(browser, konsol, "supervisor")
    page.goto(f"/eskalasi/{e.id}")
    form = page.get_by_role("form", name="Tolak")
    answer = page.request.post(f"/eskalasi/{e.id}/tolak", form={"csrf_token": token(page), "note": " "})
    assert answer.ok and "Catatan wajib" in answer.text() and escalation(konsol, "NO_MATCHING_TICKET").status == "OPEN"
    unknown = page.request.post(f"/eskalasi/{e.id}/selesaikan", form={  # checked on the server first
        "csrf_token": token(page), "agent": "AG999", "amount": "734.512", "note": "salah ketik"})
    assert "tidak diubah" in unknown.text() and "AG999" in unknown.text() and manual_adds(konsol, "AG999") == []
    assert escalation(konsol, "NO_MATCHING_TICKET").status == "OPEN"
    form.get_by_label("Alasan penolakan").fill("=1+1 bukan setoran agen: refund ke pengirim")
    submit(form.get_by_role("button", name="Tolak"))
    assert "Ditolak" in page.get_by_role("heading", level=1).inner_text()
    assert escalation(konsol, "NO_MATCHING_TICKET").status == "REJECTED"
    page.context.close()


def filtered(page, **chosen: str) -> None:
    """Wait for the queue htmx swapped in for these filters: it pushes their URL as it swaps."""
    page.wait_for_url(lambda url: all(parse_qs(urlsplit(url).query, keep_blank_values=True).get(key) == [value]
                                      for key, value in chosen.items()), timeout=PAGE_TIMEOUT)


def test_queue_filters_and_summary(browser, konsol):
    page = person(browser, konsol, "finance")
    page.goto("/eskalasi")
    queue = page.get_by_role("table", name="Antrian eskalasi")
    page.get_by_label("Kode").select_option("TICKET_EXPIRED")
    page.get_by_role("button", name="Saring").click()  # htmx: the queue is swapped, the page stays
    filtered(page, kode="TICKET_EXPIRED")
    rows = queue.get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("TICKET_EXPIRED")
    page.get_by_label("Status").select_option("SEMUA")
    page.get_by_label("Kode").select_option("")
    page.get_by_label("Cari teks").fill("KONTER BERKAH")
    page.get_by_role("button", name="Saring").click()
    filtered(page, kode="", status="SEMUA", q="KONTER BERKAH")
    expect(queue).to_contain_text("Selesai")
    page.goto("/ringkasan")
    bots = page.get_by_role("table", name="Bot").inner_text()
    assert "reconcile_payments" in bots and "berhasil" in bots and "setiap 2 menit" in bots
    assert "TICKET_EXPIRED" in page.get_by_role("table", name="Eskalasi terbuka per kode").inner_text()
    page.context.close()


def test_doubt_decided_by_a_supervisor_through_the_journal(browser, konsol):
    from bots.store import Owner

    store, now = konsol["store"], konsol["clock"].now()
    store.start_run("reconcile_payments", "doubt-run", now)
    owner = Owner.this_process("doubt-run")
    store.claim("notify:line:feedbeef", "reconcile_payments", "notify", {"marker": "[BOT:N-feedbeef]"}, owner, now,
                None, "[BOT:N-feedbeef]")
    store.mark_in_flight("notify:line:feedbeef", now, owner)
    store.mark_in_doubt("notify:line:feedbeef", "no inbox to read back", now, owner)
    store.finish_run("doubt-run", now, "ok", 0)
    finance = person(browser, konsol, "finance")
    finance.goto("/ragu")
    assert "notify:line:feedbeef" in finance.inner_text("body")
    assert finance.get_by_role("button", name="Simpan keputusan").count() == 0
    finance.context.close()
    page = person(browser, konsol, "supervisor")
    page.goto("/ragu")
    page.get_by_role("link", name="Periksa portal").click()  # htmx: read into the page
    page.get_by_text("Kotak masuk helpdesk tidak memuat [BOT:N-feedbeef].").wait_for()
    form = page.get_by_role("form", name="Putuskan notify:line:feedbeef")
    form.get_by_label("Tidak terjadi (bot boleh mengulang)").check()
    form.get_by_label("Catatan").fill("tidak ada di helpdesk")
    submit(form.get_by_role("button", name="Simpan keputusan"))
    assert "Keputusan dicatat" in page.inner_text("body")
    assert store.get_action("notify:line:feedbeef").state == "failed"
    assert store.events("notify:line:feedbeef")[-1].actor == "person:supervisor"
    page.goto("/audit")
    trail = page.get_by_role("table", name="Audit").inner_text()
    assert "Keputusan tindakan ragu" in trail and "Selesaikan" in trail and "Ambil" in trail and "Masuk" in trail
    with page.expect_download() as download:
        page.get_by_role("link", name="Unduh xlsx").click()
    from openpyxl import load_workbook

    with open(download.value.path(), "rb") as handle:
        sheet = load_workbook(handle)["Audit"]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert any(c.value == "=1+1 bukan setoran agen: refund ke pengirim" and c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for c in cells)
    page.get_by_label("Aksi").select_option("resolve")
    submit(page.get_by_role("button", name="Saring"))
    assert "RESOLVED AG3 Rp 300.000" in page.get_by_role("table", name="Audit").inner_text()
    page.context.close()


def test_login_limit_per_user_and_per_address_then_the_wait(browser, konsol):
    context = browser.new_context(base_url=konsol["url"])
    page = context.new_page()
    page.goto("/masuk")

    def attempt(login: str, password: str):
        page.get_by_label("Nama pengguna").fill(login)
        page.get_by_label("Kata sandi").fill(password)
        submit(page.get_by_role("button", name="Masuk"))  # the answer, even when it is /masuk again

    for _ in range(5):
        attempt("cs", "salah-salah-salah")
        assert "salah" in page.get_by_role("alert").inner_text()
    attempt("cs", PASSWORD)  # the right password, but within the minute: refused
    assert "Terlalu banyak percobaan" in page.get_by_role("alert").inner_text()
    konsol["clock"].advance(seconds=61)
    attempt("cs", PASSWORD)
    expect(page.get_by_role("heading", name="Ringkasan")).to_be_visible()
    context.clear_cookies()
    page.goto("/masuk")
    for n in range(5):  # five names from one address
        attempt(f"tamu{n}", "salah-salah-salah")
    attempt("grapari", PASSWORD)
    assert "Terlalu banyak percobaan" in page.get_by_role("alert").inner_text()
    konsol["clock"].advance(seconds=61)
    attempt("grapari", PASSWORD)
    expect(page.get_by_role("heading", name="Ringkasan")).to_be_visible()
    context.close()


def test_idle_timeout_after_15_minutes_on_the_injected_clock(browser, konsol):
    page = person(browser, konsol, "finance")
    konsol["clock"].advance(minutes=14)
    page.goto("/eskalasi")
    assert page.get_by_role("heading", name="Eskalasi").is_visible()
    konsol["clock"].advance(minutes=14)  # 14 minutes after the last request: still alive
    page.goto("/ringkasan")
    expect(page.get_by_role("heading", name="Ringkasan")).to_be_visible()
    konsol["clock"].advance(minutes=15)
    page.goto("/eskalasi")
    assert "/masuk" in page.url
    assert "tidak aktif 15 menit" in page.get_by_role("alert").inner_text()
    page.context.close()
