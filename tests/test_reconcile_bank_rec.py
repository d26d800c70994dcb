"""reconcile_payments as a bank reconciliation (issue 12), end to end against the mock world:
one line whatever the export, pending lines reversed, one bank down, a clock that disagrees,
--statement checks, text from outside, midnight and back-dated postings, the workbook."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from tests.conftest import run_cli
from tests.reconcile_world import BCA, MANDIRI, T0, running_world
from tests.stores import store_values

pytestmark = pytest.mark.browser


@pytest.fixture
def reconcile(tmp_path, bot_env):
    yield from running_world(tmp_path, bot_env)


def download(world, tmp_path, fmt: str, start: date, end: date, name: str | None = None):
    from tests.conftest import Browserless

    person = Browserless(world.url)
    person.login("/bank/bca", "kasir.bca", "Bca-demo-8841")
    answer = person.opener.open(f"{world.url}/bank/bca/mutasi/unduh?rekening={BCA}&dari={start}&sampai={end}"
                                f"&format={fmt}")
    disposition = answer.headers["Content-Disposition"]
    path = tmp_path / (name or disposition.split('filename="')[1].rstrip('"'))
    path.write_bytes(answer.read())
    return path


def db(tmp_path, sql: str):
    return store_values(tmp_path, sql)


def book_of(tmp_path, day: date):
    return load_workbook(tmp_path / "reports" / "rekonsiliasi" / f"rekonsiliasi-{day:%Y-%m-%d}.xlsx")


def test_the_same_money_in_individual_and_bisnis_files_is_one_line_credited_once(reconcile):
    world, env, tmp_path = reconcile
    today = T0.date()
    individual = download(world, tmp_path, "bca-individual", today, today)
    bisnis = download(world, tmp_path, "bca-bisnis", today - timedelta(days=1), today)  # as downloaded: no account
    first = run_cli("run", "reconcile_payments", "--statement", str(individual), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    lines, escalations = db(tmp_path, "select count(*) from statement_lines"), db(tmp_path, "select count(*) from escalations")
    messages = len(world.state()["helpdesk_messages"])
    second = run_cli("run", "reconcile_payments", "--statement", str(bisnis), env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert db(tmp_path, "select count(*) from statement_lines") == lines
    assert db(tmp_path, "select count(*) from escalations") == escalations
    assert len(world.state()["helpdesk_messages"]) == messages
    # the bank's own downloads too: still the same lines, nothing credited twice
    third = run_cli("run", "reconcile_payments", env=env)
    assert third.returncode == 0, third.stdout + third.stderr
    assert db(tmp_path, "select count(*) from statement_lines where bank = 'bca'") == lines
    assert sorted(r["ticket_id"] for r in world.state()["balance_log"]) == ["TK1", "TK2"]  # TK2: Mandiri's
    renamed = bisnis.rename(tmp_path / "mutasi.csv")
    refused = run_cli("run", "reconcile_payments", "--statement", str(renamed), env=env)
    assert refused.returncode == 2 and "--account" in refused.stderr
    given = run_cli("run", "reconcile_payments", "--statement", str(renamed), "--account", BCA, env=env)
    assert given.returncode == 0, given.stderr
    archived = db(tmp_path, "select archived_as from statement_files")
    assert len(archived) >= 3 and all((tmp_path / "reports" / a).is_file() for (a,) in archived)
    mutasi = book_of(tmp_path, today)["Mutasi"]
    header = [c.value for c in mutasi[1]]
    assert any(row[header.index("Berkas Bank (reports/)")] for row in mutasi.iter_rows(min_row=2, values_only=True))


def test_statement_of_an_account_not_ours_or_too_old_exits_2_and_acts_on_nothing(reconcile):
    world, env, tmp_path = reconcile
    today = T0.date()
    good = download(world, tmp_path, "bca-individual", today, today)
    foreign = tmp_path / "foreign.csv"
    foreign.write_bytes(good.read_bytes().replace(BCA.encode(), b"9990001112"))
    done = run_cli("run", "reconcile_payments", "--statement", str(foreign), env=env)
    assert done.returncode == 2 and "9990001112" in done.stderr and "not one of the company" in done.stderr
    old = tmp_path / "old.csv"
    old.write_bytes(good.read_bytes().replace(f"{today:%d/%m/%Y}".encode(), b"01/09/2026")
                    .replace(f"'{today:%d/%m}".encode(), b"'01/09"))
    done = run_cli("run", "reconcile_payments", "--statement", str(old), env=env)
    assert done.returncode == 2 and "older than" in done.stderr and "old.csv" in done.stderr
    assert world.state()["balance_log"] == [] and db(tmp_path, "select count(*) from escalations") == [(0,)]


def test_a_pending_line_credited_then_gone_is_pending_reversed_naming_the_credit(reconcile):
    world, env, tmp_path = reconcile
    ticket = {"ticket_id": "TKP", "agent_id": "AG3", "amount": 612345, "bank": "bca", "account_no": BCA,
              "created_at": "-30m", "expires_at": "+6h", "status": "OPEN"}
    world.post("/__mock/rows/tickets", ticket)
    today = T0.date()
    plain = download(world, tmp_path, "bca-individual", today, today).read_bytes().decode("cp1252")
    pend = "'PEND,'TRSF E-BANKING CR 2311/FTSCY/WS95051 612345.00 AGUS,'0000,\"612,345.00\",CR,\"99.00\"\r\n"
    header_end = plain.index("\r\n\r\nSaldo Awal")
    with_pend = tmp_path / "with-pend.csv"
    with_pend.write_bytes((plain[:header_end + 2] + pend + plain[header_end + 2:]).encode("cp1252"))
    first = run_cli("run", "reconcile_payments", "--statement", str(with_pend), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert [r["ticket_id"] for r in world.state()["balance_log"] if r["ticket_id"] == "TKP"] == ["TKP"]
    gone = tmp_path / "gone.csv"
    gone.write_bytes(plain.encode("cp1252"))
    second = run_cli("run", "reconcile_payments", "--statement", str(gone), env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    [(code, reason, status)] = db(tmp_path, "select e.code, e.reason, e.status from escalations e join statement_lines l "
                                            "on l.fingerprint = e.fingerprint where l.amount = '612345.00'")
    assert code == "PENDING_REVERSED" and status == "OPEN" and "TKP" in reason and "AG3" in reason
    titles = [m["title"] for m in world.state()["helpdesk_messages"]]
    assert any("PENDING_REVERSED" in t for t in titles)
    [(esk,)] = db(tmp_path, "select id from escalations where code = 'PENDING_REVERSED'")
    credit = run_cli("escalations", "resolve", str(esk), "--agent", "AG3", "--note", "x", env=env)
    assert credit.returncode == 2 and "never booked" in credit.stderr  # money never received is never credited


def test_one_bank_down_the_others_are_reconciled_and_the_run_exits_3_naming_it(reconcile):
    world, env, tmp_path = reconcile
    world.post("/__mock/faults", {"maintenance": True, "portals": ["bank_mandiri"]})
    done = run_cli("run", "reconcile_payments", env={**env, "BOTS_RETRY_ATTEMPTS": "1"})
    assert done.returncode == 3, done.stdout + done.stderr
    assert "bank_mandiri" in done.stderr
    assert sorted(r["ticket_id"] for r in world.state()["balance_log"]) == ["TK1"]  # BCA's credit went on
    world.post("/__mock/faults", {})
    again = run_cli("run", "reconcile_payments", env=env)
    assert again.returncode == 0, again.stderr
    assert sorted(r["ticket_id"] for r in world.state()["balance_log"]) == ["TK1", "TK2"]


def test_a_clock_far_from_the_banks_acts_on_nothing(reconcile):
    world, env, tmp_path = reconcile
    ahead = (T0 + timedelta(days=400)).isoformat()
    done = run_cli("run", "reconcile_payments", env={**env, "BOTS_NOW": ahead})
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{T0:%d/%m/%Y %H:%M}" in done.stderr and f"{T0 + timedelta(days=400):%d/%m/%Y}" in done.stderr
    assert world.state()["balance_log"] == [] and world.state()["helpdesk_messages"] == []
    assert run_cli("run", "reconcile_payments", env=env).returncode == 0  # the clock right again: all fine


def test_formulas_and_control_characters_in_descriptions_stay_text(reconcile):
    world, env, tmp_path = reconcile
    nasty = ['=HYPERLINK("http://evil","klik") BUDI', "=cmd|' /C calc'!A0", "+62 SETOR", "@SUM(1) X",
             "KONTER\x07BEL\x1b<script>alert(1)</script>"]
    world.post("/__mock/rows/mutations", [{"bank": "bca", "account_no": BCA, "posted_at": f"-{20 - n}m",
                                           "description": text, "amount": 777001 + n, "direction": "CR"}
                                          for n, text in enumerate(nasty)])
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    book = book_of(tmp_path, T0.date())
    for name in ("Eskalasi", "Mutasi"):
        cells = [c for row in book[name].iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
        formulas = [c.value for c in cells if c.data_type == "f" and not c.value.startswith("=SUBTOTAL(")]
        assert formulas == [], name
        assert any("\\x07" in c.value for c in cells), name
    bodies = [m.get("body", "") for m in world.state()["helpdesk_messages"]]
    assert not any("<script>" in b for b in bodies) and any("&lt;script&gt;" in b for b in bodies)


def test_midnight_a_transfer_older_than_the_ticket_never_credits_and_lands_in_its_day(reconcile):
    world, env, tmp_path = reconcile
    midnight = T0.replace(hour=0, minute=3) + timedelta(days=1)
    world.post("/__mock/clock", {"set": midnight.isoformat()})
    yesterday = T0.date()
    world.post("/__mock/rows/mutations", {"bank": "bca", "account_no": BCA,
                                          "posted_at": T0.replace(hour=23, minute=58).isoformat(),
                                          "description": f"TRSF E-BANKING CR {yesterday:%d%m}/FTSCY/WS95051 "
                                                         "424242.00 MALAM", "amount": 424242, "direction": "CR"})
    world.post("/__mock/rows/tickets", {"ticket_id": "TKM", "agent_id": "AG2", "amount": 424242, "bank": "bca",
                                        "account_no": BCA, "created_at": midnight.replace(minute=1).isoformat(),
                                        "expires_at": "+6h", "status": "OPEN"})
    done = run_cli("run", "reconcile_payments", env={**env, "BOTS_NOW": midnight.isoformat()})
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [r for r in world.state()["balance_log"] if r["ticket_id"] == "TKM"]
    mutasi = book_of(tmp_path, yesterday)["Mutasi"]
    assert any(row[6] == 424242 for row in mutasi.iter_rows(min_row=2, values_only=True))
    later = midnight + timedelta(minutes=10)
    world.post("/__mock/clock", {"set": later.isoformat()})
    assert run_cli("run", "reconcile_payments", env={**env, "BOTS_NOW": later.isoformat()}).returncode == 0
    assert not [r for r in world.state()["balance_log"] if r["ticket_id"] == "TKM"]
    [(code,)] = db(tmp_path, "select code from statement_lines where amount = '424242.00'")
    assert code == "NO_MATCHING_TICKET"


@pytest.mark.parametrize("back", [2, 6], ids=["in-the-rolling-window", "found-by-the-tie-out"])
def test_a_back_dated_posting_is_found_and_lands_in_its_own_day(reconcile, back):
    world, env, tmp_path = reconcile
    assert run_cli("run", "reconcile_payments", env=env).returncode == 0
    two_days_ago = T0 - timedelta(days=back)
    world.post("/__mock/rows/mutations", {"bank": "mandiri", "account_no": MANDIRI,
                                          "posted_at": two_days_ago.isoformat(),
                                          "description": "Trf Inw CN BANK CENTRAL ASIA MUNDUR", "amount": 333333,
                                          "direction": "CR"})
    later = T0 + timedelta(minutes=10)
    world.post("/__mock/clock", {"set": later.isoformat()})
    done = run_cli("run", "reconcile_payments", env={**env, "BOTS_NOW": later.isoformat()})
    assert done.returncode == 0, done.stdout + done.stderr
    assert db(tmp_path, "select day from statement_lines where amount = '333333.00'") == [(str(two_days_ago.date()),)]
    mutasi = book_of(tmp_path, two_days_ago.date())["Mutasi"]
    assert any(row[6] == 333333 for row in mutasi.iter_rows(min_row=2, values_only=True))
    saldo = book_of(tmp_path, T0.date())["Saldo Harian"]
    header = [c.value for c in saldo[1]]
    assert all(row[header.index("Selisih")] in (0, None) for row in saldo.iter_rows(min_row=2, values_only=True))
