"""The Bon / TOP rule ("Permintaan Saldo Bon / TOP"), as a pure policy.

"Jika Bon nya sudah lunas dan tidak ada gantungan Bon lain, tembak saldo sesuai request; jika
masih ada gantungan konfirmasi ke atasan." A request is granted when its agent has no bon
with anything outstanding (none on the books, none granted earlier in this same plan) and it
asks for no more than the agent's limit; everything else goes to the supervisor (atasan) with
a code saying why. No I/O, no clock: the records and the settings are the arguments.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bots.reconcile.matching import rupiah

BON_GRANTED = "BON_GRANTED"
BON_OUTSTANDING = "BON_OUTSTANDING"
BON_OVER_LIMIT = "BON_OVER_LIMIT"
BON_UNKNOWN_AGENT = "BON_UNKNOWN_AGENT"
CODES = (BON_GRANTED, BON_OUTSTANDING, BON_OVER_LIMIT, BON_UNKNOWN_AGENT)


class RequestLike(Protocol):
    request_id: str
    agent_id: str
    amount: int
    requested_at: object
    status: str


class BonLike(Protocol):
    bon_id: str
    agent_id: str
    amount: int
    repaid: int


@dataclass(frozen=True)
class OpenBon:
    """A bon with something still to pay (gantungan bon)."""

    bon_id: str
    outstanding: int


@dataclass(frozen=True)
class BonDecision:
    """What to do with one bon request, and why (Kode / Alasan)."""

    request_id: str
    agent_id: str
    amount: int
    code: str
    reason: str
    open_bons: tuple[OpenBon, ...] = ()

    @property
    def grants(self) -> bool:
        return self.code == BON_GRANTED


def open_amounts(open_bons: Iterable[OpenBon]) -> str:
    """'BON-1 Rp 200.000, BON-2 Rp 50.000' — how the supervisor is told what is still owed."""
    return ", ".join(f"{b.bon_id} {rupiah(b.outstanding)}" for b in open_bons)


def open_bons_by_agent(bons: Iterable[BonLike]) -> dict[str, list[OpenBon]]:
    """agent → the bons still owed (outstanding = amount − repaid > 0), in the order given."""
    found: dict[str, list[OpenBon]] = {}
    for bon in bons:
        outstanding = bon.amount - (bon.repaid or 0)
        if outstanding > 0:
            found.setdefault(bon.agent_id, []).append(OpenBon(bon.bon_id, outstanding))
    return found


def decide_bon(requests: Iterable[RequestLike], bons: Iterable[BonLike], limits: Mapping[str, int],
               already_decided: Collection[str]) -> list[BonDecision]:
    """The plan for every PENDING request not decided before.

    Args:
        requests: the server's bon requests (any status; only PENDING ones are decided).
        bons: every bon on the books (repaid ones too).
        limits: agent → the most a bon of theirs may be, for every agent the server knows
            (an agent missing here is unknown: BON_UNKNOWN_AGENT).
        already_decided: request ids decided before (waiting for the supervisor, granted,
            refused, or being granted): never decided again.
    Returns:
        one decision per request, earliest request first (requested_at, then request_id): of
        two requests of one agent, the first granted makes the second see an open bon.
    """
    owed = open_bons_by_agent(bons)
    pending = sorted((r for r in requests if (r.status or "PENDING") == "PENDING"
                      and r.request_id not in already_decided),
                     key=lambda r: (r.requested_at, r.request_id))
    plan = []
    for request in pending:
        agent, amount = request.agent_id, request.amount
        still_owed = tuple(owed.get(agent, ()))
        if agent not in limits:
            code, reason = BON_UNKNOWN_AGENT, f"Agen {agent} tidak terdaftar di server; konfirmasi ke atasan"
        elif still_owed:
            code, reason = BON_OUTSTANDING, (f"Masih ada gantungan bon: {open_amounts(still_owed)}; "
                                             "konfirmasi ke atasan")
        elif amount > limits[agent]:
            code, reason = BON_OVER_LIMIT, (f"Nominal {rupiah(amount)} melebihi batas bon agen "
                                            f"{rupiah(limits[agent])}; konfirmasi ke atasan")
        else:
            code, reason = BON_GRANTED, f"Bon lunas, tidak ada gantungan: tembak saldo {rupiah(amount)}"
            owed[agent] = [OpenBon(request.request_id, amount)]
        plan.append(BonDecision(request.request_id, agent, amount, code, reason, still_owed))
    return plan


def limits_for(agents: Iterable[str], default: int, per_agent: Mapping[str, int]) -> dict[str, int]:
    """agent → limit: the agent's own (`bon_limits`) or the default (`bon_limit`)."""
    return {agent: per_agent.get(agent, default) for agent in agents}
