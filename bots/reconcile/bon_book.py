"""The bot's memory of Bon / TOP: requests as decided, bons as last read, bon-repayment tickets.

One short transaction per method. A request has one row, never two: the first decision is
kept (WAITING_SUPERVISOR, GRANTED or REFUSED) and only moves on when the supervisor decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bots.reconcile.tables import bon_requests, bon_tickets, bons_seen
from bots.store import Store, insert_for

WAITING, GRANTED, REFUSED = "WAITING_SUPERVISOR", "GRANTED", "REFUSED"


@dataclass(frozen=True)
class StoredRequest:
    """A bon request as the bot (or the supervisor) decided it."""

    request_id: str
    agent_id: str
    amount: int
    requested_at: datetime
    code: str
    reason: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    notified_at: datetime | None
    open_bons: list  # [[bon_id, outstanding], ...] when it was decided


@dataclass(frozen=True)
class SeenBon:
    bon_id: str
    agent_id: str
    agent_name: str | None
    amount: int
    repaid: int
    granted_at: datetime

    @property
    def outstanding(self) -> int:
        return self.amount - self.repaid


class BonBook:
    def __init__(self, store: Store):
        self.store = store

    # -- requests ----------------------------------------------------------------------------
    def record(self, request_id: str, agent_id: str, amount: int, requested_at: datetime, code: str, reason: str,
               status: str, now: datetime, decided_by: str | None = None, open_bons=(), note: str | None = None
               ) -> bool:
        """The request's first decision; False when it was already recorded (kept as it is)."""
        with self.store.write() as conn:
            done = conn.execute(insert_for(conn, bon_requests).values(
                request_id=request_id, agent_id=agent_id, amount=amount, requested_at=requested_at, code=code,
                reason=reason, status=status, decided_by=decided_by, note=note,
                decided_at=now if status != WAITING else None,
                open_bons=[[b.bon_id, b.outstanding] for b in open_bons]).on_conflict_do_nothing()
                .returning(bon_requests.c.request_id)).first()
        return done is not None

    def settle(self, request_id: str, status: str, by: str, now: datetime, note: str | None = None,
               code: str | None = None, reason: str | None = None) -> None:
        values = {"status": status, "decided_by": by, "decided_at": now, "note": note}
        if code:
            values.update(code=code, reason=reason)
        with self.store.write() as conn:
            conn.execute(bon_requests.update().where(bon_requests.c.request_id == request_id).values(**values))

    def mark_notified(self, request_id: str, now: datetime) -> None:
        with self.store.write() as conn:
            conn.execute(bon_requests.update().where(bon_requests.c.request_id == request_id).values(notified_at=now))

    def requests(self, *, status: str | None = None, request_id: str | None = None) -> list[StoredRequest]:
        query = sa.select(bon_requests).order_by(bon_requests.c.requested_at, bon_requests.c.request_id)
        if status:
            query = query.where(bon_requests.c.status == status)
        if request_id:
            query = query.where(bon_requests.c.request_id == request_id)
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        return [StoredRequest(r.request_id, r.agent_id, r.amount, r.requested_at, r.code, r.reason, r.status,
                              r.decided_by, r.decided_at, r.note, r.notified_at, r.open_bons or []) for r in rows]

    def request(self, request_id: str) -> StoredRequest | None:
        found = self.requests(request_id=request_id)
        return found[0] if found else None

    # -- bons and repayment tickets, as last read ----------------------------------------------
    def save_bons(self, bons, names: dict[str, str], now: datetime) -> None:
        with self.store.write() as conn:
            for bon in bons:
                row = {"agent_id": bon.agent_id, "agent_name": names.get(bon.agent_id), "amount": bon.amount,
                       "repaid": bon.repaid, "granted_at": bon.granted_at, "seen_at": now}
                conn.execute(insert_for(conn, bons_seen).values(bon_id=bon.bon_id, **row)
                             .on_conflict_do_update(index_elements=["bon_id"], set_=row))

    def bons(self) -> list[SeenBon]:
        with self.store.read() as conn:
            rows = conn.execute(sa.select(bons_seen).order_by(bons_seen.c.agent_id, bons_seen.c.granted_at)).all()
        return [SeenBon(r.bon_id, r.agent_id, r.agent_name, r.amount, r.repaid, r.granted_at) for r in rows]

    def save_bon_tickets(self, payments, now: datetime) -> None:
        """The deposit tickets that repaid a bon (purpose BON), from the server's repayment list."""
        with self.store.write() as conn:
            for p in payments:
                row = {"agent_id": "", "bon_id": p.bon_id, "amount": p.amount, "seen_at": now}
                conn.execute(insert_for(conn, bon_tickets).values(ticket_id=p.ticket_id, **row)
                             .on_conflict_do_update(index_elements=["ticket_id"], set_=row))

    def bon_tickets(self) -> dict[str, str | None]:
        """ticket id → the bon it repays (None: the agent's oldest open bon)."""
        with self.store.read() as conn:
            return {r.ticket_id: r.bon_id for r in conn.execute(sa.select(bon_tickets)).all()}
