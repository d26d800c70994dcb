"""Decide (pure): what happens to each Halo eSIM order — wait, close, refund or batch.

The juklak (DOMAIN §3): an order is paid when the upfront amount **and** the eSIM fee are
both in; unpaid 3×24 hours after submission it is closed. A paid order is checked — NIK and
KK well formed (16 digits, a plausible region and birth date), the NIK known to Dukcapil with
that KK, no arrears in ISMARA, an eSIM-capable device, the registration form complete — and
either goes into the next activation batch for GraPARI or gets a refund request, with the
failure's own code. After activation, the aggregator pays the upfront and fee into the MSISDN
within 7 working days (weekends and Indonesian public holidays excluded).

No I/O, no clock: `now`, the lookups and the holidays are arguments.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Container, Iterable, Mapping, Protocol

VALID = "VALID"
WAITING_PAYMENT = "WAITING_PAYMENT"
CLOSED_UNPAID = "CLOSED_UNPAID"
INVALID_NIK_FORMAT = "INVALID_NIK_FORMAT"
INVALID_NIK_REGION = "INVALID_NIK_REGION"
INVALID_NIK_BIRTHDATE = "INVALID_NIK_BIRTHDATE"
INVALID_KK_FORMAT = "INVALID_KK_FORMAT"
FORM_INCOMPLETE = "FORM_INCOMPLETE"
DEVICE_NOT_ESIM = "DEVICE_NOT_ESIM"
NIK_NOT_IN_DUKCAPIL = "NIK_NOT_IN_DUKCAPIL"
KK_MISMATCH = "KK_MISMATCH"
ISMARA_ARREARS = "ISMARA_ARREARS"

REASONS = {
    VALID: "Data valid, dibayar lunas: masuk batch aktivasi",
    WAITING_PAYMENT: "Menunggu pembayaran upfront dan biaya eSIM",
    CLOSED_UNPAID: "Tidak dibayar dalam 3x24 jam: pesanan ditutup",
    INVALID_NIK_FORMAT: "NIK harus 16 digit angka",
    INVALID_NIK_REGION: "Kode wilayah NIK tidak valid",
    INVALID_NIK_BIRTHDATE: "Tanggal lahir dalam NIK tidak valid",
    INVALID_KK_FORMAT: "Nomor KK harus 16 digit angka dengan kode wilayah valid",
    FORM_INCOMPLETE: "Formulir registrasi digital belum lengkap",
    DEVICE_NOT_ESIM: "Perangkat tidak mendukung eSIM",
    NIK_NOT_IN_DUKCAPIL: "NIK tidak ditemukan di Dukcapil",
    KK_MISMATCH: "Nomor KK tidak sesuai data Dukcapil",
    ISMARA_ARREARS: "Pelanggan memiliki tunggakan di ISMARA",
}
REFUNDED = frozenset(REASONS) - {VALID, WAITING_PAYMENT, CLOSED_UNPAID}

#: Province codes (the first two digits of a NIK or KK), Kemendagri numbering.
PROVINCES = frozenset({11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63,
                       64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97})
SIXTEEN = re.compile(r"^\d{16}$")
UNPAID_CLOSE_AFTER = timedelta(hours=72)
DEPOSIT_WORKING_DAYS = 7


@dataclass(frozen=True)
class Order:
    order_id: str
    submitted_at: datetime
    nik: str = field(repr=False)
    kk: str = field(repr=False)
    device: str
    form_completed: bool
    upfront_amount: int
    esim_fee: int


@dataclass(frozen=True)
class Citizen:
    """What Dukcapil answered for a NIK (None: not found)."""

    kk: str = field(repr=False)


@dataclass(frozen=True)
class Decision:
    order_id: str
    code: str
    reason: str

    @property
    def refund(self) -> bool:
        return self.code in REFUNDED


def region_ok(number: str) -> bool:
    """Province known, regency and district not 00."""
    return int(number[:2]) in PROVINCES and number[2:4] != "00" and number[4:6] != "00"


def birth_date(nik: str) -> date | None:
    """The NIK's birth date (DDMMYY, +40 on the day for women), or None if impossible."""
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    for century in (2000, 1900):
        try:
            born = date(century + year, month, day)
        except ValueError:
            return None
        if century == 1900 or born.year <= 2026:
            return born
    return None


