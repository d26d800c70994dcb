"""The complaint ladder with an injected clock: one ladder per transaction, every step once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from bots.complaints.act import message_for
from bots.complaints.ladder import (COMPLAINT, HARD, PNR_COMPLAINT, PNR_HARD, SERVER_FIX, SUPERVISOR, WRONG_NUMBER,
                                    WRONG_NUMBER_REFUNDED, AgentReport, Case, PendingTx, Resolution, SupplierAnswer,
                                    Thresholds, case_steps, decide, last_complaint)

JKT = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=JKT)
TH = Thresholds()


def tx(minutes_ago: float, status="PENDING", sn=None, now=T0):
    return PendingTx("TRX1", "mitra", now - timedelta(minutes=minutes_ago), status, sn)


def steps_of(case: Case, now=T0):
    found, resolution = case_steps(case, now, TH)
    return [s.step for s in found], resolution


def pnr(minutes_ago=0.0, trx_hours_ago=1.0, kind="PRODUCT_NOT_RECEIVED", status="SUKSES", cid="K1"):
    return AgentReport(cid, "TRX1", "mitra", kind, T0 - timedelta(minutes=minutes_ago),
                       T0 - timedelta(hours=trx_hours_ago), status)


def sukses(hours_ago=1.0):
    return tx(hours_ago * 60, "SUKSES", "0144700123456789")


# -- pending ------------------------------------------------------------------------------------

def test_nothing_before_two_minutes():
    assert steps_of(Case(tx(2))) == ([], None)
    assert steps_of(Case(tx(1.5), answer=SupplierAnswer("GAGAL", None))) == ([], None)


def test_complaint_after_two_minutes_then_hard_after_fifteen_then_supervisor_then_daily():
    assert steps_of(Case(tx(3))) == ([COMPLAINT], None)
    assert steps_of(Case(tx(3), done={COMPLAINT: T0})) == ([], None)  # once
    assert steps_of(Case(tx(16), done={COMPLAINT: T0 - timedelta(minutes=13)})) == ([HARD], None)
    assert steps_of(Case(tx(40), done={COMPLAINT: T0, HARD: T0 - timedelta(minutes=20)})) == ([], None)
    assert steps_of(Case(tx(50), done={COMPLAINT: T0, HARD: T0 - timedelta(minutes=31)})) == ([SUPERVISOR], None)
    told = {HARD: T0 - timedelta(hours=30), SUPERVISOR: T0 - timedelta(hours=23)}
    assert steps_of(Case(tx(31 * 60), done=told)) == ([], None)  # less than a day after the last rung
    told[SUPERVISOR] = T0 - timedelta(hours=25)
    assert steps_of(Case(tx(31 * 60), done=told)) == (["supervisor_reminder_1"], None)
    assert steps_of(Case(tx(31 * 60), done={**told, "supervisor_reminder_1": T0})) == ([], None)


def test_first_seen_late_gets_the_hard_complaint_directly():
    assert steps_of(Case(tx(20))) == ([HARD], None)


def test_a_final_supplier_answer_is_a_resolution_and_the_server_that_does_not_show_it_is_fixed_by_cs():
    assert steps_of(Case(tx(5), answer=SupplierAnswer("SUKSES", "0144700123456789"))) == \
        ([], Resolution("TRX1", "SUKSES", "0144700123456789"))
    assert isinstance(steps_of(Case(tx(5), answer=SupplierAnswer("GAGAL", None)))[1], Resolution)
    # SUKSES without a real serial number (error text in the SN field) is not final
    assert steps_of(Case(tx(5), answer=SupplierAnswer("SUKSES", None))) == ([COMPLAINT], None)
    # resolved by the supplier, the server still PENDING a while later: CS told once, no complaint
    closed = ("GAGAL", T0 - timedelta(minutes=3))
    assert steps_of(Case(tx(30), resolved=closed, done={COMPLAINT: T0})) == ([SERVER_FIX], None)
    assert steps_of(Case(tx(30), resolved=closed, done={COMPLAINT: T0, SERVER_FIX: T0})) == ([], None)
    assert steps_of(Case(tx(30), resolved=("GAGAL", T0 - timedelta(seconds=30)))) == ([], None)
    assert steps_of(Case(tx(30, "GAGAL"), resolved=closed)) == ([], None)  # the server shows it now
    fix, _ = case_steps(Case(tx(30), resolved=closed), T0, TH)
    assert fix[0].code == "SERVER_FIX_NEEDED" and "GAGAL" in fix[0].reason


def test_the_server_turning_final_resolves_the_case():
    assert steps_of(Case(tx(20, "GAGAL"), done={COMPLAINT: T0})) == ([], Resolution("TRX1", "GAGAL", None, "server"))
    assert steps_of(Case(tx(20, "SUKSES", "0144700123456789"), done={COMPLAINT: T0}))[1].source == "server"


# -- product not received -------------------------------------------------------------------------

def test_followups_are_timed_from_the_last_complaint_not_from_the_report():
    late_seen = pnr(minutes_ago=60)  # the report reached the bot an hour late
    assert steps_of(Case(sukses(), (late_seen,))) == ([PNR_COMPLAINT], None)
    just_sent = {PNR_COMPLAINT: T0 - timedelta(seconds=30)}
    assert steps_of(Case(sukses(), (late_seen,), done=just_sent)) == ([], None)
    sent = {PNR_COMPLAINT: T0 - timedelta(minutes=29)}
    assert steps_of(Case(sukses(), (late_seen,), done=sent)) == ([], None)
    sent = {PNR_COMPLAINT: T0 - timedelta(minutes=30)}
    assert steps_of(Case(sukses(), (late_seen,), done=sent)) == (["pnr_followup_1"], None)
    # after downtime: one follow-up, the next one 30 minutes after it
    sent = {PNR_COMPLAINT: T0 - timedelta(hours=3), "pnr_followup_1": T0 - timedelta(minutes=10)}
    assert steps_of(Case(sukses(), (late_seen,), done=sent)) == ([], None)
    sent["pnr_followup_1"] = T0 - timedelta(minutes=31)
    assert steps_of(Case(sukses(), (late_seen,), done=sent)) == (["pnr_followup_2"], None)


def test_pnr_on_a_transaction_older_than_a_day_gets_the_hard_complaint_at_once():
    old = sukses(hours_ago=25)
    assert steps_of(Case(old, (pnr(trx_hours_ago=25),))) == ([PNR_HARD], None)
    assert steps_of(Case(old, (pnr(trx_hours_ago=25),), done={PNR_HARD: T0 - timedelta(seconds=30)})) == ([], None)
    # a follow-up chase that crosses the day: the hard one, then no more follow-ups
    chase = {PNR_COMPLAINT: T0 - timedelta(hours=2), "pnr_followup_1": T0 - timedelta(minutes=40)}
    assert steps_of(Case(old, (pnr(minutes_ago=130, trx_hours_ago=25),), done=chase)) == ([PNR_HARD], None)
    # past the last rung: the supervisor once a day while the case is open
    chase[PNR_HARD] = T0 - timedelta(hours=25)
    assert steps_of(Case(old, (pnr(trx_hours_ago=25),), done=chase)) == (["supervisor_reminder_1"], None)


def test_pnr_on_a_pending_transaction_joins_its_pending_ladder():
    case = Case(tx(5), (pnr(status="PENDING", trx_hours_ago=5 / 60),))
    found, _ = case_steps(case, T0, TH)
    assert [s.step for s in found] == [COMPLAINT]  # one complaint, not two
    text = message_for(found[0], "S10", "0812", "TPX")
    assert "pending" in text and "sukses" not in text
    assert steps_of(Case(tx(5), case.reports, done={COMPLAINT: T0})) == ([], None)


def test_the_chase_stops_on_an_sn_in_the_reply_or_a_failure():
    reports = (pnr(minutes_ago=40),)
    sent = {PNR_COMPLAINT: T0 - timedelta(minutes=35)}
    assert steps_of(Case(sukses(), reports, replied_sn="0144799999999999", done=sent)) == \
        ([], Resolution("TRX1", "SUKSES", "0144799999999999"))
    assert steps_of(Case(sukses(), reports, answer=SupplierAnswer("GAGAL", None), done=sent))[1].status == "GAGAL"
    assert steps_of(Case(tx(60, "GAGAL"), reports, done=sent))[1] == Resolution("TRX1", "GAGAL", None, "server")
    # the supplier's status export shows SUKSES with the SN the agent says never arrived: not an answer
    assert steps_of(Case(sukses(), reports, answer=SupplierAnswer("SUKSES", "0144700123456789"), done=sent)) == \
        (["pnr_followup_1"], None)
    # a closed case asks for nothing more
    assert steps_of(Case(sukses(), reports, resolved=("SUKSES", T0), done=sent)) == ([], None)


def test_wrong_number_is_non_refundable_only_on_a_sukses_transaction():
    found, _ = case_steps(Case(sukses(), (pnr(kind="WRONG_NUMBER"),)), T0, TH)
    assert [(s.step, s.level, s.code) for s in found] == [(WRONG_NUMBER, None, "WRONG_NUMBER_NON_REFUNDABLE")]
    assert steps_of(Case(sukses(), (pnr(kind="WRONG_NUMBER"),), done={WRONG_NUMBER: T0})) == ([], None)
    gagal, _ = case_steps(Case(tx(60, "GAGAL"), (pnr(kind="WRONG_NUMBER", status="GAGAL"),)), T0, TH)
    assert [s.code for s in gagal] == ["WRONG_NUMBER_ALREADY_REFUNDED"] and gagal[0].step == WRONG_NUMBER_REFUNDED
    pending, _ = case_steps(Case(tx(5), (pnr(kind="WRONG_NUMBER", status="PENDING"),)), T0, TH)
    assert [s.step for s in pending] == [COMPLAINT]  # the pending ladder, not "non-refundable"


def test_two_reports_of_one_transaction_are_one_ladder():
    found, _ = decide([Case(sukses(), (pnr(cid="K1"), pnr(cid="K2", minutes_ago=1)))], T0, TH)
    assert [s.step for s in found] == [PNR_COMPLAINT]


# -- properties over many runs ------------------------------------------------------------------

def _simulate(txs, reports, ticks, start):
    done: dict[str, dict[str, datetime]] = {}
    sent = []
    now = start
    for tick in [0] + ticks:
        now += timedelta(minutes=tick)
        cases = [Case(t, tuple(r for r in reports if r.trx_id == t.trx_id), done=dict(done.get(t.trx_id, {})))
                 for t in txs]
        steps, resolutions = decide(cases, now, TH)
        assert not resolutions
        for step in steps:
            assert step.step not in done.get(step.trx_id, {})  # each step at most once
            done.setdefault(step.trx_id, {})[step.step] = now
            sent.append((step, now))
    return done, sent, now


@settings(max_examples=200, deadline=None)
@given(ages=st.lists(st.integers(0, 120), min_size=1, max_size=6), ticks=st.lists(st.integers(1, 20), max_size=15),
       late=st.integers(0, 30))
def test_pending_properties_over_many_runs(ages, ticks, late):
    """Run the ladder like the scheduler would, with a moving clock: check every step sent."""
    txs = [PendingTx(f"T{n}", "mitra", T0 - timedelta(minutes=a)) for n, a in enumerate(ages)]
    done, sent, now = _simulate(txs, [], ticks, T0 + timedelta(minutes=late))
    created = {t.trx_id: t.created_at for t in txs}
    for step, at in sent:
        age = at - created[step.trx_id]
        assert age > TH.complaint_after  # no step before its threshold
        if step.step == HARD:
            assert age > TH.hard_after  # a hard complaint never before 15 minutes
        if step.step == SUPERVISOR:
            assert at - done[step.trx_id][HARD] > TH.supervisor_after_hard
    for t in txs:  # none missing past its threshold at the last run
        age = now - t.created_at
        if age > TH.hard_after:
            assert HARD in done.get(t.trx_id, {})
        elif age > TH.complaint_after:
            assert {COMPLAINT, HARD} & set(done.get(t.trx_id, {}))


@settings(max_examples=200, deadline=None)
@given(trx_hours=st.lists(st.floats(0.1, 30), min_size=1, max_size=4),
       reported=st.lists(st.integers(0, 300), min_size=4, max_size=4),
       ticks=st.lists(st.integers(1, 240), max_size=25))
def test_pnr_properties_over_many_runs(trx_hours, reported, ticks):
    """PNR chases: never a complaint sooner than followup_every after the previous one, the hard
    one once past 24 h (and nothing but daily reminders after it), reminders a day apart."""
    txs = [PendingTx(f"T{n}", "sinar", T0 - timedelta(hours=h), "SUKSES", "0144700123456789")
           for n, h in enumerate(trx_hours)]
    reports = [AgentReport(f"K{n}", t.trx_id, "sinar", "PRODUCT_NOT_RECEIVED", T0 - timedelta(minutes=reported[n]),
                           t.created_at, "SUKSES") for n, t in enumerate(txs)]
    done, sent, now = _simulate(txs, reports, ticks, T0)
    by_trx: dict[str, list] = {}
    for step, at in sent:
        by_trx.setdefault(step.trx_id, []).append((step, at))
    for t in txs:
        mine = by_trx.get(t.trx_id, [])
        assert mine, "a report always gets its first complaint at once"
        first, at = mine[0]
        hard_at_once = at - t.created_at > TH.pnr_hard_after
        assert first.step == (PNR_HARD if hard_at_once else PNR_COMPLAINT)
        complaints = [(s, a) for s, a in mine if s.level is not None]
        for (_, before), (_, after) in zip(complaints, complaints[1:]):
            assert after - before >= TH.followup_every
        hard = [a for s, a in complaints if s.step == PNR_HARD]
        assert len(hard) <= 1 and all(a - t.created_at > TH.pnr_hard_after for a in hard)
        if hard:
            assert all(s.level is None for s, a in mine if a > hard[0])
        reminders = [a for s, a in mine if s.step.startswith("supervisor_reminder_")]
        for before, after in zip(hard[:1] + reminders, reminders):
            assert after - before >= TH.reminder_every
        last = last_complaint(done.get(t.trx_id, {}), {})
        if now - t.created_at <= TH.pnr_hard_after and last is not None:
            assert now - last < TH.followup_every + timedelta(minutes=240)  # never left hanging past a tick
