"""The complaint ladder with an injected clock: thresholds, once per step, follow-up slots."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from bots.complaints.ladder import (COMPLAINT, HARD, PNR_COMPLAINT, PNR_HARD, SUPERVISOR, WRONG_NUMBER,
                                    AgentReport, PendingTx, Resolution, SupplierAnswer, Thresholds, decide,
                                    pending_step, report_step)

JKT = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=JKT)
TH = Thresholds()


def tx(minutes_ago: float, now=T0):
    return PendingTx("TRX1", "mitra", now - timedelta(minutes=minutes_ago))


def test_nothing_before_two_minutes():
    assert pending_step(tx(2), None, {}, T0, TH) is None
    assert pending_step(tx(1.5), SupplierAnswer("GAGAL", None), {}, T0, TH) is None


def test_complaint_after_two_minutes_then_hard_after_fifteen_then_supervisor():
    step = pending_step(tx(3), None, {}, T0, TH)
    assert (step.step, step.level, step.code) == (COMPLAINT, "normal", "COMPLAINT_SENT")
    assert pending_step(tx(3), None, {COMPLAINT: T0}, T0, TH) is None  # once
    hard = pending_step(tx(16), None, {COMPLAINT: T0 - timedelta(minutes=13)}, T0, TH)
    assert (hard.step, hard.level) == (HARD, "hard")
    assert pending_step(tx(40), None, {COMPLAINT: T0, HARD: T0 - timedelta(minutes=20)}, T0, TH) is None
    boss = pending_step(tx(50), None, {COMPLAINT: T0, HARD: T0 - timedelta(minutes=31)}, T0, TH)
    assert (boss.step, boss.level, boss.code) == (SUPERVISOR, None, "ESCALATED_SUPERVISOR")


def test_first_seen_late_gets_the_hard_complaint_directly():
    assert pending_step(tx(20), None, {}, T0, TH).step == HARD


def test_a_final_supplier_answer_is_a_resolution_not_a_complaint():
    assert pending_step(tx(5), SupplierAnswer("SUKSES", "0144700123456789"), {}, T0, TH) == \
        Resolution("TRX1", "SUKSES", "0144700123456789")
    assert isinstance(pending_step(tx(5), SupplierAnswer("GAGAL", None), {}, T0, TH), Resolution)
    # SUKSES without a real serial number (error text in the SN field) is not final
    assert pending_step(tx(5), SupplierAnswer("SUKSES", None), {}, T0, TH).step == COMPLAINT


def report(kind="PRODUCT_NOT_RECEIVED", reported_minutes_ago=0, trx_hours_ago=1.0, status="SUKSES"):
    return AgentReport("K1", "TRX9", "sinar", kind, T0 - timedelta(minutes=reported_minutes_ago),
                       T0 - timedelta(hours=trx_hours_ago), status)


def test_product_not_received_complaint_followups_by_slot_and_hard_after_a_day():
    assert report_step(report(), {}, T0, TH).step == PNR_COMPLAINT
    done = {PNR_COMPLAINT: T0}
    assert report_step(report(reported_minutes_ago=29), done, T0, TH) is None
    first = report_step(report(reported_minutes_ago=31), done, T0, TH)
    assert first.step == "pnr_followup_1" and first.code == "PNR_FOLLOWUP_SENT"
    assert report_step(report(reported_minutes_ago=59), {**done, "pnr_followup_1": T0}, T0, TH) is None
    # the bot was down for two hours: one follow-up for the current slot, not four
    late = report_step(report(reported_minutes_ago=125), {**done, "pnr_followup_1": T0}, T0, TH)
    assert late.step == "pnr_followup_4"
    hard = report_step(report(trx_hours_ago=25, reported_minutes_ago=40), done, T0, TH)
    assert (hard.step, hard.level) == (PNR_HARD, "hard")
    assert report_step(report(trx_hours_ago=26), {**done, PNR_HARD: T0}, T0, TH) is None


def test_wrong_number_is_recorded_and_nothing_is_sent():
    step = report_step(report(kind="WRONG_NUMBER"), {}, T0, TH)
    assert (step.step, step.level, step.code) == (WRONG_NUMBER, None, "WRONG_NUMBER_NON_REFUNDABLE")
    assert report_step(report(kind="WRONG_NUMBER"), {WRONG_NUMBER: T0}, T0, TH) is None


@settings(max_examples=200, deadline=None)
@given(ages=st.lists(st.integers(0, 120), min_size=1, max_size=6), ticks=st.lists(st.integers(1, 20), max_size=15),
       late=st.integers(0, 30))
def test_properties_over_many_runs(ages, ticks, late):
    """Run the ladder like the scheduler would, with a moving clock: check every step sent."""
    start = T0 + timedelta(minutes=late)
    txs = [PendingTx(f"T{n}", "mitra", T0 - timedelta(minutes=a)) for n, a in enumerate(ages)]
    done: dict[str, dict[str, datetime]] = {}
    sent = []
    now = start
    for tick in [0] + ticks:
        now += timedelta(minutes=tick)
        steps, _ = decide(txs, [], {}, done, now)
        for step in steps:
            assert step.step not in done.get(step.trx_id, {})  # each step at most once
            done.setdefault(step.trx_id, {})[step.step] = now
            sent.append((step, now))
    created = {t.trx_id: t.created_at for t in txs}
    for step, at in sent:
        age = at - created[step.trx_id]
        assert age > TH.complaint_after  # no step before its threshold
        if step.step == HARD:
            assert age > TH.hard_after  # a hard complaint never before 15 minutes
        if step.step == SUPERVISOR:
            assert at - done[step.trx_id][HARD] >= timedelta(0)
    for t in txs:  # none missing past its threshold at the last run
        age = now - t.created_at
        if age > TH.hard_after:
            assert HARD in done.get(t.trx_id, {})
        elif age > TH.complaint_after:
            assert {COMPLAINT, HARD} & set(done.get(t.trx_id, {}))
