"""Bon / TOP's rule as a pure policy: granted only when the agent owes nothing and asks within the limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bots.errors import ConfigError
from bots.reconcile.bon import (BON_GRANTED, BON_OUTSTANDING, BON_OVER_LIMIT, BON_UNKNOWN_AGENT, decide_bon,
                                limits_for)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


@dataclass(frozen=True)
class Req:
    request_id: str
    agent_id: str
    amount: int
    minutes_ago: int = 10
    status: str = "PENDING"

    @property
    def requested_at(self):
        return T0 - timedelta(minutes=self.minutes_ago)


@dataclass(frozen=True)
class Bon:
    bon_id: str
    agent_id: str
    amount: int
    repaid: int = 0


LIMITS = limits_for(["AG1", "AG2", "AG3"], 1_000_000, {"AG3": 3_000_000})


def codes(plan):
    return {d.request_id: d.code for d in plan}


def test_an_agent_whose_bon_is_repaid_is_granted_and_one_who_still_owes_goes_to_the_supervisor():
    bons = [Bon("B1", "AG1", 500_000, 500_000), Bon("B2", "AG2", 300_000, 100_000)]
    plan = decide_bon([Req("R1", "AG1", 750_000), Req("R2", "AG2", 200_000)], bons, LIMITS, set())
    assert codes(plan) == {"R1": BON_GRANTED, "R2": BON_OUTSTANDING}
    waiting = plan[1]
    assert [(b.bon_id, b.outstanding) for b in waiting.open_bons] == [("B2", 200_000)]
    assert "B2 Rp 200.000" in waiting.reason and "konfirmasi ke atasan" in waiting.reason
    assert plan[0].grants and not waiting.grants


def test_over_the_limit_and_unknown_agents_go_to_the_supervisor_and_a_per_agent_limit_counts():
    plan = decide_bon([Req("R1", "AG1", 1_000_001), Req("R2", "AG9", 10_000), Req("R3", "AG3", 2_500_000),
                       Req("R4", "AG2", 1_000_000)], [], LIMITS, set())
    assert codes(plan) == {"R1": BON_OVER_LIMIT, "R2": BON_UNKNOWN_AGENT, "R3": BON_GRANTED, "R4": BON_GRANTED}
    assert "Rp 1.000.000" in plan[0].reason or "Rp 1.000.000" in next(d.reason for d in plan if d.request_id == "R1")


def test_two_requests_of_one_agent_at_once_the_earliest_is_granted_and_the_next_sees_it_open():
    plan = decide_bon([Req("R2", "AG1", 100_000, minutes_ago=5), Req("R1", "AG1", 200_000, minutes_ago=9),
                       Req("R0", "AG1", 300_000, minutes_ago=5)], [], LIMITS, set())
    assert [d.request_id for d in plan] == ["R1", "R0", "R2"]  # requested_at, then request_id
    assert codes(plan) == {"R1": BON_GRANTED, "R0": BON_OUTSTANDING, "R2": BON_OUTSTANDING}
    assert [(b.bon_id, b.outstanding) for b in plan[1].open_bons] == [("R1", 200_000)]


def test_only_pending_requests_not_decided_before_are_decided_and_a_repaid_bon_is_no_bon():
    requests = [Req("R1", "AG1", 100_000, status="GRANTED"), Req("R2", "AG1", 100_000), Req("R3", "AG2", 50_000),
                Req("R4", "AG2", 50_000, status="REFUSED")]
    bons = [Bon("R1", "AG1", 100_000, 150_000)]  # overpaid: outstanding ≤ 0 is repaid
    plan = decide_bon(requests, bons, LIMITS, {"R3"})
    assert codes(plan) == {"R2": BON_GRANTED}


def test_a_limit_of_zero_grants_nothing_automatically():
    plan = decide_bon([Req("R1", "AG1", 1)], [], limits_for(["AG1"], 0, {}), set())
    assert codes(plan) == {"R1": BON_OVER_LIMIT}


def test_the_policy_is_pure():
    import bots.reconcile.bon as module

    source = open(module.__file__, encoding="utf-8").read()
    for forbidden in ("playwright", "sqlalchemy", "openpyxl", "datetime.now", "time.time", "import os"):
        assert forbidden not in source


@pytest.mark.parametrize("section, key", [({"bon_limit": -1}, "bon_limit"), ({"bon_limit": "1jt"}, "bon_limit"),
                                          ({"bon_limits": ["AG1:satu"]}, "bon_limits"),
                                          ({"bon_limits": ["AG1"]}, "bon_limits"), ({"bon_limits": "AG1:5"}, "bon_limits")])
def test_a_bad_bon_setting_names_its_key(section, key):
    from types import SimpleNamespace

    from bots.reconcile_payments import options

    with pytest.raises(ConfigError) as raised:
        options(SimpleNamespace(sections={"reconcile_payments": section}))
    assert f"reconcile_payments.{key}" in str(raised.value)


def test_the_bon_settings_defaults_and_per_agent_limits():
    from types import SimpleNamespace

    from bots.reconcile.bon_act import bon_limits
    from bots.reconcile_payments import options

    assert options(SimpleNamespace(sections={}))["bon_limit"] == 1_000_000
    config = options(SimpleNamespace(sections={"reconcile_payments": {"bon_limits": ["AG1:2000000", " AG2 : 5 "]}}))
    assert bon_limits(config) == {"AG1": 2_000_000, "AG2": 5}