def nik_problem(nik: str, kk: str) -> str | None:
    """The first problem with a NIK/KK pair's shape (DOMAIN §3), or None."""
    if not SIXTEEN.match(nik or ""):
        return INVALID_NIK_FORMAT
    if not region_ok(nik):
        return INVALID_NIK_REGION
    if birth_date(nik) is None or nik[12:16] == "0000":
        return INVALID_NIK_BIRTHDATE
    if not SIXTEEN.match(kk or "") or not region_ok(kk):
        return INVALID_KK_FORMAT
    return None


def supports_esim(device: str, patterns: Iterable[str]) -> bool:
    name = " ".join((device or "").split()).lower()
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in patterns)


def paid(order: Order, received: int) -> bool:
    """Upfront amount and eSIM fee both in (payments may come separately)."""
    return received >= order.upfront_amount + order.esim_fee


def needs_lookup(order: Order, received: int, devices: Iterable[str]) -> bool:
    """Should collect ask Dukcapil and ISMARA about this order? Only when nothing else fails."""
    return (paid(order, received) and nik_problem(order.nik, order.kk) is None and order.form_completed
            and supports_esim(order.device, devices))


def decide(order: Order, received: int, citizen: Citizen | None, arrears: int | None, now: datetime,
           devices: Iterable[str]) -> Decision:
    """One order's decision. `citizen`/`arrears` are the lookups (None when not looked up/found)."""
    def made(code: str) -> Decision:
        return Decision(order.order_id, code, REASONS[code])

    if not paid(order, received):
        return made(CLOSED_UNPAID if now - order.submitted_at >= UNPAID_CLOSE_AFTER else WAITING_PAYMENT)
    problem = nik_problem(order.nik, order.kk)
    if problem:
        return made(problem)
    if not order.form_completed:
        return made(FORM_INCOMPLETE)
    if not supports_esim(order.device, devices):
        return made(DEVICE_NOT_ESIM)
    if citizen is None:
        return made(NIK_NOT_IN_DUKCAPIL)
    if citizen.kk != order.kk:
        return made(KK_MISMATCH)
    if arrears:
        return made(ISMARA_ARREARS)
    return made(VALID)


def hours_left(order: Order, now: datetime) -> float:
    """Hours before an unpaid order is closed."""
    return max(0.0, (order.submitted_at + UNPAID_CLOSE_AFTER - now).total_seconds() / 3600)


def add_working_days(start: date, days: int, holidays: Container[date]) -> date:
    """The date `days` working days after `start` (weekends and holidays do not count)."""
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            left -= 1
    return current


def deposit_due(activated_on: date, holidays: Container[date]) -> date:
    return add_working_days(activated_on, DEPOSIT_WORKING_DAYS, holidays)


def indonesian_holidays(years: Iterable[int], extra: Iterable[date] = ()) -> set[date]:
    """Public holidays (the `holidays` package) plus configured collective leave (cuti bersama)."""
    import holidays

    return set(holidays.country_holidays("ID", years=list(years))) | set(extra)


class _Paid(Protocol):
    """What the sum needs of a payment (the aggregator's `Payment`), read-only."""

    @property
    def order_id(self) -> str: ...

    @property
    def amount(self) -> int: ...


def received_by_order(payments: Iterable[_Paid]) -> Mapping[str, int]:
    total: dict[str, int] = {}
    for p in payments:
        total[p.order_id] = total.get(p.order_id, 0) + p.amount
    return total
