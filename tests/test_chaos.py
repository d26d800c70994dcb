"""The chaos harness: its short form holds every invariant, and its checks can fail."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from chaos.campaigns import EsimCampaign, PendingCampaign, ReconcileCampaign
from tests.conftest import ROOT


class StateOnly:
    """Stands in for the world process: the checks only read `/__mock/state`."""

    def __init__(self, state: dict):
        self._state = state

    def state(self) -> dict:
        return self._state


@pytest.mark.browser
def test_short_chaos_campaign_holds_every_invariant(tmp_path):
    out = tmp_path / "chaos.json"
    done = subprocess.run([sys.executable, "-m", "chaos", "--scenarios", "2", "--seed", "20261130",
                           "--no-bad-inputs", "--quiet", "--work-dir", str(tmp_path / "work"), "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    report = json.loads(out.read_text())
    assert report["violations"] == [], done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    rows = dict(report["rows"])
    assert rows["scenarios run"].startswith("6 ") and rows["invariant violations"] == "0"


def test_reconcile_invariants_catch_a_double_credit(tmp_path):
    campaign = ReconcileCampaign(tmp_path, random.Random(1))
    campaign.credited = {"CH00001": ("AG001", 100123)}
    start = campaign.agents["AG001"]
    campaign.world = StateOnly({
        "tickets": [{"ticket_id": "CH00001", "status": "APPROVED"}, {"ticket_id": "CH00002", "status": "APPROVED"}],
        "balance_log": [{"ticket_id": "CH00001"}, {"ticket_id": "CH00001"}],
        "agents": [{"agent_id": a, "balance": b + (200246 if a == "AG001" else 0)} for a, b in campaign.agents.items()],
        "helpdesk_messages": [{"title": "[ESK-1] X"}, {"title": "[ESK-1] X"}], "mutations": []})
    problems = " | ".join(campaign.check())
    assert "credited wrongly ['CH00002']" in problems
    assert "credited more than once: ['CH00001']" in problems
    assert f"'AG001': ({start + 200246}, {start + 100123})" in problems
    assert "escalation notified twice" in problems and "no store was written" in problems


def test_pending_invariants_catch_an_early_hard_complaint_and_a_missing_one(tmp_path):
    campaign = PendingCampaign(tmp_path, random.Random(1))
    t0 = datetime(2026, 11, 30, 8, 0).astimezone()
    at = lambda minutes: (t0 + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    campaign.last_now = at(30)
    campaign.world = StateOnly({
        "transactions": [{"trx_id": "CX00001", "created_at": at(0), "status": "PENDING"},
                         {"trx_id": "CX00002", "created_at": at(0), "status": "PENDING"}],
        "complaints": [{"trx_id": "CX00001", "level": "hard", "reference": "R1", "created_at": at(5)},
                       {"trx_id": "CX00001", "level": "hard", "reference": "R1", "created_at": at(6)}],
        "helpdesk_messages": []})
    problems = " | ".join(campaign.check())
    assert "complaint sent twice (same reference)" in problems
    assert "CX00001: hard complaint at 0:05:00 old, before its threshold" in problems
    assert "CX00002: pending 0:30:00 and no hard complaint" in problems


def test_esim_invariants_catch_a_double_refund_and_a_lost_order(tmp_path):
    campaign = EsimCampaign(tmp_path, random.Random(1))
    campaign.valid, campaign.refunded = {"CH-00001"}, {"CH-00002"}
    campaign.world = StateOnly({"refund_requests": [{"order_id": "CH-00002"}, {"order_id": "CH-00002"}]})
    problems = " | ".join(campaign.check())
    assert "never batched ['CH-00001']" in problems and "refund requested twice: ['CH-00002']" in problems
