"""eSIM order rules with an injected clock: every code, 3×24 h closing, 7 working days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bots.esim.rules import (CLOSED_UNPAID, DEVICE_NOT_ESIM, FORM_INCOMPLETE, INVALID_KK_FORMAT,
                             INVALID_NIK_BIRTHDATE, INVALID_NIK_FORMAT, INVALID_NIK_REGION, ISMARA_ARREARS,
                             KK_MISMATCH, NIK_NOT_IN_DUKCAPIL, VALID, WAITING_PAYMENT, Citizen, Order,
                             add_working_days, birth_date, decide, deposit_due, hours_left, indonesian_holidays,
                             needs_lookup)

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
    assert needs_lookup(order(), 175000, DEVICES)


def test_paid_means_upfront_and_fee_both_in():
    assert code(order(), received=150000) == WAITING_PAYMENT  # the eSIM fee is missing
    assert not needs_lookup(order(), 150000, DEVICES)


def test_unpaid_closes_after_three_times_24_hours():
    young = order(submitted_at=NOW - timedelta(hours=71, minutes=59))
    assert code(young, received=0) == WAITING_PAYMENT and 0 < hours_left(young, NOW) < 0.1
    old = order(submitted_at=NOW - timedelta(hours=72))
    assert code(old, received=0) == CLOSED_UNPAID and hours_left(old, NOW) == 0


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
def test_nik_and_kk_shapes(nik, kk, expected):
    assert code(order(nik=nik, kk=kk)) == expected


def test_birth_dates_of_women_and_centuries():
    assert birth_date("3603124509870002") == date(1987, 9, 5)
    assert birth_date("3603120101050001") == date(2005, 1, 1)


def test_form_device_dukcapil_kk_and_arrears():
    assert code(order(form_completed=False)) == FORM_INCOMPLETE
    assert code(order(device="Samsung Galaxy A15")) == DEVICE_NOT_ESIM
    assert code(order(device="  samsung   GALAXY s24 ultra ")) == VALID
    assert code(order(), citizen=None) == NIK_NOT_IN_DUKCAPIL
    assert code(order(), citizen=Citizen("3603120101090099")) == KK_MISMATCH
    assert code(order(), arrears=150000) == ISMARA_ARREARS


def test_seven_working_days_skip_weekends():
    assert add_working_days(date(2026, 11, 23), 7, set()) == date(2026, 12, 2)  # Monday → Wednesday next week
    assert add_working_days(date(2026, 11, 27), 7, set()) == date(2026, 12, 8)  # from a Friday


def test_seven_working_days_skip_holidays():
    days_off = indonesian_holidays([2026])
    assert date(2026, 8, 17) in days_off and date(2026, 8, 25) in days_off
    # Friday 14 Aug: Mon 17 (Independence Day) and Tue 25 (the Prophet's Birthday) do not count
    assert deposit_due(date(2026, 8, 14), days_off) == date(2026, 8, 27)
    # across Christmas, New Year and Isra' Mi'raj (5 January 2027)
    assert deposit_due(date(2026, 12, 23), indonesian_holidays([2026, 2027])) == date(2027, 1, 6)


def test_repr_of_an_order_shows_no_nik():
    assert NIK not in repr(order()) and KK not in repr(Citizen(KK))
