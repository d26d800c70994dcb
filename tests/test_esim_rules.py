"""eSIM order rules with an injected clock: the juklak's order, 3×24 h, confirmations, 7 working days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from bots.esim.rules import (CLOSED_UNPAID, DEVICE_UNKNOWN, FORM_INCOMPLETE, INVALID_KK_FORMAT,
                             INVALID_NIK_BIRTHDATE, INVALID_NIK_FORMAT, INVALID_NIK_REGION, ISMARA_ARREARS,
                             KK_MISMATCH, NEEDS_CONFIRMATION, NIK_NOT_IN_DUKCAPIL, VALID, WAITING_PAYMENT, Citizen,
                             Money, Order, add_working_days, birth_date, close_at, confirmation_due, decide,
                             deposit_due, deposit_due_at, hours_left, indonesian_holidays, money_of, needs_lookup,
                             normalise_device, refund_due, supports_esim, working_days_between)

JKT = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=JKT)
NIK, KK = "3603124509870002", "3603120101090011"  # made up: Kab. Tangerang, a woman born 05/09/1987
DEVICES = ["iphone 1[1-6]*", "samsung galaxy s2[0-5]*", "google pixel [3-9]*"]


def order(**changes) -> Order:
    base = dict(order_id="PSB-1", submitted_at=NOW - timedelta(hours=5), nik=NIK, kk=KK, device="iPhone 15",
                form_completed=True, upfront_amount=150000, esim_fee=25000)
    return Order(**{**base, **changes})


def code(o: Order, received=175000, citizen=Citizen(KK), arrears=0, now=NOW) -> str:
    return decide(o, received, citizen, arrears, now, DEVICES).code


def test_valid_paid_order():
    assert code(order()) == VALID
    assert needs_lookup(order(), 175000, DEVICES, NOW.date())


def test_paid_means_upfront_and_fee_both_in():
    assert code(order(), received=150000) == WAITING_PAYMENT  # the eSIM fee is missing
    assert not needs_lookup(order(), 150000, DEVICES, NOW.date())


def test_unpaid_closes_after_three_times_24_hours():
    young = order(submitted_at=NOW - timedelta(hours=71, minutes=59))
    assert code(young, received=0) == WAITING_PAYMENT and 0 < hours_left(young, NOW) < 0.1
    old = order(submitted_at=NOW - timedelta(hours=72))
    assert code(old, received=0) == CLOSED_UNPAID and hours_left(old, NOW) == 0
    assert close_at(old) == NOW


def test_money_that_came_after_three_times_24_hours_does_not_make_an_order_paid():
    o = order(submitted_at=NOW - timedelta(hours=74))
    late = money_of(o, [(175000, NOW - timedelta(hours=0.5))])  # paid at 73.5 h
    assert late == Money(175000, 0) and code(o, received=late) == CLOSED_UNPAID
    split = money_of(o, [(150000, NOW - timedelta(hours=10)), (25000, NOW - timedelta(hours=3))])
    assert split == Money(175000, 175000) and code(o, received=split) == VALID  # both in before 72 h


def test_closed_or_confirmed_orders_get_back_whatever_came_once_per_tranche():
    assert refund_due("PSB-1", 0, 0, 0, busy=False) is None  # nothing came: nothing to give back
    first = refund_due("PSB-1", 150000, 0, 1, busy=False)
    assert (first.key, first.reference, first.amount) == ("refund:PSB-1", "RF-PSB-1", 150000)
    assert refund_due("PSB-1", 150000, 150000, 1, busy=False) is None  # once
    later = refund_due("PSB-1", 175000, 150000, 2, busy=False)  # the fee came after the close
    assert (later.key, later.reference, later.amount) == ("refund:PSB-1:2", "RF-PSB-1-2", 25000)
    assert refund_due("PSB-1", 175000, 150000, 2, busy=True) is None  # the first one still in doubt


@given(payments=st.lists(st.integers(1, 300000), min_size=1, max_size=6), refunded_at=st.lists(st.integers(0, 5)))
@settings(max_examples=200, deadline=None)
def test_property_every_rupiah_received_is_refunded_exactly_once(payments, refunded_at):
    """Money comes in any number of payments; runs happen between them: the refunds add up to it."""
    refunded, keys = 0, set()
    runs = sorted({min(i, len(payments)) for i in refunded_at} | {len(payments)})
    for n in runs:
        due = refund_due("PSB-9", sum(payments[:n]), refunded, n, busy=False)
        if due is not None:
            assert due.key not in keys and due.amount > 0
            keys.add(due.key)
            refunded += due.amount
    assert refunded == sum(payments)


@pytest.mark.parametrize("nik, kk, expected", [
    ("360312450987000", KK, INVALID_NIK_FORMAT),           # 15 digits
    ("36031245098700A2", KK, INVALID_NIK_FORMAT),
    ("9903124509870002", KK, INVALID_NIK_REGION),          # no province 99
    ("3600124509870002", KK, INVALID_NIK_REGION),          # regency 00
    ("3603127513870002", KK, INVALID_NIK_BIRTHDATE),       # day 75 (35 for a woman)
    ("3603120513870002", KK, INVALID_NIK_BIRTHDATE),       # month 13
    ("3603123102870002", KK, INVALID_NIK_BIRTHDATE),       # 31 February
    ("3603124509870000", KK, INVALID_NIK_BIRTHDATE),       # serial 0000
    (NIK, "36031201010900", INVALID_KK_FORMAT),
])
def test_nik_and_kk_shapes_wait_for_a_refund_confirmation(nik, kk, expected):
    assert code(order(nik=nik, kk=kk)) == expected
    assert expected in NEEDS_CONFIRMATION


def test_birth_dates_of_women_and_the_century_from_the_runs_date():
    assert birth_date("3603124509870002", NOW.date()) == date(1987, 9, 5)
    assert birth_date("3603120101050001", NOW.date()) == date(2005, 1, 1)
    assert birth_date("3603120101270001", date(2026, 11, 23)) == date(1927, 1, 1)
    assert birth_date("3603120101270001", date(2031, 1, 1)) == date(2027, 1, 1)  # not cut off at 2026
    assert birth_date("3603122902000001", date(2026, 1, 1)) == date(2000, 2, 29)
    assert birth_date("3603122811260001", date(2026, 11, 23)) == date(1926, 11, 28)  # later this year: last century


def test_form_device_dukcapil_kk_and_arrears():
    assert code(order(form_completed=False)) == FORM_INCOMPLETE  # waits, never a refund
    assert code(order(device="Samsung Galaxy A15")) == DEVICE_UNKNOWN  # a person checks it
    assert code(order(device="  samsung   GALAXY s24 ultra ")) == VALID
    assert code(order(), citizen=None) == NIK_NOT_IN_DUKCAPIL
    assert code(order(), citizen=Citizen("3603120101090099")) == KK_MISMATCH
    assert code(order(), arrears=150000) == ISMARA_ARREARS
    for c in (FORM_INCOMPLETE, DEVICE_UNKNOWN):
        d = decide(order(form_completed=c != FORM_INCOMPLETE, device="Nokia 3310" if c == DEVICE_UNKNOWN
                         else "iPhone 15"), 175000, Citizen(KK), 0, NOW, DEVICES)
        assert d.code == c and not d.refund and not d.final


def test_the_form_is_checked_after_payment_not_before():
    assert code(order(form_completed=False), received=0) == WAITING_PAYMENT
    unpaid_old = order(form_completed=False, submitted_at=NOW - timedelta(hours=80))
    assert code(unpaid_old, received=0) == CLOSED_UNPAID


@pytest.mark.parametrize("typed", ["Apple iPhone 15", "iphone15", "IPHONE 15 PRO MAX", "Galaxy S24 Ultra",
                                   "SAMSUNG  galaxy S 24", "Samsung-Galaxy-S24+", "pixel 7a", "Google Pixel 8 Pro"])
def test_devices_match_however_they_are_typed(typed):
    assert supports_esim(typed, DEVICES), normalise_device(typed)


@pytest.mark.parametrize("typed", ["Samsung Galaxy A15", "Nokia 3310", "Oppo A58", "iPhone 8"])
def test_devices_the_list_does_not_know(typed):
    assert not supports_esim(typed, DEVICES)


def test_a_configured_wait_confirms_by_itself_a_person_otherwise():
    since = NOW - timedelta(hours=48)
    assert not confirmation_due(since, NOW, None)  # the default: a person confirms
    assert confirmation_due(since, NOW, timedelta(hours=48))
    assert not confirmation_due(since, NOW - timedelta(seconds=1), timedelta(hours=48))


def test_seven_working_days_skip_weekends():
    assert add_working_days(date(2026, 11, 23), 7, set()) == date(2026, 12, 2)  # Monday → Wednesday next week
    assert add_working_days(date(2026, 11, 27), 7, set()) == date(2026, 12, 8)  # from a Friday
    assert working_days_between(date(2026, 11, 27), date(2026, 12, 8), set()) == 7
    assert working_days_between(date(2026, 12, 8), date(2026, 11, 27), set()) == -7


def test_seven_working_days_skip_holidays():
    days_off = indonesian_holidays([2026])
    assert date(2026, 8, 17) in days_off and date(2026, 8, 25) in days_off
    # Friday 14 Aug: Mon 17 (Independence Day) and Tue 25 (the Prophet's Birthday) do not count
    assert deposit_due(date(2026, 8, 14), days_off) == date(2026, 8, 27)
    assert deposit_due_at(datetime(2026, 8, 14, 10, 0, tzinfo=JKT), days_off) == \
        datetime(2026, 8, 27, 23, 59, 59, tzinfo=JKT)
    # across Christmas, New Year and Isra' Mi'raj (5 January 2027)
    assert deposit_due(date(2026, 12, 23), indonesian_holidays([2026, 2027])) == date(2027, 1, 6)


def test_repr_of_an_order_shows_no_nik():
    assert NIK not in repr(order()) and KK not in repr(Citizen(KK))


@given(model=st.sampled_from(["iPhone 15", "iPhone 13 Pro", "Samsung Galaxy S24 Ultra", "Google Pixel 8"]),
       brand=st.booleans(), case=st.sampled_from([str.lower, str.upper, str.title, lambda t: t]),
       spaces=st.sampled_from([" ", "  ", "-", " - "]))
@settings(max_examples=200, deadline=None)
def test_property_a_known_device_matches_however_it_is_typed(model, brand, case, spaces):
    typed = ("Apple " if brand and model.startswith("iPhone") else "") + model
    if brand and model.startswith("Samsung"):
        typed = model.removeprefix("Samsung ")  # "Galaxy S24 Ultra"
    assert supports_esim(case(spaces.join(typed.split())), DEVICES)
