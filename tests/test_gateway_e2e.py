"""VA / retail deposits end to end: a real browser against the mock world's gateway and Otomax.

The reconciliation world (tests/reconcile_world.py) plus a payment gateway: every gateway code
once, the balances exact from GET /__mock/state, kill -9 during a gateway credit, the gateway
down, and the bot without a gateway configured.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from bots.reconcile.gateway import payment_marker
from chaos.gateway_checks import gateway_credits
from tests.conftest import DEMO_ENV, WORLD, MockWorld, run_cli
from tests.reconcile_world import CREDITS, ESCALATED, T0, absolute, env_file, write_world
from tests.stores import lose_store

pytestmark = pytest.mark.browser

REQUESTS = """reference,agent_id,amount,channel,created_at,expires_at,status
VR-1,AG1,500000,VA_BCA,-3h,+6h,OPEN
VR-2,AG2,250000,ALFAMART,-3h,+6h,OPEN
VR-3,AG3,100000,INDOMARET,-3h,+6h,OPEN
VR-4,AG4,300000,QRIS,-5h,-2h,OPEN
VR-5,AG3,150000,VA_MANDIRI,-3h,+6h,OPEN
VR-6,AG4,80000,VA_BNI,-3h,+6h,OPEN
VR-7,AG4,60000,VA_BNI,-3h,+6h,CANCELLED
VR-8,AG9,70000,QRIS,-3h,+6h,OPEN
"""
PAYMENTS = """payment_id,reference,channel,amount,fee,status,created_at,paid_at,settled_at
PG-01,VR-1,VA_BCA,500000,4000,PAID,-3h,-2h,
PG-02,VR-2,ALFAMART,250000,5000,SETTLED,-3h,-150m,-30m
PG-03,VR-404,VA_BNI,750000,4000,PAID,-90m,-80m,
PG-04,VR-3,INDOMARET,99000,5000,PAID,-3h,-2h,
PG-05,VR-4,QRIS,300000,2100,PAID,-3h,-1h,
PG-06,VR-1,VA_BCA,500000,4000,PAID,-70m,-60m,
PG-07,VR-5,VA_MANDIRI,150000,4000,PENDING,-2h,,
PG-08,VR-6,VA_BNI,80000,4000,FAILED,-2h,,
PG-09,VR-7,VA_BNI,60000,4000,PAID,-2h,-100m,
PG-10,VR-8,QRIS,70000,700,PAID,-2h,-100m,
"""
CODES = {"PG-01": "GATEWAY_CREDITED", "PG-02": "GATEWAY_CREDITED", "PG-03": "GATEWAY_UNKNOWN_REFERENCE",
         "PG-04": "GATEWAY_AMOUNT_MISMATCH", "PG-05": "GATEWAY_REQUEST_EXPIRED", "PG-06": "GATEWAY_PAID_TWICE",
         "PG-07": "GATEWAY_NOT_PAID", "PG-08": "GATEWAY_NOT_PAID", "PG-09": "GATEWAY_REQUEST_EXPIRED",
         "PG-10": "GATEWAY_CREDIT_REFUSED"}  # AG9: an agent the transaction server does not know
GATEWAY_ESCALATED = 6
GATEWAY_CREDITS = {"AG1": 500000, "AG2": 250000}


def write_gateway_world(folder):
    write_world(folder)
    users = (WORLD / "portal_users.csv").read_text(encoding="utf-8").splitlines()
    with (folder / "portal_users.csv").open("a", encoding="utf-8") as kept:
        kept.write("".join(u + "\n" for u in users if u.startswith("gateway,")))
    (folder / "deposit_requests.csv").write_text(absolute(REQUESTS), encoding="utf-8")
    (folder / "gateway_payments.csv").write_text(absolute(PAYMENTS), encoding="utf-8")
    return folder


@pytest.fixture
def gateway_world(tmp_path, bot_env):
    folder = write_gateway_world(tmp_path / "world")
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    env_path = env_file(folder)
    with env_path.open("a") as env_lines:
        env_lines.write("".join(line + "\n" for line in DEMO_ENV.read_text().splitlines()
                                if line.startswith("GATEWAY_")))
    env = bot_env(world.url, BOTS_ENV_FILE=str(env_path), COLUMNS="250", BOTS_NOW=T0.isoformat(),
                  NOTIFY_URLS=f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages")
    yield world, env, tmp_path
    world.stop()


def balances(world) -> dict[str, int]:
    return {a["agent_id"]: a["balance"] for a in world.state()["agents"]}


def moved(before: dict, after: dict) -> dict:
    return {a: after[a] - before[a] for a in after if after[a] != before[a]}


def plus(*credits: dict) -> dict:
    total: dict[str, int] = {}
    for credit in credits:
        for agent, amount in credit.items():
            total[agent] = total.get(agent, 0) + amount
    return total


def gateway_adds(world) -> list[dict]:
    return [r for r in world.state()["balance_log"] if r["kind"] == "MANUAL" and r["note"].startswith("BOT:V-")]


def sheet(tmp_path) -> tuple[list[str], list[tuple]]:
    [path] = list((tmp_path / "reports" / "rekonsiliasi").glob("rekonsiliasi-*.xlsx"))
    book = load_workbook(path)
    rows = list(book["Deposit VA-Retail"].iter_rows(values_only=True))
    return book.sheetnames, rows


def codes_in_sheet(rows) -> dict[str, str]:
    header = rows[1]
    return {r[0]: r[header.index("Kode")] for r in rows[2:] if r[0] and str(r[0]).startswith("PG-")}


def test_every_code_once_balances_exact_workbook_tied_out_and_finance_closes_one(gateway_world):
    world, env, tmp_path = gateway_world
    before = balances(world)
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert moved(before, balances(world)) == plus(CREDITS, GATEWAY_CREDITS)
    adds = gateway_adds(world)
    assert sorted((a["agent_id"], a["amount"], a["note"].split()[0]) for a in adds) == sorted([
        ("AG1", 500000, payment_marker("PG-01")), ("AG2", 250000, payment_marker("PG-02"))])
    assert len(world.state()["helpdesk_messages"]) == ESCALATED + GATEWAY_ESCALATED

    names, rows = sheet(tmp_path)
    assert names[:5] == ["Ringkasan", "Kredit Otomatis", "Eskalasi", "Mutasi", "Tiket Terbuka"]
    assert codes_in_sheet(rows) == CODES
    header = rows[1]
    assert header == ("ID", "Referensi", "Agen", "Kanal", "Nominal", "Biaya", "Neto", "Status", "Waktu Bayar",
                      "Kode", "Alasan")
    totals = {r[0]: r for r in rows if r[0] in ("Total kita (PAID + SETTLED)",
                                                "Total payment gateway (ringkasan harian)", "Selisih (harus 0)")}
    paid = 500000 + 250000 + 750000 + 99000 + 300000 + 500000 + 60000 + 70000
    fees = 4000 + 5000 + 4000 + 5000 + 2100 + 4000 + 4000 + 700
    assert totals["Total kita (PAID + SETTLED)"][4:7] == (paid, fees, paid - fees)
    assert totals["Total payment gateway (ringkasan harian)"][4:7] == (paid, fees, paid - fees)
    assert totals["Selisih (harus 0)"][4:7] == (0, 0, 0) and totals["Selisih (harus 0)"][9] == "GATEWAY_TIED_OUT"
    book = load_workbook(next((tmp_path / "reports" / "rekonsiliasi").glob("*.xlsx")))
    assert book["Deposit VA-Retail"]["E3"].number_format == '"Rp" #,##0'
    mutasi = [r for r in book["Mutasi"].iter_rows(values_only=True)]
    assert not any(r[2] == "GATEWAY" for r in mutasi)  # the banks' lines only
    ringkasan = [r[1] for r in book["Ringkasan"].iter_rows(values_only=True)]
    assert "GATEWAY_CREDITED" in ringkasan and "GATEWAY_TIED_OUT" in ringkasan

    listing = run_cli("escalations", "list", env=env)
    for code in ("GATEWAY_UNKNOWN_REFERENCE", "GATEWAY_AMOUNT_MISMATCH", "GATEWAY_REQUEST_EXPIRED",
                 "GATEWAY_PAID_TWICE", "GATEWAY_CREDIT_REFUSED"):
        assert code in listing.stdout
    mismatch = next(int(m) for m in re.findall(r"│\s*ESK-(\d+)\s*│[^\n]*GATEWAY_AMOUNT_MISMATCH", listing.stdout))
    resolved = run_cli("escalations", "resolve", f"ESK-{mismatch}", "--agent", "AG3", "--note", "VA kurang bayar",
                       env=env)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    unknown = next(int(m) for m in re.findall(r"│\s*ESK-(\d+)\s*│[^\n]*GATEWAY_UNKNOWN_REFERENCE", listing.stdout))
    assert run_cli("escalations", "resolve", str(unknown), "--reject", "--note", "refund", env=env).returncode == 0

    # the agent pays the pending one at the counter; the next run credits it, and nothing else again
    world.control("gateway/PG-07", {"status": "PAID", "paid_at": (T0 - timedelta(minutes=5)).isoformat()})
    again = run_cli("run", "reconcile_payments", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert moved(before, balances(world)) == plus(CREDITS, GATEWAY_CREDITS, {"AG3": 99000 + 150000})
    assert len(gateway_adds(world)) == 3 and len(world.state()["helpdesk_messages"]) == ESCALATED + GATEWAY_ESCALATED
    assert codes_in_sheet(sheet(tmp_path)[1]) == {**CODES, "PG-07": "GATEWAY_CREDITED"}

    # a lost store: everything is read again, and the balance log shows what was already added
    lose_store(tmp_path)
    rebuilt = run_cli("run", "reconcile_payments", env=env)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert moved(before, balances(world)) == plus(CREDITS, GATEWAY_CREDITS, {"AG3": 99000 + 150000})
    assert len(gateway_adds(world)) == 3
    assert gateway_credits(world.state()) == []  # the chaos invariant, on this world


@pytest.mark.parametrize("point", ["manual:after_in_flight", "manual:after_add", "manual:after_done@2"])
def test_killed_during_a_gateway_credit_then_rerun_credits_once(gateway_world, point):
    world, env, tmp_path = gateway_world
    before = balances(world)
    killed = run_cli("run", "reconcile_payments", env={**env, "BOTS_CRASH_AT": point})
    assert killed.returncode == -9, f"{point} never reached: {killed.stdout} {killed.stderr}"
    assert len(gateway_adds(world)) <= 2
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert moved(before, balances(world)) == plus(CREDITS, GATEWAY_CREDITS)
    assert sorted(a["note"].split()[0] for a in gateway_adds(world)) == sorted(
        [payment_marker("PG-01"), payment_marker("PG-02")])
    titles = [m["title"] for m in world.state()["helpdesk_messages"]]
    assert len(titles) == len(set(titles)) == ESCALATED + GATEWAY_ESCALATED
    assert codes_in_sheet(sheet(tmp_path)[1]) == CODES
    assert gateway_credits(world.state()) == []


def test_a_gateway_down_leaves_the_banks_reconciled_and_exits_3_naming_it(gateway_world):
    world, env, tmp_path = gateway_world
    before = balances(world)
    world.post("/__mock/faults", {"maintenance": True, "portals": ["gateway"]})
    down = run_cli("run", "reconcile_payments", env=env)
    assert down.returncode == 3, down.stdout + down.stderr
    assert "gateway" in down.stderr
    assert moved(before, balances(world)) == CREDITS and gateway_adds(world) == []
    assert (tmp_path / "reports" / "rekonsiliasi").exists()  # the banks' workbook was written
    world.post("/__mock/faults", {})
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert moved(before, balances(world)) == plus(CREDITS, GATEWAY_CREDITS)


def test_without_a_gateway_configured_the_bot_runs_as_before(gateway_world):
    world, env, tmp_path = gateway_world
    without = tmp_path / "no-gateway.env"
    without.write_text("".join(line + "\n" for line in open(env["BOTS_ENV_FILE"]).read().splitlines()
                               if not line.startswith("GATEWAY_")))
    before = balances(world)
    done = run_cli("run", "reconcile_payments", env={**env, "BOTS_ENV_FILE": str(without)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert moved(before, balances(world)) == CREDITS and "GATEWAY" not in done.stdout
    [path] = list((tmp_path / "reports" / "rekonsiliasi").glob("*.xlsx"))
    assert "Deposit VA-Retail" not in load_workbook(path).sheetnames


def test_dry_run_shows_the_gateway_plan_and_changes_nothing(gateway_world):
    world, env, tmp_path = gateway_world
    before = world.state()
    done = run_cli("run", "reconcile_payments", "--dry-run", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    for code in set(CODES.values()) - {"GATEWAY_CREDIT_REFUSED"}:  # the server's refusal is known only by acting
        assert code in done.stdout
    after = world.state()
    assert after["agents"] == before["agents"] and after["balance_log"] == before["balance_log"]
    assert after["helpdesk_messages"] == [] and not (tmp_path / "reports" / "rekonsiliasi").exists()


def test_a_credit_that_cannot_be_read_back_is_in_doubt_never_added_again_until_a_person_decides(gateway_world):
    """The server keeps 10 characters of a note: the marker is cut, the add cannot be verified."""
    world, env, tmp_path = gateway_world
    before = balances(world)
    world.post("/__mock/faults", {"note_limit": 10, "portals": ["otomax"]})
    first = run_cli("run", "reconcile_payments", env=env)
    assert "In doubt" in first.stdout, first.stdout + first.stderr
    world.post("/__mock/faults", {})
    again = run_cli("run", "reconcile_payments", env=env)
    assert again.returncode == first.returncode, again.stdout + again.stderr
    added = [r for r in world.state()["balance_log"] if r["kind"] == "MANUAL"]
    assert sorted((r["agent_id"], r["amount"]) for r in added) == [("AG1", 500000), ("AG2", 250000)]  # once each
    assert moved(before, balances(world)) == plus(CREDITS, GATEWAY_CREDITS)
    codes = codes_in_sheet(sheet(tmp_path)[1])
    assert codes["PG-01"] == codes["PG-02"] == "GATEWAY_IN_DOUBT"
    for payment in ("PG-01", "PG-02"):
        decided = run_cli("doubts", "decide", f"gateway:{payment}", "--done", "--note", "ada di riwayat saldo", env=env)
        assert decided.returncode == 0, decided.stdout + decided.stderr
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert codes_in_sheet(sheet(tmp_path)[1]) == CODES
    assert len([r for r in world.state()["balance_log"] if r["kind"] == "MANUAL"]) == 2
