"""`escalations list` shows finance every open STATEMENT_GAP beside the escalated lines: a day
that does not tie out stays on the list until a later read closes it."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from bots.reconcile.ledger import Ledger
from bots.store import Store
from tests.conftest import run_cli
from tests.stores import store_url_of

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)


def listing(tmp_path, bot_env) -> str:
    done = run_cli("escalations", "list", env=bot_env("http://127.0.0.1:9", COLUMNS="250"))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_open_statement_gap_is_listed_with_its_amount_until_the_day_ties_out(tmp_path, bot_env):
    store = Store(store_url_of(tmp_path))
    store.migrate()
    ledger = Ledger(store)
    day = date(2026, 11, 29)
    ledger.save_days("mandiri", "1370012345678", {day: (Decimal("5000000"), Decimal("5333333"))}, "mandiri_csv",
                     None, NOW)
    assert ledger.set_gap("mandiri", "1370012345678", day, Decimal("-333333"))

    shown = listing(tmp_path, bot_env)
    assert "STATEMENT_GAP" in shown
    row = next(line for line in shown.splitlines() if "1370012345678" in line)
    assert "29/11/2026" in row and "MANDIRI" in row and "-Rp 333.333" in row and "Rp 5.333.333" in row

    ledger.set_gap("mandiri", "1370012345678", day, None)  # a later read found the line: it ties
    assert "STATEMENT_GAP" not in listing(tmp_path, bot_env)
    store.dispose()
