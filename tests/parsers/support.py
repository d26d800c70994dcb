"""Shared paths and helpers for the statement parser tests (imported, not a conftest)."""

from __future__ import annotations

from pathlib import Path

from bots.parsers import Statement, parse_statement

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "statements"
BAD = FIXTURES.parent / "bad" / "statements"
SAMPLES = sorted(FIXTURES.glob("*.csv"))
# Bad only to a caller that cannot say what day it is (yearless dates, no Periode): a run knows
# the day, so these are not in the bad-input corpus, whose every file a run must refuse.
WITHOUT_TODAY = FIXTURES / "bad-without-today"
BAD_SAMPLES = sorted(BAD.glob("*.csv")) + sorted(WITHOUT_TODAY.glob("*.csv"))

# Exports that do not name their account: the caller (a bot knowing which account it
# downloaded) passes it, as these tests do.
ACCOUNT_HINTS = {"bca-bisnis.csv": "5270418836", "bni.csv": "0823417769"}


def parse_sample(path: Path, **kwargs) -> Statement:
    """Parse a fixture the way a bot would, with its account hint when it needs one."""
    kwargs.setdefault("account_no", ACCOUNT_HINTS.get(path.name))
    return parse_statement(path.read_bytes(), path.name, **kwargs)

