"""VA / retail deposits through the payment gateway: the pure decision (bots/reconcile/gateway.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bots.reconcile.gateway import (GATEWAY_AMOUNT_MISMATCH, GATEWAY_CREDITED, GATEWAY_NOT_PAID, GATEWAY_PAID_TWICE,
                                    GATEWAY_REQUEST_EXPIRED, GATEWAY_UNKNOWN_REFERENCE, Earlier, decide,
                                    payment_fingerprint, payment_marker)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


@dataclass(frozen=True)
class Payment:
    payment_id: str
    reference: str
    amount: int
    status: str = "PAID"
    paid_at: datetime | None = T0 - timedelta(hours=1)
    channel: str = "VA_BCA"


@dataclass(frozen=True)
class Request:
    reference: str
    agent_id: str
    amount: int
    status: str = "OPEN"
    expires_at: datetime | None = T0 + timedelta(hours=6)
    created_at: datetime = T0 - timedelta(hours=3)


REQUESTS = [Request("VR-1", "AG1", 500000), Request("VR-2", "AG2", 250000),
            Request("VR-3", "AG3", 100000, expires_at=T0 - timedelta(hours=2)),
            Request("VR-4", "AG4", 300000, status="CANCELLED"), Request("VR-5", "AG5", 200000, status="PAID")]


def outcome(payments, requests=REQUESTS, earlier=None) -> dict[str, tuple]:
    return {d.payment_id: (d.code, d.agent_id, d.amount) for d in decide(payments, requests, earlier or {})}


def test_paid_and_settled_payments_of_an_open_request_credit_its_agent_the_request_amount():
    found = outcome([Payment("P1", "VR-1", 500000), Payment("P2", "vr-2 ", 250000, status="SETTLED")])
    assert found == {"P1": (GATEWAY_CREDITED, "AG1", 500000), "P2": (GATEWAY_CREDITED, "AG2", 250000)}


@pytest.mark.parametrize("status", ["PENDING", "EXPIRED", "FAILED"])
def test_unpaid_payments_are_recorded_never_credited_nor_escalated(status):
    [decision] = decide([Payment("P1", "VR-1", 500000, status=status, paid_at=None)], REQUESTS, {})
    assert decision.code == GATEWAY_NOT_PAID and not decision.credits and not decision.escalates
    assert status in decision.reason


@pytest.mark.parametrize("payment, code, agent", [
    (Payment("P1", "VR-404", 500000), GATEWAY_UNKNOWN_REFERENCE, None),
    (Payment("P1", "VR-1", 500001), GATEWAY_AMOUNT_MISMATCH, "AG1"),
    (Payment("P1", "VR-3", 100000), GATEWAY_REQUEST_EXPIRED, "AG3"),          # paid after expires_at
    (Payment("P1", "VR-4", 300000), GATEWAY_REQUEST_EXPIRED, "AG4"),          # the request was cancelled
    (Payment("P1", "VR-5", 200000), GATEWAY_PAID_TWICE, "AG5"),               # the server shows it paid already
])
def test_each_escalation_code(payment, code, agent):
    [decision] = decide([payment], REQUESTS, {})
    assert (decision.code, decision.agent_id, decision.credits, decision.escalates) == (code, agent, False, True)
    assert decision.reason  # the Alasan finance reads


def test_paid_just_before_expiry_credits_and_after_it_does_not():
    request = [Request("VR-9", "AG9", 100000, expires_at=T0)]
    assert outcome([Payment("P1", "VR-9", 100000, paid_at=T0)], request)["P1"][0] == GATEWAY_CREDITED
    assert outcome([Payment("P1", "VR-9", 100000, paid_at=T0 + timedelta(seconds=1))], request)["P1"][0] == \
        GATEWAY_REQUEST_EXPIRED


def test_a_reference_paid_twice_credits_the_earliest_by_paid_at_then_payment_id():
    late, early, same_time = (Payment("P1", "VR-1", 500000, paid_at=T0 - timedelta(minutes=5)),
                              Payment("P9", "VR-1", 500000, paid_at=T0 - timedelta(minutes=50)),
                              Payment("P5", "VR-1", 500000, paid_at=T0 - timedelta(minutes=50)))
    found = outcome([late, early, same_time])
    assert found == {"P5": (GATEWAY_CREDITED, "AG1", 500000), "P9": (GATEWAY_PAID_TWICE, "AG1", 0),
                     "P1": (GATEWAY_PAID_TWICE, "AG1", 0)}


def test_once_a_reference_is_credited_every_other_payment_of_it_is_paid_twice_even_an_earlier_one():
    earlier = {"P7": Earlier("VR-1", T0 - timedelta(minutes=10), GATEWAY_CREDITED)}
    found = outcome([Payment("P7", "VR-1", 500000, paid_at=T0 - timedelta(minutes=10)),
                     Payment("P1", "VR-1", 500000, paid_at=T0 - timedelta(hours=2))], earlier=earlier)
    assert found == {"P1": (GATEWAY_PAID_TWICE, "AG1", 0)}  # P7 is decided for good: not in the plan


def test_a_pending_payment_later_paid_is_decided_then():
    pending = Payment("P1", "VR-1", 500000, status="PENDING", paid_at=None)
    assert outcome([pending])["P1"][0] == GATEWAY_NOT_PAID
    assert outcome([Payment("P1", "VR-1", 500000)])["P1"] == (GATEWAY_CREDITED, "AG1", 500000)


def test_a_pending_payment_does_not_take_the_reference_from_a_later_paid_one():
    found = outcome([Payment("P1", "VR-1", 500000, status="PENDING", paid_at=None),
                     Payment("P2", "VR-1", 500000)])
    assert found == {"P1": (GATEWAY_NOT_PAID, None, 0), "P2": (GATEWAY_CREDITED, "AG1", 500000)}


def test_a_reference_naming_two_open_requests_names_no_agent():
    requests = [Request("VR-1", "AG1", 500000), Request("VR-1", "AG2", 500000)]
    [decision] = decide([Payment("P1", "VR-1", 500000)], requests, {})
    assert decision.code == GATEWAY_UNKNOWN_REFERENCE and decision.agent_id is None and "2" in decision.reason


def test_one_open_request_beside_a_cancelled_one_of_the_same_reference_credits():
    requests = [Request("VR-1", "AG2", 500000, status="CANCELLED"), Request("VR-1", "AG1", 500000)]
    assert outcome([Payment("P1", "VR-1", 500000)], requests)["P1"] == (GATEWAY_CREDITED, "AG1", 500000)


def test_marker_and_fingerprint_come_from_the_payment_id_alone():
    marker = payment_marker("PG-0001")
    assert marker.startswith("BOT:V-") and len(marker) == 18 <= 24 and marker == payment_marker("PG-0001")
    assert marker != payment_marker("PG-0002")
    assert len(payment_fingerprint("PG-0001")) == 64


def test_decide_is_pure():
    import bots.reconcile.gateway as module

    source = open(module.__file__, encoding="utf-8").read()
    for forbidden in ("playwright", "sqlalchemy", "openpyxl", "datetime.now", "time.time", "import os"):
        assert forbidden not in source


# -- the chaos invariant (chaos/gateway_checks.py): computed from GET /__mock/state alone ------------------

def _state(status="PAID", paid_at="2026-11-23T11:00:00+07:00", adds=("2026-11-23T11:05:00+07:00",)):
    payment = {"payment_id": "PG-1", "reference": "VR-1", "status": status, "paid_at": paid_at}
    log = [{"agent_id": "AG1", "amount": 500000, "kind": "MANUAL", "note": f"{payment_marker('PG-1')} Deposit VA",
            "created_at": at} for at in adds]
    log.append({"agent_id": "AG2", "amount": 1, "kind": "MANUAL", "note": "BOT:M-abc koreksi",
                "created_at": "2026-11-23T10:00:00+07:00"})
    return {"gateway_payments": [payment], "balance_log": log}


def test_the_chaos_invariant_holds_for_one_credit_of_a_paid_payment():
    from chaos.gateway_checks import gateway_credits

    assert gateway_credits(_state()) == [] and gateway_credits(_state(adds=())) == []
    assert gateway_credits(_state(status="SETTLED")) == []


@pytest.mark.parametrize("state, words", [
    (_state(adds=("2026-11-23T11:05:00+07:00", "2026-11-23T11:06:00+07:00")), "credited 2 times"),
    (_state(status="PENDING", paid_at=None), "credited while PENDING"),
    (_state(status="FAILED", paid_at=None), "credited while FAILED"),
    (_state(adds=("2026-11-23T10:59:00+07:00",)), "credited before it was paid"),
    ({"gateway_payments": [], "balance_log": _state()["balance_log"]}, "names no gateway payment"),
])
def test_the_chaos_invariant_names_a_double_or_unpaid_credit(state, words):
    from chaos.gateway_checks import gateway_credits

    assert any(words in problem for problem in gateway_credits(state))
