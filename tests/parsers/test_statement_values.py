"""Cell converters: amounts, dates, month names and clocks as the exports write them."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.parsers.values import (MONTHS, day_month_year, normalise_description, parse_amount,
                                 parse_clock, parse_month_name_date, parse_unpadded_clock)


@pytest.mark.parametrize("raw, value", [
    ("1500000.00", "1500000.00"), ("1,500,000.00", "1500000.00"), (" 20,000 ", "20000.00"),
    (".00", "0.00"), ("0.00", "0.00"), ("18807760.76", "18807760.76"), ("5", "5.00"),
    ("1,500.5", "1500.50"), ("999", "999.00"),
])
def test_accepted_amounts(raw, value):
    amount = parse_amount(raw)
    assert amount == Decimal(value) and str(amount) == value  # always two places


@pytest.mark.parametrize("raw, reason", [
    ("1.500.000,00", "decimal comma"), ("150000,00", "decimal comma"),
    ("1.500.000", "decimal comma"),
    ("Rp 1.500.000", "currency sign"), ("Rp1500000", "currency sign"),
    ("-150000.00", "negative"), ("(150000.00)", "negative"), ("150000.00-", "negative"),
    ("", "empty"), ("   ", "empty"), ("1.2345", "more than two decimals"),
    ("1,50,000.00", "not an amount"), ("1e5", "not an amount"), ("NaN", "not an amount"),
    ("１５００", "not an amount"), ("1_000.00", "not an amount"), ("DB", "not an amount"),
])
def test_rejected_amounts_say_why(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_amount(raw)


@given(st.integers(min_value=0, max_value=10**13), st.integers(min_value=0, max_value=99))
def test_amounts_round_trip_in_every_accepted_spelling(rupiah, sen):
    exact = Decimal(rupiah) + Decimal(sen) / 100
    for spelling in (f"{rupiah}.{sen:02d}", f"{rupiah:,}.{sen:02d}", f'  {rupiah:,}.{sen:02d} '):
        assert parse_amount(spelling) == exact
    if sen == 0:
        assert parse_amount(f"{rupiah:,}") == exact


@pytest.mark.parametrize("name, month", [
    ("January", 1), ("Januari", 1), ("Feb", 2), ("Februari", 2), ("Maret", 3), ("March", 3),
    ("April", 4), ("Mei", 5), ("May", 5), ("Juni", 6), ("Juli", 7), ("Agustus", 8), ("Agu", 8),
    ("Agt", 8), ("August", 8), ("Aug", 8), ("September", 9), ("Sep", 9), ("Oktober", 10),
    ("Okt", 10), ("Oct", 10), ("November", 11), ("Nop", 11), ("Desember", 12), ("Des", 12),
    ("DECEMBER", 12), ("dec", 12),
])
def test_mandiri_month_names(name, month):
    day, moment = parse_month_name_date(f"03 {name} 2026 11:27:10")
    assert day == date(2026, month, 3) and moment == datetime(2026, month, 3, 11, 27, 10)


def test_month_table_covers_twelve_months():
    assert sorted(set(MONTHS.values())) == list(range(1, 13))


def test_mandiri_date_without_time():
    assert parse_month_name_date("07 Agustus 2026") == (date(2026, 8, 7), None)


@pytest.mark.parametrize("raw", ["03/08/2026 11:27:10", "03 Agosto 2026", "3 August",
                                 "x August 2026"])
def test_bad_mandiri_dates(raw):
    with pytest.raises(ValueError):
        parse_month_name_date(raw)


@pytest.mark.parametrize("raw, clock", [
    ("3153", time(0, 31, 53)), ("234444", time(23, 44, 44)), ("5", time(0, 0, 5)),
    ("0", time(0, 0, 0)), ("90507", time(9, 5, 7)),
])
def test_bri_unpadded_clock(raw, clock):
    assert parse_unpadded_clock(raw) == clock


@pytest.mark.parametrize("raw", ["1234567", "12:30", "", "246000", "2361"])
def test_bad_bri_clock(raw):
    with pytest.raises(ValueError):
        parse_unpadded_clock(raw)


@pytest.mark.parametrize("raw, year, value", [
    ("25/09/2026", None, date(2026, 9, 25)), ("05/09/26", None, date(2026, 9, 5)),
    ("25/09", 2026, date(2026, 9, 25)), ("1/2/2026", None, date(2026, 2, 1)),
])
def test_day_month_year(raw, year, value):
    assert day_month_year(raw, year=year) == value


@pytest.mark.parametrize("raw", ["25/09", "2026-09-25", "25/13/2026", "aa/09/2026", "25/09/226"])
def test_bad_day_month_year(raw):
    with pytest.raises(ValueError):
        day_month_year(raw)


@pytest.mark.parametrize("raw, text", [
    ("'TRSF E-BANKING   CR  2509", "TRSF E-BANKING CR 2509"),
    ("  'SETORAN\tTUNAI  ", "SETORAN TUNAI"), ("JUM'AT BERKAH", "JUM'AT BERKAH"),
    ("''QUOTED", "'QUOTED"), ("", ""), ("\u00a0BIAYA\u00a0ADM", "BIAYA ADM"),
])
def test_normalise_description(raw, text):
    assert normalise_description(raw) == text


@pytest.mark.parametrize("raw, separator, clock", [
    ("10.15.22", ".", time(10, 15, 22)), ("11:27:10", ":", time(11, 27, 10)),
    ("11:27", ":", time(11, 27)), (" 23:59:59 ", ":", time(23, 59, 59)),
])
def test_clock(raw, separator, clock):
    assert parse_clock(raw, separator) == clock


@pytest.mark.parametrize("raw", ["1:27:10", "11-27-10", "11:27:1", "24:00:00", "aa:bb:cc",
                                 "11:27:10:00"])
def test_bad_clock(raw):
    with pytest.raises(ValueError):
        parse_clock(raw)


def test_month_name_dates_share_the_cached_day():
    days = {}
    first = parse_month_name_date("07 Agustus 2026 10:16:54", days)
    second = parse_month_name_date("07 Agustus 2026 23:59:01", days)
    assert first[0] is second[0] and list(days) == ["07 Agustus 2026"]
    assert second[1] == datetime(2026, 8, 7, 23, 59, 1)
