"""Decide (pure): what happens to each Halo eSIM order — wait, close, ask a person, or batch.

The juklak, section 11 (DOMAIN §3), in its order:

- steps 7–8: the order is **paid** when the upfront amount and the eSIM fee are both in
  **within 3×24 hours** of submission. Not paid in full by then → closed, and whatever was
  received (the upfront or the fee alone, or money that came after the close) is refunded;
- step 6: the customer's registration form. Incomplete: the order waits (the sales agent is
  reminded once a day); never a refund for it;
- 8a.5: the sales agent checks that the device supports eSIM. A device the configured list
  does not know goes to a person, never to a refund;
- step 9: NIK and KK valid (well formed, known to Dukcapil together) and no arrears in ISMARA.
  Invalid data or arrears → **waiting for the refund to be confirmed** (step 10: confirm with
  the customer first); the refund is requested once a person confirms, or after a configured
  wait if the settings say so;
- step 12: valid → the next activation batch for GraPARI;
- section 7h: after activation the aggregator deposits the upfront and eSIM fee into the MSISDN
  within 7 working days (weekends and Indonesian public holidays excluded).

No I/O, no clock: `now`, the lookups and the holidays are arguments.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
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
DEVICE_UNKNOWN = "DEVICE_UNKNOWN"
NIK_NOT_IN_DUKCAPIL = "NIK_NOT_IN_DUKCAPIL"
KK_MISMATCH = "KK_MISMATCH"
ISMARA_ARREARS = "ISMARA_ARREARS"
#: kept for old stores and workbooks: a device once refunded under the old rules
DEVICE_NOT_ESIM = "DEVICE_NOT_ESIM"

CONFIRM_SUFFIX = ": menunggu konfirmasi refund"
REASONS = {
    VALID: "Data valid, dibayar lunas: masuk batch aktivasi",
    WAITING_PAYMENT: "Menunggu pembayaran upfront dan biaya eSIM",
    CLOSED_UNPAID: "Tidak dibayar lunas dalam 3x24 jam: pesanan ditutup, dana yang masuk dikembalikan",
    INVALID_NIK_FORMAT: "NIK harus 16 digit angka" + CONFIRM_SUFFIX,
    INVALID_NIK_REGION: "Kode wilayah NIK tidak valid" + CONFIRM_SUFFIX,
    INVALID_NIK_BIRTHDATE: "Tanggal lahir dalam NIK tidak valid" + CONFIRM_SUFFIX,
    INVALID_KK_FORMAT: "Nomor KK harus 16 digit angka dengan kode wilayah valid" + CONFIRM_SUFFIX,
    FORM_INCOMPLETE: "Formulir registrasi digital belum lengkap: menunggu pelanggan (sales diingatkan harian)",
    DEVICE_UNKNOWN: "Perangkat tidak dikenali di daftar eSIM: dicek oleh petugas, bukan refund",
    NIK_NOT_IN_DUKCAPIL: "NIK tidak ditemukan di Dukcapil" + CONFIRM_SUFFIX,
    KK_MISMATCH: "Nomor KK tidak sesuai data Dukcapil" + CONFIRM_SUFFIX,
    ISMARA_ARREARS: "Pelanggan memiliki tunggakan di ISMARA" + CONFIRM_SUFFIX,
    DEVICE_NOT_ESIM: "Perangkat tidak mendukung eSIM",
}
#: Step 9's outcomes: a refund, but only once a person confirmed it with the customer.
NEEDS_CONFIRMATION = frozenset({INVALID_NIK_FORMAT, INVALID_NIK_REGION, INVALID_NIK_BIRTHDATE, INVALID_KK_FORMAT,
                                NIK_NOT_IN_DUKCAPIL, KK_MISMATCH, ISMARA_ARREARS})
#: Kept for callers of the old name: the codes whose order gets its money back (after confirmation).
REFUNDED = NEEDS_CONFIRMATION
#: Waiting for something or someone; decided again on every run.
WAITING = frozenset({WAITING_PAYMENT, FORM_INCOMPLETE, DEVICE_UNKNOWN}) | NEEDS_CONFIRMATION

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
class Money:
    """What the aggregator received for an order: in all, and within 3×24 h of submission."""

    received: int
    in_time: int


@dataclass(frozen=True)
class Decision:
    order_id: str
    code: str
    reason: str

    @property
    def refund(self) -> bool:
        """The order's money goes back: at once (closed) or once a person confirms (invalid)."""
        return self.code == CLOSED_UNPAID or self.code in NEEDS_CONFIRMATION

    @property
    def needs_confirmation(self) -> bool:
        return self.code in NEEDS_CONFIRMATION

    @property
    def final(self) -> bool:
        """Decided for good (closed, or accepted into a batch); the others are decided again."""
        return self.code in (VALID, CLOSED_UNPAID)


