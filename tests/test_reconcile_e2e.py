"""reconcile_payments end to end: a real browser against the mock world, then the workbook."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.conftest import run_cli
from tests.reconcile_world import CREDITS, MANDIRI, ESCALATED, EXPECTED_CODES, running_world

pytestmark = pytest.mark.browser


@pytest.fixture
def reconcile(tmp_path, bot_env):
    yield from running_world(tmp_path, bot_env)


def balances(world) -> dict[str, int]:
    return {a["agent_id"]: a["balance"] for a in world.state()["agents"]}


def workbook(tmp_path):
    [path] = list((tmp_path / "reports" / "rekonsiliasi").glob("rekonsiliasi-*.xlsx"))
    return load_workbook(path)


def mutasi_codes(book) -> list[str]:
    sheet = book["Mutasi"]
    header = [c.value for c in sheet[1]]
    return sorted(row[header.index("Kode")] for row in sheet.iter_rows(min_row=2, values_only=True)
                  if row[0] != "Total")  # the table's totals row


def test_one_run_credits_exact_matches_and_escalates_the_rest(reconcile):
    world, env, tmp_path = reconcile
    before = balances(world)
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    after = balances(world)
    assert {a: after[a] - before[a] for a in after if after[a] != before[a]} == CREDITS
    state = world.state()
    approved = {t["ticket_id"] for t in state["tickets"] if t["status"] == "APPROVED"}
    assert approved == {"TK1", "TK2", "TK7"}
    assert sorted((r["ticket_id"], r["amount"]) for r in state["balance_log"]) == [("TK1", 500123), ("TK2", 250087)]
    assert len(state["helpdesk_messages"]) == ESCALATED
    book = workbook(tmp_path)
    assert book.sheetnames[:5] == ["Ringkasan", "Kredit Otomatis", "Eskalasi", "Mutasi", "Tiket Terbuka"]
    assert mutasi_codes(book) == EXPECTED_CODES
    assert book["Mutasi"]["G2"].number_format == '"Rp" #,##0'
    assert book["Eskalasi"].max_row == 1 + ESCALATED + 1  # header, the escalations, the totals row

    again = run_cli("run", "reconcile_payments", env=env)
    assert again.returncode == 0, again.stderr
    assert balances(world) == after and len(world.state()["helpdesk_messages"]) == ESCALATED
    assert mutasi_codes(workbook(tmp_path)) == EXPECTED_CODES  # still every line exactly once


def test_dry_run_prints_the_plan_and_changes_nothing(reconcile):
    world, env, tmp_path = reconcile
    before = world.state()
    done = run_cli("run", "reconcile_payments", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    for code in set(EXPECTED_CODES):
        assert code in done.stdout
    after = world.state()
    assert after["agents"] == before["agents"] and after["tickets"] == before["tickets"]
    assert after["helpdesk_messages"] == [] and not (tmp_path / "reports" / "rekonsiliasi").exists()


KILL_POINTS = ["approve:after_intent", "approve:after_in_flight", "approve:after_click", "approve:after_done",
               "notify:after_send"]


def test_killed_at_each_step_in_turn_then_rerun_credits_once(reconcile):
    """kill -9 at every step of the protocol, each run dying while recovering the last one."""
    world, env, tmp_path = reconcile
    before = balances(world)
    for point in KILL_POINTS:
        if point.startswith("notify:"):
            # a new transfer to escalate, whatever order the earlier runs took the lines in
            world.post("/__mock/rows/mutations", {
                "bank": "mandiri", "account_no": MANDIRI, "posted_at": "-20m", "amount": "2000000", "direction": "CR",
                "description": "Trf Inw CN TRANSFER MANUAL TANPA TIKET"})
        killed = run_cli("run", "reconcile_payments", env={**env, "BOTS_CRASH_AT": point})
        assert killed.returncode == -9, f"{point} was never reached: {killed.stdout} {killed.stderr}"
        assert len(world.state()["balance_log"]) <= 2  # never a credit twice, at any moment
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    after = balances(world)
    assert {a: after[a] - before[a] for a in after if after[a] != before[a]} == CREDITS
    state = world.state()
    assert sorted(r["ticket_id"] for r in state["balance_log"]) == ["TK1", "TK2"]
    titles = [m["title"] for m in state["helpdesk_messages"]]
    assert len(titles) == len(set(titles)) == ESCALATED + 1  # never twice, none lost (the new transfer too)
    assert mutasi_codes(workbook(tmp_path)) == sorted(EXPECTED_CODES + ["NO_TICKET_ROUND_AMOUNT"])


def test_commit_then_drop_on_approval_still_credits_once(reconcile):
    world, env, tmp_path = reconcile
    world.post("/__mock/faults", {"drop_rate": 1.0, "portals": ["otomax"]})
    first = run_cli("run", "reconcile_payments", env=env)
    world.post("/__mock/faults", {})
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, first.stderr + done.stdout + done.stderr
    assert len(world.state()["balance_log"]) == 2
    assert mutasi_codes(workbook(tmp_path)) == EXPECTED_CODES


def test_overlapping_statement_files_add_nothing(reconcile):
    world, env, tmp_path = reconcile
    assert run_cli("run", "reconcile_payments", env=env).returncode == 0
    before = world.state()
    book_before = mutasi_codes(workbook(tmp_path))
    # staff download the same account by hand, twice, with overlapping ranges
    from datetime import date, timedelta

    from tests.conftest import Browserless
    person = Browserless(world.url)
    person.login("/bank/bca", "kasir.bca", "Bca-demo-8841")
    today = date.fromisoformat(world.get("/__mock/clock")["now"][:10])
    files = []
    for start in (today - timedelta(days=2), today - timedelta(days=1)):
        request = person.opener.open(f"{world.url}/bank/bca/mutasi/unduh?rekening=5270418836&dari={start}"
                                     f"&sampai={today}&format=bca-individual")
        files.append(tmp_path / f"manual-{start}.csv")
        files[-1].write_bytes(request.read())
    done = run_cli("run", "reconcile_payments", "--statement", str(files[0]), "--statement", str(files[1]), env=env)
    assert done.returncode == 0, done.stderr
    assert "New statement lines" in done.stdout
    after = world.state()
    assert after["agents"] == before["agents"] and after["helpdesk_messages"] == before["helpdesk_messages"]
    assert mutasi_codes(workbook(tmp_path)) == book_before


def test_escalation_resolved_by_finance_credits_once_and_reject(reconcile):
    world, env, tmp_path = reconcile
    assert run_cli("run", "reconcile_payments", env=env).returncode == 0
    listing = run_cli("escalations", "list", env=env)
    assert listing.returncode == 0 and "NO_TICKET_ROUND_AMOUNT" in listing.stdout
    import re
    round_id = next(int(m) for m in re.findall(r"│\s*ESK-(\d+)\s*│[^\n]*NO_TICKET_ROUND_AMOUNT", listing.stdout))
    killed = run_cli("escalations", "resolve", str(round_id), "--agent", "AG4", "--note", "transfer manual Andi",
                     env={**env, "BOTS_CRASH_AT": "manual:after_add"})
    assert killed.returncode == -9
    done = run_cli("escalations", "resolve", str(round_id), "--agent", "AG4", "--note", "transfer manual Andi",
                   env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    manual = [r for r in world.state()["balance_log"] if r["kind"] == "MANUAL"]
    assert len(manual) == 1 and manual[0]["amount"] == 1000000
    marker = manual[0]["note"].split()[0]  # the line's marker, first, so a note cut short keeps it
    assert marker.startswith("BOT:M-") and len(marker) <= 24 and "transfer manual Andi" in manual[0]["note"]
    again = run_cli("escalations", "resolve", f"ESK-{round_id}", "--agent", "AG4", "--note", "lagi", env=env)
    assert again.returncode == 0 and "already resolved" in again.stdout  # a double click: nothing again
    other_agent = run_cli("escalations", "resolve", f"ESK-{round_id}", "--agent", "AG1", "--note", "lagi", env=env)
    assert other_agent.returncode == 2 and "already resolved" in other_agent.stderr
    other = next(int(m) for m in re.findall(r"│\s*ESK-(\d+)\s*│[^\n]*NO_MATCHING_TICKET", listing.stdout))
    rejected = run_cli("escalations", "resolve", str(other), "--reject", "--note", "bukan setoran", env=env)
    assert rejected.returncode == 0
    assert len([r for r in world.state()["balance_log"] if r["kind"] == "MANUAL"]) == 1
    assert len(manual) == 1


def test_a_bad_statement_file_exits_2_and_the_good_one_is_still_read(reconcile):
    from tests.conftest import ROOT
    from tests.stores import store_query
    world, env, tmp_path = reconcile
    good = ROOT / "fixtures" / "statements" / "bca-individual.csv"
    bad = ROOT / "fixtures" / "bad" / "statements" / "bca-decimal-comma.csv"
    done = run_cli("run", "reconcile_payments", "--statement", str(bad), "--statement", str(good),
                   "--accept-old-statement", env=env)
    assert done.returncode == 2
    assert "bca-decimal-comma.csv, line" in done.stderr and "column" in done.stderr
    sources = dict(store_query(env, "SELECT source, count(*) FROM statement_lines GROUP BY source"))
    assert sources.get(str(good), 0) > 0 and not any("decimal-comma" in s for s in sources)
