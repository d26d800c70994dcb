"""The chaos checks of issue 12 (chaos/reconcile_families.py) can fail: a day that does not tie
out without a gap, a reversed PEND line nobody was told of, a formula cell in a workbook, a rupiah
credited twice, a rupiah never received credited silently, a back-dated line on the wrong day,
markup in a notification, a bank down stopping the others, a run with its clock off that acts."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime, timedelta

from chaos.reconcile_families import (back_dated_found, bank_down_problems, clock_jump_problems,
                                      credited_at_most_once, formula_cells, markup_in_notifications,
                                      never_received_told, reversed_told, tie_out_problems)


def store(tmp_path, lines, days):
    path = tmp_path / "s.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("create table statement_days (bank, account_no, day, opening_balance, closing_balance, gap)")
        db.execute("create table statement_lines (fingerprint, bank, account_no, day, amount, direction, pending, "
                   "reversed_at)")
        db.execute("create table escalations (fingerprint, status)")
        db.executemany("insert into statement_days values (?, ?, ?, ?, ?, ?)", days)
        db.executemany("insert into statement_lines values (?, ?, ?, ?, ?, ?, ?, ?)", lines)

    def query(sql, args=()):
        with sqlite3.connect(path) as db:
            return db.execute(sql, args).fetchall()
    return query


def test_a_day_that_does_not_tie_out_without_a_gap_is_a_violation(tmp_path):
    lines = [("a", "bca", "1", "2026-11-23", "500.00", "CR", 0, None), ("b", "bca", "1", "2026-11-23", "100.00", "DB", 0, None)]
    ties = store(tmp_path, lines, [("bca", "1", "2026-11-23", "1000.00", "1400.00", None)])
    assert tie_out_problems(ties) == []
    (tmp_path / "g").mkdir()
    off = store(tmp_path / "g", lines[:1], [("bca", "1", "2026-11-23", "1000.00", "1400.00", None)])
    assert len(tie_out_problems(off)) == 1
    (tmp_path / "h").mkdir()
    told = store(tmp_path / "h", lines[:1], [("bca", "1", "2026-11-23", "1000.00", "1400.00", "100.00")])
    assert tie_out_problems(told) == []


def test_a_reversed_line_without_an_escalation_is_a_violation(tmp_path):
    query = store(tmp_path, [("a", "bca", "1", "2026-11-23", "5.00", "CR", 1, "2026-11-23T01:00:00")], [])
    assert len(reversed_told(query)) == 1


def test_a_formula_cell_in_a_workbook_is_a_violation(tmp_path):
    from openpyxl import Workbook

    folder = tmp_path / "rekonsiliasi"
    folder.mkdir()
    book = Workbook()
    book.active["A1"] = "=HYPERLINK(\"x\")"
    book.save(folder / "rekonsiliasi-2026-11-23.xlsx")
    assert len(formula_cells(tmp_path)) == 1


def lines_store(tmp_path, lines, escalations=()):
    """statement_lines (account, amount, day, code, ticket, reversed_at) and escalations (line, code, status, reason)."""
    path = tmp_path / "lines.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("create table statement_lines (fingerprint, account_no, amount, day, code, ticket_id, reversed_at)")
        db.execute("create table escalations (fingerprint, code, status, reason)")
        db.executemany("insert into statement_lines values (?, ?, ?, ?, ?, ?, ?)",
                       [(f"f{n}", *line) for n, line in enumerate(lines)])
        db.executemany("insert into escalations values (?, ?, ?, ?)", escalations)

    def query(sql, args=()):
        with sqlite3.connect(path) as db:
            return db.execute(sql, args).fetchall()
    return query


BCA = "5270418836"
NO_LINES = lambda sql, args=(): []  # noqa: E731 - a store with no statement lines
ONE_TRANSFER = {"mutations": [{"account_no": BCA, "amount": 100123, "direction": "CR"}],
                "tickets": [{"ticket_id": "T1", "account_no": BCA, "amount": 100123},
                            {"ticket_id": "T2", "account_no": BCA, "amount": 100123}]}


def test_a_rupiah_credited_twice_is_a_violation_whatever_credited_it(tmp_path):
    query = lines_store(tmp_path, [(BCA, "100123.00", "2026-12-02", "AUTO_CREDITED", "T1", None),
                                   (BCA, "100123.00", "2026-12-02", "AUTO_CREDITED", "T1", None)])
    once = {**ONE_TRANSFER, "balance_log": [{"kind": "DEPOSIT", "ticket_id": "T1", "amount": 100123}]}
    assert credited_at_most_once(once, Counter(), NO_LINES) == []
    two_tickets = {**once, "balance_log": once["balance_log"] + [{"kind": "DEPOSIT", "ticket_id": "T2",
                                                                  "amount": 100123}]}
    problems = " | ".join(credited_at_most_once(two_tickets, Counter(), query))
    assert f"Rp 100123 on {BCA} credited 2 times to tickets, the bank booked it 1" in problems
    assert "ticket T1 credited by 2 statement lines" in problems  # the same money read twice
    by_hand = {**once, "balance_log": once["balance_log"] + [{"kind": "MANUAL", "amount": 100123}]}
    assert "Rp 100123 credited 2 times (tickets and by hand)" in " | ".join(
        credited_at_most_once(by_hand, Counter(), NO_LINES))


def test_a_rupiah_never_received_credited_without_pending_reversed_is_a_violation(tmp_path):
    state = {"balance_log": [{"kind": "DEPOSIT", "ticket_id": "TP", "amount": 612345}]}
    silent = lines_store(tmp_path, [(BCA, "612345.00", "2026-12-02", "AUTO_CREDITED", "TP", None)])
    problems = " | ".join(never_received_told(state, {"TP": ("AG3", 612345)}, BCA, silent))
    assert "the store does not show it reversed" in problems
    assert "TP credited Rp 612345 the bank never booked, and no PENDING_REVERSED escalation names it" in problems
    (tmp_path / "t").mkdir()
    told = lines_store(tmp_path / "t", [(BCA, "612345.00", "2026-12-02", "PENDING_REVERSED", "TP", "2026-12-02T01:00")],
                       [("f0", "PENDING_REVERSED", "OPEN", "kredit tiket TP ke AG3 HARUS DITARIK KEMBALI")])
    assert never_received_told(state, {"TP": ("AG3", 612345)}, BCA, told) == []


def test_a_back_dated_line_missing_or_on_the_wrong_day_is_a_violation(tmp_path):
    query = lines_store(tmp_path, [(BCA, "50000777.00", "2026-12-02", "NO_MATCHING_TICKET", None, None)])
    assert back_dated_found([(BCA, 50000777, "2026-12-02")], query) == []
    assert "is in the store on ['2026-12-02']" in back_dated_found([(BCA, 50000777, "2026-11-30")], query)[0]
    assert "is in the store on []" in back_dated_found([(BCA, 50000999, "2026-11-30")], query)[0]


def test_markup_or_a_control_character_in_a_notification_is_a_violation():
    fine = {"helpdesk_messages": [{"title": "[BOT:N-1] ESK-1", "body": "KONTER\\x07 &lt;script&gt;"}]}
    assert markup_in_notifications(fine) == []
    assert len(markup_in_notifications({"helpdesk_messages": [{"title": "x", "body": "<script>alert(1)</script>"}]})) == 1
    assert len(markup_in_notifications({"helpdesk_messages": [{"title": "x", "body": "KONTER\x07BEL"}]})) == 1


def test_a_bank_down_run_that_stops_the_others_or_hides_the_bank_is_a_violation():
    state = {"balance_log": [{"ticket_id": "CH00001"}]}
    assert bank_down_problems(3, "error: bank_bri is down", "bank_bri", state, {"CH00001": BCA}) == []
    problems = " | ".join(bank_down_problems(0, "done", "bank_bri", state, {"CH00001": BCA, "CH00002": BCA}))
    assert "the run exited 0 (expected 3 naming bank_bri)" in problems
    assert "the healthy banks' exact matches were not credited: ['CH00002']" in problems


def test_a_run_with_its_clock_off_that_acts_or_does_not_exit_2_is_a_violation():
    jumped = datetime(2027, 12, 2, 8, 5).astimezone()
    told = f"error: the run's clock says {jumped:%d/%m/%Y %H:%M} WIB, bank_bca shows 02/12/2026 08:05 WIB"
    before = {"balance_log": 3, "tickets approved": ["CH00001"], "statement_lines": 10}
    assert clock_jump_problems(2, told, jumped, before, dict(before)) == []
    moved = {**before, "balance_log": 4, "statement_lines": 12}
    problems = " | ".join(clock_jump_problems(1, "Traceback", jumped + timedelta(0), before, moved))
    assert "exited 1, expected 2" in problems
    assert "the run with its clock off acted: balance_log 3 → 4, statement_lines 10 → 12" in problems