def close_at(order: Order) -> datetime:
    """The moment an order not paid in full is closed (3×24 h after submission)."""
    return order.submitted_at + UNPAID_CLOSE_AFTER


def money_of(order: Order, payments: Iterable[tuple[int, datetime]]) -> Money:
    """Sum an order's payments (amount, paid at): all of them, and those in before the close."""
    paid = list(payments)
    deadline = close_at(order)
    return Money(sum(a for a, _ in paid), sum(a for a, at in paid if at <= deadline))


def region_ok(number: str) -> bool:
    """Province known, regency and district not 00."""
    return int(number[:2]) in PROVINCES and number[2:4] != "00" and number[4:6] != "00"


def birth_date(nik: str, today: date) -> date | None:
    """The NIK's birth date (DDMMYY, +40 on the day for women), or None if impossible.

    The century is the latest that does not put the birth after `today` (the run's date)."""
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    century = today.year // 100 * 100
    for full in (century + year, century - 100 + year):
        if full > today.year:
            continue
        try:
            born = date(full, month, day)
        except ValueError:
            return None
        if born <= today:
            return born
    return None


def nik_problem(nik: str, kk: str, today: date) -> str | None:
    """The first problem with a NIK/KK pair's shape (DOMAIN §3), or None."""
    if not SIXTEEN.match(nik or ""):
        return INVALID_NIK_FORMAT
    if not region_ok(nik):
        return INVALID_NIK_REGION
    if birth_date(nik, today) is None or nik[12:16] == "0000":
        return INVALID_NIK_BIRTHDATE
    if not SIXTEEN.match(kk or "") or not region_ok(kk):
        return INVALID_KK_FORMAT
    return None


def normalise_device(text: str) -> str:
    """A device name as typed → compared form: lower case, one space, brand words aside.

    "Apple iPhone 15", "iphone15", "Galaxy S24 Ultra", " SAMSUNG  galaxy s24 " all come to the
    config's spelling ("iphone 15", "samsung galaxy s24 ultra").
    """
    name = unicodedata.normalize("NFKC", text or "").lower()
    name = re.sub(r"[^0-9a-z+]+", " ", name)
    name = re.sub(r"(?<=[a-z]{3})(?=\d)|(?<=\d)(?=[a-z]{2,})", " ", name)  # "iphone15" → "iphone 15"
    words = name.split()
    if words[:1] == ["apple"]:
        words = words[1:]
    if words[:1] == ["galaxy"]:
        words = ["samsung"] + words
    if words[:1] == ["pixel"]:
        words = ["google"] + words
    joined = " ".join(words)
    return re.sub(r"\b(galaxy [a-z]) (\d)", r"\1\2", joined)  # "galaxy s 24" → "galaxy s24"


def supports_esim(device: str, patterns: Iterable[str]) -> bool:
    name = normalise_device(device)
    return any(fnmatch.fnmatchcase(name, " ".join(pattern.lower().split())) for pattern in patterns)


def paid(order: Order, received: int) -> bool:
    """Upfront amount and eSIM fee both in (payments may come separately)."""
    return received >= order.upfront_amount + order.esim_fee


