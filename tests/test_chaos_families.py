"""The chaos families' short forms (chaos/families.py): each family for the bots it threatens
most, a fixed seed, every invariant held. Files of their own (this one and
tests/test_chaos_families_reconcile.py), so that `make test`'s two workers share the chaos runs
instead of one worker playing them all after the others are done."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chaos.families import FAMILIES
from tests.conftest import ROOT, TEST_DATABASE


FAMILY_SEED = 20261201


# family → the bots whose acts it threatens most (two scenarios each: well under a minute on 2 cores)
SHORT_FAMILIES = {
    "store_lost": ("reconcile_payments", "esim_activation_queue"),  # the 2nd scenario starts on no store
    "refusals": ("check_pending_tx", "esim_activation_queue"),  # complaints and refunds refused
}


def short_chaos(tmp_path, scenarios: str, family: str, *bots: str) -> dict:
    """`python -m chaos` for one family, the fixed seed: it held every invariant; its table's rows."""
    out = tmp_path / "chaos.json"
    done = subprocess.run([sys.executable, "-m", "chaos", "--scenarios", scenarios, "--seed", str(FAMILY_SEED),
                           "--family", family, *bots, "--no-bad-inputs", "--quiet",
                           "--work-dir", str(tmp_path / "work"), "--json", str(out),
                           "--store", TEST_DATABASE],  # make test-pg: a database each on a cluster of its own
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
