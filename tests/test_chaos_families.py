"""The chaos families' short forms (chaos/families.py): each family for the bots it threatens
most, a fixed seed, every invariant held. A file of their own, so that `make test`'s two workers
share the chaos runs instead of one worker playing them all after the others are done."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chaos.families import FAMILIES
from tests.conftest import ROOT


FAMILY_SEED = 20261201


# family → the bots whose acts it threatens most (two scenarios each: well under a minute on 2 cores)
SHORT_FAMILIES = {
    "hosts": ("reconcile_payments",),                           # runs side by side, resolves side by side
    "store_lost": ("reconcile_payments", "esim_activation_queue"),  # the 2nd scenario starts on no store
    "note_limit": ("reconcile_payments",),                      # the resolve's note is cut
    "refusals": ("check_pending_tx", "esim_activation_queue"),  # complaints and refunds refused
}


def short_chaos(tmp_path, scenarios: str, family: str, *bots: str) -> dict:
    """`python -m chaos` for one family, the fixed seed: it held every invariant; its table's rows."""
    out = tmp_path / "chaos.json"
    done = subprocess.run([sys.executable, "-m", "chaos", "--scenarios", scenarios, "--seed", str(FAMILY_SEED),
                           "--family", family, *bots, "--no-bad-inputs", "--quiet",
                           "--work-dir", str(tmp_path / "work"), "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = json.loads(out.read_text())
    assert report["violations"] == [], done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(report["rows"])


@pytest.mark.browser
@pytest.mark.parametrize("family", sorted(SHORT_FAMILIES))
def test_short_chaos_family_holds_every_invariant(tmp_path, family):
    """Two scenarios of one family (chaos/families.py) for its bots, a fixed seed."""
    bots = [arg for bot in SHORT_FAMILIES[family] for arg in ("--bot", bot)]
    rows = short_chaos(tmp_path, "2", family, *bots)
    scenarios = 2 * len(SHORT_FAMILIES[family])
    assert rows[f"family: {FAMILIES[family][1]} (`{family}`)"] == f"{scenarios} scenarios, 0 violations"


@pytest.mark.browser
def test_short_chaos_bank_reconciliation_families_hold_every_invariant(tmp_path):
    """Issue 12's six families in one reconcile scenario (`bank_rec_all`): a clock jump, hostile
    descriptions, a second export and a reversed PEND passed by hand, one bank down, a back-dated line."""
    rows = short_chaos(tmp_path, "1", "bank_rec_all")
    assert rows[f"family: {FAMILIES['bank_rec_all'][1]} (`bank_rec_all`)"] == "1 scenarios, 0 violations"
    assert rows["PEND lines reversed"] == "1" and rows["back-dated postings"] == "1"
    assert rows["runs with the clock off"] == "1" and int(rows["statements passed by hand"]) >= 2