def needs_lookup(order: Order, received: int | Money, devices: Iterable[str], today: date) -> bool:
    """Should collect ask Dukcapil and ISMARA about this order? Only when nothing else stops it."""
    in_time = received.in_time if isinstance(received, Money) else received
    return (paid(order, in_time) and order.form_completed and supports_esim(order.device, devices)
            and nik_problem(order.nik, order.kk, today) is None)


def decide(order: Order, received: int | Money, citizen: Citizen | None, arrears: int | None, now: datetime,
           devices: Iterable[str]) -> Decision:
    """One order's decision. `received` is the money in (a Money, or an int taken as in time);
    `citizen`/`arrears` are the lookups (None when not looked up or not found)."""
    def made(code: str) -> Decision:
        return Decision(order.order_id, code, REASONS[code])

    money = received if isinstance(received, Money) else Money(received, received)
    if not paid(order, money.in_time):
        return made(CLOSED_UNPAID if now >= close_at(order) else WAITING_PAYMENT)
    if not order.form_completed:
        return made(FORM_INCOMPLETE)
    if not supports_esim(order.device, devices):
        return made(DEVICE_UNKNOWN)
    problem = nik_problem(order.nik, order.kk, now.date())
    if problem:
        return made(problem)
    if citizen is None:
        return made(NIK_NOT_IN_DUKCAPIL)
    if citizen.kk != order.kk:
        return made(KK_MISMATCH)
    if arrears:
        return made(ISMARA_ARREARS)
    return made(VALID)


@dataclass(frozen=True)
class RefundDue:
    """A refund to request now: its reference (marker), amount and the tranche's key."""

    key: str
    reference: str
    amount: int


def refund_due(order_id: str, received: int, refunded: int, payments: int, busy: bool) -> RefundDue | None:
    """What is still to give back for a closed or confirmed order, as one request.

    `received`/`payments`: the money and the number of payments the aggregator shows for the
    order; `refunded`: the sum of our refund requests it shows; `busy`: a refund of the order
    is still unfinished or in doubt (nothing more until a person or a run settles it). The
    first request is `RF-<order>`; money that came after it is refunded as `RF-<order>-<n>`,
    n the payments received by then — each derived from what it pays back, never a counter.
    """
    if busy or received <= refunded:
        return None
    if refunded == 0:
        return RefundDue(f"refund:{order_id}", f"RF-{order_id}", received)
    return RefundDue(f"refund:{order_id}:{payments}", f"RF-{order_id}-{payments}", received - refunded)


def confirmation_due(waiting_since: datetime | None, now: datetime, wait: timedelta | None) -> bool:
    """With a configured wait (None: a person confirms), has the order waited long enough?"""
    return wait is not None and waiting_since is not None and now - waiting_since >= wait


def daily_slot(now: datetime) -> str:
    """The day a once-a-day reminder belongs to (the run's date, Jakarta when `now` is)."""
    return f"{now:%Y%m%d}"


def hours_left(order: Order, now: datetime) -> float:
    """Hours before an unpaid order is closed."""
    return max(0.0, (close_at(order) - now).total_seconds() / 3600)


def add_working_days(start: date, days: int, holidays: Container[date]) -> date:
    """The date `days` working days after `start` (weekends and holidays do not count)."""
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            left -= 1
    return current


def working_days_between(start: date, end: date, holidays: Container[date]) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is before)."""
    if end < start:
        return -working_days_between(end, start, holidays)
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            count += 1
    return count


def deposit_due(activated_on: date, holidays: Container[date]) -> date:
    return add_working_days(activated_on, DEPOSIT_WORKING_DAYS, holidays)


def deposit_due_at(activated_at: datetime, holidays: Container[date]) -> datetime:
    """The deposit's deadline as a moment: the end of the 7th working day after activation."""
    day = deposit_due(activated_at.date(), holidays)
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=activated_at.tzinfo)


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
