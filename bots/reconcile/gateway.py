"""Decide (pure): which VA / retail payment at the payment gateway credits which agent.

The procedure (SOP "Deposit Via Retail/VA Gagal/Belum Masuk"): the balance is put in only
after the payment gateway confirms the payment succeeded. So a payment credits only when the
gateway shows it PAID or SETTLED and its reference names exactly one agent's open deposit
request (permintaan deposit VA/retail) of the same amount, paid before the request expired;
anything else paid goes to finance with a code saying why. PENDING, EXPIRED and FAILED
payments are recorded, never credited, never escalated: a PENDING one the gateway later
shows PAID is decided then. No I/O, no clock.

A reference paid twice: the earliest payment by (paid_at, payment_id) is the request's, every
later one is GATEWAY_PAID_TWICE — and once a payment of a reference is credited, every other
payment of it is, whenever it shows up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping, Protocol

GATEWAY_CREDITED = "GATEWAY_CREDITED"
GATEWAY_UNKNOWN_REFERENCE = "GATEWAY_UNKNOWN_REFERENCE"
GATEWAY_AMOUNT_MISMATCH = "GATEWAY_AMOUNT_MISMATCH"
GATEWAY_REQUEST_EXPIRED = "GATEWAY_REQUEST_EXPIRED"
GATEWAY_PAID_TWICE = "GATEWAY_PAID_TWICE"
#: PENDING, EXPIRED or FAILED at the gateway: recorded, decided again when the gateway says more.
GATEWAY_NOT_PAID = "GATEWAY_NOT_PAID"

GATEWAY_ESCALATED = frozenset({GATEWAY_UNKNOWN_REFERENCE, GATEWAY_AMOUNT_MISMATCH, GATEWAY_REQUEST_EXPIRED,
                               GATEWAY_PAID_TWICE})
#: Codes never decided again (the money was credited, or finance has the case).
GATEWAY_FINAL = GATEWAY_ESCALATED | {GATEWAY_CREDITED}
PAID_STATUSES = ("PAID", "SETTLED")
_NEVER = datetime.max.replace(tzinfo=timezone.utc)  # a paid payment without a paid time sorts last
#: The bank column of a gateway payment's row among the statement lines (its escalation needs one).
GATEWAY_BANK = "gateway"


def payment_marker(payment_id: str) -> str:
    """The marker a credit's note starts with (18 characters), derived from the gateway's own
    payment id: the same payment gives the same marker in any store, on any host."""
    return f"BOT:V-{hashlib.sha256(payment_id.encode()).hexdigest()[:12]}"


def payment_fingerprint(payment_id: str) -> str:
    """The identity of a gateway payment among the statement lines (64 hex characters)."""
    return hashlib.sha256(f"gateway|{payment_id}".encode()).hexdigest()


class PaymentLike(Protocol):
    payment_id: str
    reference: str
    channel: str
    amount: int
    status: str
    paid_at: datetime | None


class RequestLike(Protocol):
    reference: str
    agent_id: str
    amount: int
    created_at: datetime
    expires_at: datetime | None
    status: str


@dataclass(frozen=True)
class Earlier:
    """What the store remembers of a payment decided for good in an earlier run."""

    reference: str
    paid_at: datetime | None
    code: str


@dataclass(frozen=True)
class GatewayDecision:
    """One payment's outcome with its reason (Alasan, Indonesian) and, for a credit, whom and how much."""

    payment_id: str
    code: str
    reason: str
    reference: str = ""
    agent_id: str | None = None
    amount: int = 0

    @property
    def credits(self) -> bool:
        return self.code == GATEWAY_CREDITED

    @property
    def escalates(self) -> bool:
        return self.code in GATEWAY_ESCALATED


def rupiah(amount: int) -> str:
    return "Rp " + f"{int(amount):,}".replace(",", ".")


def _key(reference: str) -> str:
    return reference.strip().upper()


def decide(payments: Iterable[PaymentLike], requests: Iterable[RequestLike],
           earlier: Mapping[str, Earlier]) -> list[GatewayDecision]:
    """The outcome of every payment not decided for good yet (`earlier`: those that are)."""
    payments = sorted(payments, key=lambda p: p.payment_id)
    by_reference: dict[str, list[RequestLike]] = {}
    for request in requests:
        by_reference.setdefault(_key(request.reference), []).append(request)
    first = _first_payments(payments, earlier)
    plan = []
    for payment in payments:
        if payment.payment_id in earlier:
            continue
        if payment.status not in PAID_STATUSES:
            plan.append(GatewayDecision(payment.payment_id, GATEWAY_NOT_PAID,
                                        f"Status di payment gateway {payment.status}: belum dibayar, tidak dikredit",
                                        payment.reference))
            continue
        plan.append(_paid(payment, by_reference.get(_key(payment.reference), []), first.get(_key(payment.reference))))
    return plan


