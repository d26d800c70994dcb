"""Golden tests: every sample export parses to the dump stored beside it (``<name>.expected``).

Run with ``UPDATE_GOLDEN=1`` to rewrite the dumps after a deliberate change, then review the
diff: the dumps pin fingerprints too, and a changed fingerprint re-imports stored lines.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from bots.parsers import dump

from .support import FIXTURES, SAMPLES, parse_sample


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_matches_its_golden_dump(path):
    got = dump(parse_sample(path))
    golden = path.with_name(path.name + ".expected")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(got, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}; run with UPDATE_GOLDEN=1 and review it"
    assert got == golden.read_text(encoding="utf-8")


def test_every_golden_file_has_its_sample():
    orphans = [p.name for p in FIXTURES.glob("*.expected")
               if not p.with_name(p.name.removesuffix(".expected")).exists()]
    assert orphans == []


def test_samples_cover_every_format():
    formats = {parse_sample(path).format for path in SAMPLES}
    assert formats == {"bca-individual", "bca-bisnis", "mandiri-mcm", "bri-cms", "bni-csv"}


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_running_balances_add_up_in_samples(path):
    """The samples are internally consistent, so they can stand in for real exports."""
    statement = parse_sample(path)
    previous = statement.opening_balance
    for line in statement.lines:
        if line.balance is None:
            continue
        if previous is not None:
            signed = line.amount if line.direction == "CR" else -line.amount
            assert previous + signed == line.balance, f"line {line.source_line}"
        previous = line.balance
    if statement.closing_balance is not None and statement.lines:
        assert statement.closing_balance == statement.lines[-1].balance


def test_bca_individual_values_in_detail():
    statement = parse_sample(FIXTURES / "bca-individual.csv")
    first = statement.lines[0]
    assert (first.bank, first.account_no, str(first.posted_on), first.posted_at) == (
        "bca", "5270418836", "2026-09-25", None)
    assert first.description == "TRSF E-BANKING DB 2509/FTSCY/WS95051 150000.00 ANDI WIJAYA"
    assert (first.amount, first.direction, first.balance) == (
        Decimal("150000.00"), "DB", Decimal("185300000.00"))
    assert (first.pending, first.source_line) == (False, 7)
    assert statement.opening_balance == Decimal("185450000.00")
    assert statement.closing_balance == Decimal("193283521.00")
    assert str(statement.period_start) == "2026-09-25" and str(statement.period_end) == "2026-10-05"


def test_pending_row_has_no_date():
    statement = parse_sample(FIXTURES / "bca-individual-quoted.csv")
    pend = statement.lines[-1]
    assert pend.pending and pend.posted_on is None and pend.posted_at is None
    assert (pend.description, pend.amount, pend.balance) == (
        "BIAYA ADM", Decimal("15000.00"), Decimal("11635123.00"))
    assert not any(line.pending for line in statement.lines[:-1])


def test_year_end_period_gives_december_the_start_year():
    statement = parse_sample(FIXTURES / "bca-individual-yearend.csv")
    assert [str(line.posted_on) for line in statement.lines] == [
        "2025-12-29", "2025-12-31", "2026-01-01", "2026-01-02"]


def test_bri_business_date_and_unpadded_time():
    lines = parse_sample(FIXTURES / "bri-cms.csv").lines
    assert str(lines[0].posted_at) == "2026-07-10 00:31:53"  # JAM_TRAN "3153"
    late = lines[-1]  # booked on the next business day (TGL_EFEKTIF)
    assert str(late.posted_on) == "2026-07-11" and str(late.posted_at) == "2026-07-10 23:44:44"


def test_header_only_with_preamble_is_an_empty_statement():
    statement = parse_sample(FIXTURES / "bca-empty-day.csv")
    assert statement.lines == [] and statement.account_no == "5270418836"
    assert statement.opening_balance == statement.closing_balance == Decimal("185450000.00")
