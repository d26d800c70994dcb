"""The complaint book: transactions followed, agents' reports and every step sent, in the store.

Every method is one short transaction. A step is keyed (transaction, step) by a unique
constraint, so the same step can never be recorded twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bots.complaints.ladder import Step
from bots.complaints.tables import agent_reports, complaint_steps, followed_transactions
from bots.store import Store, insert_for

JAKARTA = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class StepRow:
    trx_id: str
    step: str
    supplier: str
    level: str | None
    reference: str
    code: str
    reason: str
    age_seconds: int
    sent_at: datetime
    reply: str | None
    product: str
    destination: str
    created_at: datetime
    resolution: str | None
    resolved_at: datetime | None
    agent_id: str = ""
    price: int | None = None
    status: str = ""
    sn: str | None = None
    resolution_sn: str | None = None


class ComplaintBook:
    def __init__(self, store: Store):
        self.store = store

    def follow(self, transactions, now: datetime) -> list[str]:
        """Remember these transactions; returns the ids that became final (resolved) just now.

        One transaction: new ones inserted together, and only those whose status or SN moved
        are updated (a 30-second cycle over 5,000 pending transactions changes almost none).
        """
        latest = {t.trx_id: t for t in transactions}  # a transaction can come twice (pending and tracked)
        resolved, new, changed = [], [], []
        with self.store.write() as conn:
            known = {r.trx_id: r for r in conn.execute(sa.select(followed_transactions).where(
                followed_transactions.c.trx_id.in_(list(latest))))}
            for t in latest.values():
                row = known.get(t.trx_id)
                if row is None:
                    new.append(dict(trx_id=t.trx_id, agent_id=t.agent_id, product=t.product,
                                    destination=t.destination, price=t.price, supplier=t.supplier.lower(),
                                    created_at=t.created_at, first_seen_at=now, status=t.status, sn=t.sn))
                    continue
                values = dict(status=t.status, sn=t.sn)
                if row.resolution is None and row.status == "PENDING" and t.status in ("SUKSES", "GAGAL"):
                    values.update(resolution=t.status, resolution_sn=t.sn, resolved_at=now)
                    resolved.append(t.trx_id)
                if row.status != t.status or row.sn != t.sn or "resolution" in values:
                    changed.append((t.trx_id, values))
            if new:  # (one another host has just stored stands as it is)
                conn.execute(insert_for(conn, followed_transactions).on_conflict_do_nothing(
                    index_elements=["trx_id"]), new)
            for trx_id, values in changed:
                conn.execute(followed_transactions.update().where(followed_transactions.c.trx_id == trx_id)
                             .values(**values))
        return resolved

    def resolve(self, trx_id: str, status: str, sn: str | None, now: datetime) -> bool:
        """The supplier gave a final answer for a transaction still pending on the server."""
        with self.store.write() as conn:
            done = conn.execute(followed_transactions.update().where(
                followed_transactions.c.trx_id == trx_id, followed_transactions.c.resolution.is_(None)).values(
                resolution=status, resolution_sn=sn, resolved_at=now))
            return done.rowcount == 1

    def open_cases(self) -> dict[str, tuple[str | None, datetime | None, str]]:
        """trx → (resolution, resolved_at, status on the server) of every transaction followed."""
        with self.store.read() as conn:
            return {r.trx_id: (r.resolution, r.resolved_at, r.status) for r in conn.execute(sa.select(
                followed_transactions.c.trx_id, followed_transactions.c.resolution,
                followed_transactions.c.resolved_at, followed_transactions.c.status))}

    def reopen(self, trx_id: str) -> None:
        """An agent reports the product missing after the case was closed: the chase starts again."""
        with self.store.write() as conn:
            conn.execute(followed_transactions.update().where(followed_transactions.c.trx_id == trx_id)
                         .values(resolution=None, resolution_sn=None, resolved_at=None))

    def references(self, prefix: str = "pnr_") -> dict[str, str]:
        """Our reference → transaction, for the steps whose name starts with ``prefix``."""
        with self.store.read() as conn:
            return {r.reference: r.trx_id for r in conn.execute(sa.select(
                complaint_steps.c.reference, complaint_steps.c.trx_id).where(
                complaint_steps.c.step.like(f"{prefix}%")))}

    def save_reports(self, reports) -> None:
        with self.store.write() as conn:
            known = set(conn.execute(sa.select(agent_reports.c.complaint_id)).scalars())
            for r in reports:
                if r.complaint_id not in known:  # (one another host has just stored stands as it is)
                    conn.execute(insert_for(conn, agent_reports).values(
                        complaint_id=r.complaint_id, trx_id=r.trx_id, kind=r.kind, reported_at=r.reported_at,
                        note=r.note).on_conflict_do_nothing(index_elements=["complaint_id"]))

    def done_steps(self) -> dict[str, dict[str, datetime]]:
        done: dict[str, dict[str, datetime]] = {}
        with self.store.read() as conn:
            for trx_id, step, sent_at in conn.execute(sa.select(
                    complaint_steps.c.trx_id, complaint_steps.c.step, complaint_steps.c.sent_at)):
                done.setdefault(trx_id, {})[step] = sent_at
        return done

    def record_step(self, step: Step, reference: str, sent_at: datetime) -> bool:
        """Write a step once; False if (transaction, step) was already recorded."""
        with self.store.write() as conn:
            return conn.execute(insert_for(conn, complaint_steps).values(
                trx_id=step.trx_id, step=step.step, supplier=step.supplier, level=step.level, reference=reference,
                code=step.code, reason=step.reason, age_seconds=int(step.age.total_seconds()), sent_at=sent_at)
                .on_conflict_do_nothing(index_elements=["trx_id", "step"])
                .returning(complaint_steps.c.id)).first() is not None

    def save_replies(self, replies: dict[str, str]) -> None:
        """reference → the supplier's latest reply, from its complaint history."""
        with self.store.write() as conn:
            for reference, reply in replies.items():
                conn.execute(complaint_steps.update().where(complaint_steps.c.reference == reference)
                             .values(reply=reply))

    def steps(self, day: date | None = None) -> list[StepRow]:
        ft = followed_transactions.c
        query = sa.select(complaint_steps, ft.product, ft.destination, ft.created_at, ft.resolution, ft.resolved_at,
                          ft.agent_id, ft.price, ft.status, ft.sn.label("trx_sn"), ft.resolution_sn).join(
            followed_transactions, followed_transactions.c.trx_id == complaint_steps.c.trx_id, isouter=True
        ).order_by(complaint_steps.c.sent_at, complaint_steps.c.id)
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        found = [StepRow(r.trx_id, r.step, r.supplier, r.level, r.reference, r.code, r.reason, r.age_seconds,
                         r.sent_at, r.reply, r.product or "", r.destination or "", r.created_at, r.resolution,
                         r.resolved_at, r.agent_id or "", r.price, r.status or "", r.trx_sn, r.resolution_sn)
                 for r in rows]
        return [s for s in found if day is None or s.sent_at.astimezone(JAKARTA).date() == day]

    def transactions(self) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(followed_transactions)).all()

    def reports_of(self, kinds=("PRODUCT_NOT_RECEIVED", "WRONG_NUMBER")) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(agent_reports).where(agent_reports.c.kind.in_(kinds))).all()
