"""The chaos checks of issue 12 (chaos/reconcile_families.py) can fail: a day that does not tie
out without a gap, a reversed PEND line nobody was told of, a formula cell in a workbook."""

from __future__ import annotations

import sqlite3

from chaos.reconcile_families import formula_cells, reversed_told, tie_out_problems


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
