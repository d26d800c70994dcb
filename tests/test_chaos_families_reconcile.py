"""The chaos families' short forms that threaten the deposits most (chaos/families.py): runs and
resolves side by side, a cut note, issue 12's six families in one scenario — beside
tests/test_chaos_families.py, so `make test`'s two workers share the chaos runs."""

from __future__ import annotations

import pytest

from chaos.families import FAMILIES
from tests.test_chaos_families import short_chaos

RECONCILE_FAMILIES = {
    "hosts": ("reconcile_payments",),                           # runs side by side, resolves side by side
    "note_limit": ("reconcile_payments",),                      # the resolve's note is cut
}


@pytest.mark.browser
@pytest.mark.parametrize("family", sorted(RECONCILE_FAMILIES))
def test_short_chaos_family_holds_every_invariant(tmp_path, family):
    """Two scenarios of one family for reconcile_payments, a fixed seed."""
    rows = short_chaos(tmp_path, "2", family, "--bot", "reconcile_payments")
    assert rows[f"family: {FAMILIES[family][1]} (`{family}`)"] == "2 scenarios, 0 violations"


@pytest.mark.browser
def test_short_chaos_bank_reconciliation_families_hold_every_invariant(tmp_path):
    """Issue 12's six families in one reconcile scenario (`bank_rec_all`): a clock jump, hostile
    descriptions, a second export and a reversed PEND passed by hand, one bank down, a back-dated line."""
    rows = short_chaos(tmp_path, "1", "bank_rec_all")
    assert rows[f"family: {FAMILIES['bank_rec_all'][1]} (`bank_rec_all`)"] == "1 scenarios, 0 violations"
    assert rows["PEND lines reversed"] == "1" and rows["back-dated postings"] == "1"
    assert rows["runs with the clock off"] == "1" and int(rows["statements passed by hand"]) >= 2
