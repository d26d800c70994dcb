"""The console's Bon / TOP screen in a real Chromium: the supervisor grants and refuses waiting
requests (the CLI's path, journaled), finance only reads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bots.konsol import people
from bots.konsol.app import ConsoleServer, create_app
from bots.settings import load_settings
from tests.conftest import MockWorld
from tests.konsol_pages import submit
from tests.reconcile_world import T0, env_file
from tests.test_bon_e2e import write_bon_world

pytestmark = pytest.mark.browser

PASSWORD = "kata-sandi-uji-123"


@pytest.fixture
def konsol(tmp_path, suite_logs, module_store_env):
    folder = write_bon_world(tmp_path / "world")
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    settings = load_settings(env_file=env_file(folder), environ={}, overrides={
        "PORTALS_BASE_URL": world.url, "VAR_DIR": str(tmp_path / "var"), "REPORTS_DIR": str(tmp_path / "reports"),
        "LOGS_DIR": str(suite_logs), "BOTS_NOW": T0.isoformat(), "BOTS_RETRY_ATTEMPTS": "2",
        "CONSOLE_SECRET_KEY": "k" * 48, **module_store_env})
    from bots.runner import run_bot

    run_bot("reconcile_payments", settings)
    app = create_app(settings)
    store = app.extensions["konsol"].store
    for login, role in (("spv.budi", "supervisor"), ("ani.finance", "finance")):
        people.add_person(store, login, role, PASSWORD, app.extensions["konsol"].clock.now(), "test")
    server = ConsoleServer(app).start()
    yield server.url, world, settings
    server.stop()
    world.stop()


@pytest.fixture
def browser(konsol):
    from playwright.sync_api import sync_playwright

    from bots.browser import resolve_browser

    with sync_playwright() as p:
        chromium = p.chromium.launch(**resolve_browser(konsol[2].browser_path).launch_options())
        yield chromium
        chromium.close()


def person(browser, url: str, login: str):
    page = browser.new_context(base_url=url).new_page()
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(login)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    submit(page.get_by_role("button", name="Masuk"))
    page.get_by_role("heading", name="Ringkasan").wait_for()
    return page


def test_the_supervisor_grants_and_refuses_and_finance_only_reads(browser, konsol):
    url, world, _ = konsol
    before = {a["agent_id"]: a["balance"] for a in world.state()["agents"]}
    spv = person(browser, url, "spv.budi")
    submit(spv.get_by_role("navigation").get_by_role("link", name="Bon / TOP"))
    table = spv.get_by_role("table", name="Permintaan bon")
    expect(table.get_by_role("row")).to_have_count(1 + 5)  # header + the five waiting requests
    r2 = table.get_by_role("row").filter(has_text="R2 ")
    expect(r2).to_contain_text("B-OLD2 Rp 200.000")
    spv.get_by_label("Catatan R2", exact=True).fill("atasan setuju: agen lama")
    submit(spv.get_by_role("form", name="Putuskan R2").get_by_role("button", name="Setujui"))
    expect(spv.get_by_text("R2 granted: Rp 100.000 credited to AG2")).to_be_visible()
    spv.get_by_label("Catatan R8", exact=True).fill("agen baru <b>belum</b> ada riwayat")
    submit(spv.get_by_role("form", name="Putuskan R8").get_by_role("button", name="Tolak"))
    expect(table.get_by_role("row")).to_have_count(1 + 3)

    state = world.state()
    after = {a["agent_id"]: a["balance"] for a in state["agents"]}
    assert {a: after[a] - before[a] for a in after if after[a] != before[a]} == {"AG2": 100000}
    status = {r["request_id"]: r["status"] for r in state["bon_requests"]}
    assert status["R2"] == "GRANTED" and status["R8"] == "REFUSED"
    assert sorted(r["ticket_id"] for r in state["balance_log"] if r["kind"] == "bon") == ["R1", "R2", "R3", "R5"]

    finance = person(browser, url, "ani.finance")
    finance.goto("/bon")
    expect(finance.get_by_role("table", name="Permintaan bon").get_by_role("row")).to_have_count(1 + 3)
    expect(finance.get_by_role("button", name="Setujui")).to_have_count(0)
    token = finance.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = finance.request.post("/bon/R3B/putuskan", form={"csrf_token": token, "verdict": "grant", "note": "x"})
    assert answer.status == 403
    assert {r["request_id"]: r["status"] for r in world.state()["bon_requests"]}["R3B"] == "PENDING"