def _first_payments(payments: list[PaymentLike], earlier: Mapping[str, Earlier]) -> dict[str, str]:
    """reference → the payment id that is the request's payment: the one already credited, else
    the earliest paid (by paid_at, then payment id) among those seen now and those decided before."""
    paid: dict[str, list[tuple[datetime, str]]] = {}
    credited: dict[str, str] = {}
    for payment_id, known in earlier.items():
        paid.setdefault(_key(known.reference), []).append((known.paid_at or _NEVER, payment_id))
        if known.code == GATEWAY_CREDITED:
            credited.setdefault(_key(known.reference), payment_id)
    for payment in payments:
        if payment.status in PAID_STATUSES and payment.payment_id not in earlier:
            paid.setdefault(_key(payment.reference), []).append((payment.paid_at or _NEVER, payment.payment_id))
    return {ref: credited.get(ref) or min(found)[1] for ref, found in paid.items()}


def _paid(payment: PaymentLike, requests: list[RequestLike], first: str | None) -> GatewayDecision:
    ref = payment.reference
    shown = f"{payment.payment_id} {rupiah(payment.amount)}"

    def escalate(code: str, reason: str, request: RequestLike | None = None) -> GatewayDecision:
        # the request's agent, where one is named, so finance sees whose money it probably is
        return GatewayDecision(payment.payment_id, code, reason, ref, request.agent_id if request else None)

    if not requests:
        return escalate(GATEWAY_UNKNOWN_REFERENCE, f"Referensi {ref!r} tidak ada di permintaan deposit VA/retail "
                                                   f"({shown} dibayar); identifikasi agen secara manual")
    open_ones = [r for r in requests if r.status == "OPEN"]
    if len(open_ones) > 1:
        agents = ", ".join(sorted({r.agent_id for r in open_ones}))
        return escalate(GATEWAY_UNKNOWN_REFERENCE, f"Referensi {ref!r} menunjuk {len(open_ones)} permintaan terbuka "
                                                   f"(agen {agents}); tidak bisa dipastikan agennya")
    request = open_ones[0] if open_ones else max(requests, key=lambda r: r.created_at)
    if first != payment.payment_id:
        return escalate(GATEWAY_PAID_TWICE, f"Referensi {ref} sudah dibayar oleh transaksi {first}; pembayaran "
                                            f"kedua {shown} tidak dikredit (cek refund atau kredit manual)", request)
    if request.status in ("EXPIRED", "CANCELLED"):
        word = "kedaluwarsa" if request.status == "EXPIRED" else "dibatalkan"
        return escalate(GATEWAY_REQUEST_EXPIRED, f"Permintaan {ref} ({request.agent_id}) sudah {word} di server; "
                                                 f"{shown} dibayar", request)
    if request.expires_at is not None and payment.paid_at is not None and payment.paid_at > request.expires_at:
        return escalate(GATEWAY_REQUEST_EXPIRED, f"Dibayar {payment.paid_at:%d/%m/%Y %H:%M}, setelah permintaan {ref} "
                                                 f"({request.agent_id}) berakhir {request.expires_at:%d/%m/%Y %H:%M}", request)
    if request.status == "PAID":
        return escalate(GATEWAY_PAID_TWICE, f"Permintaan {ref} ({request.agent_id}) sudah berstatus PAID di server; "
                                            f"{shown} tidak dikredit lagi", request)
    if payment.amount != request.amount:
        return escalate(GATEWAY_AMOUNT_MISMATCH, f"Dibayar {rupiah(payment.amount)}, permintaan {ref} "
                                                 f"({request.agent_id}) {rupiah(request.amount)}", request)
    return GatewayDecision(payment.payment_id, GATEWAY_CREDITED,
                           f"Cocok dengan permintaan {ref} ({request.agent_id}, {rupiah(request.amount)}), "
                           f"status gateway {payment.status}", ref, request.agent_id, request.amount)
