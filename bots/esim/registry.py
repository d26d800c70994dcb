"""The eSIM order register in the store: orders seen, decisions, batches, activations."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bots.esim.rules import CLOSED_UNPAID, NEEDS_CONFIRMATION, Decision, Order, money_of
from bots.esim.tables import activation_batches, esim_orders
from bots.store import Store, insert_for

JAKARTA = ZoneInfo("Asia/Jakarta")


class Registry:
    def __init__(self, store: Store):
        self.store = store

    def remember(self, orders, received: dict[str, int], channels: dict[str, str], now: datetime,
                 in_time: dict[str, int] | None = None) -> None:
        """Store new orders and the money received so far.

        The money is kept up to date on every order, decided or not (money that comes after
        the close is refunded too); the form and the device only while the order is open."""
        with self.store.write() as conn:
            known = {r.order_id: r.final for r in conn.execute(sa.select(esim_orders.c.order_id, esim_orders.c.final))}
            for o in orders:
                money = dict(received=received.get(o.order_id, 0), payment_channel=channels.get(o.order_id),
                             received_in_time=(in_time or received).get(o.order_id, 0))
                if o.order_id not in known:  # (another host may have just stored it: then its row stands)
                    conn.execute(insert_for(conn, esim_orders).values(
                        order_id=o.order_id, submitted_at=o.submitted_at, sales_agent=o.sales_agent,
                        customer_name=o.customer_name, nik=o.nik, kk=o.kk, phone=o.phone, email=o.email or "",
                        device=o.device or "", package=o.package or "", upfront_amount=o.upfront_amount,
                        esim_fee=o.esim_fee, payment_method=o.payment_method, form_completed=o.form_completed,
                        first_seen_at=now, final=False, **money).on_conflict_do_nothing(index_elements=["order_id"]))
                elif not known[o.order_id]:
                    conn.execute(esim_orders.update().where(esim_orders.c.order_id == o.order_id).values(
                        form_completed=o.form_completed, device=o.device or "", **money))
                else:
                    conn.execute(esim_orders.update().where(esim_orders.c.order_id == o.order_id).values(**money))

    def update_money(self, payments: dict[str, list], channels: dict[str, str]) -> None:
        """Each known order's money as the aggregator shows it: in all, and within 3×24 h."""
        with self.store.write() as conn:
            rows = conn.execute(sa.select(esim_orders.c.order_id, esim_orders.c.submitted_at, esim_orders.c.received,
                                          esim_orders.c.received_in_time).where(
                esim_orders.c.order_id.in_(list(payments)))).all()
            for r in rows:
                money = money_of(as_order_stub(r), payments[r.order_id])
                if (money.received, money.in_time) != (r.received, r.received_in_time):
                    conn.execute(esim_orders.update().where(esim_orders.c.order_id == r.order_id).values(
                        received=money.received, received_in_time=money.in_time,
                        payment_channel=channels.get(r.order_id)))

    def open_orders(self) -> list[Order]:
        """Orders not decided for good yet (waiting for payment, or new)."""
        with self.store.read() as conn:
            rows = conn.execute(sa.select(esim_orders).where(esim_orders.c.final.is_(False))).all()
        return [as_order(r) for r in rows]

    def received(self, order_id: str) -> int:
        with self.store.read() as conn:
            return conn.execute(sa.select(esim_orders.c.received).where(esim_orders.c.order_id == order_id)).scalar()

    def decide(self, decision: Decision, now: datetime, final: bool) -> None:
        """Record an open order's decision; since when it waits for a refund confirmation."""
        confirming = decision.code in NEEDS_CONFIRMATION
        with self.store.write() as conn:
            row = conn.execute(sa.select(esim_orders.c.waiting_since, esim_orders.c.code).where(
                esim_orders.c.order_id == decision.order_id)).first()
            since = None
            if confirming:
                since = row.waiting_since if row is not None and row.waiting_since and row.code in NEEDS_CONFIRMATION \
                    else now
            conn.execute(esim_orders.update().where(esim_orders.c.order_id == decision.order_id,
                                                    esim_orders.c.final.is_(False)).values(
                code=decision.code, reason=decision.reason, decided_at=now, final=final, waiting_since=since))

    def confirm_refund(self, order_id: str, by: str, note: str, now: datetime) -> bool:
        """A person confirmed the refund with the customer (juklak step 10): the order is decided
        for good and its money goes back. False if it was already confirmed."""
        with self.store.write() as conn:
            done = conn.execute(esim_orders.update().where(
                esim_orders.c.order_id == order_id, esim_orders.c.refund_confirmed_at.is_(None)).values(
                refund_confirmed_by=by, refund_confirmed_at=now, refund_note=note, final=True))
            return done.rowcount == 1

    def order(self, order_id: str):
        with self.store.read() as conn:
            return conn.execute(sa.select(esim_orders).where(esim_orders.c.order_id == order_id)).first()

    def to_refund(self) -> list:
        """Orders whose money goes back: closed unpaid, or invalid with the refund confirmed."""
        with self.store.read() as conn:
            return conn.execute(sa.select(esim_orders).where(sa.or_(
                esim_orders.c.code == CLOSED_UNPAID, esim_orders.c.refund_confirmed_at.is_not(None)))).all()

    def refund_requested(self, order_id: str, reference: str, now: datetime, amount: int | None = None) -> None:
        with self.store.write() as conn:
            row = conn.execute(sa.select(esim_orders.c.refunded_amount, esim_orders.c.refund_reference).where(
                esim_orders.c.order_id == order_id).with_for_update()).first()  # a sum: one writer at a time
            values: dict = dict(refund_requested_at=now)
            if row is None or not row.refund_reference:
                values["refund_reference"] = reference
            if amount is not None:
                values["refunded_amount"] = (row.refunded_amount or 0 if row else 0) + amount
            conn.execute(esim_orders.update().where(esim_orders.c.order_id == order_id).values(**values))

    def record_deposit(self, order_id: str, at: datetime, reference: str) -> None:
        with self.store.write() as conn:
            conn.execute(esim_orders.update().where(esim_orders.c.order_id == order_id,
                                                    esim_orders.c.deposited_at.is_(None)).values(
                deposited_at=at, deposit_reference=reference))

    def activated_undeposited(self) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(esim_orders).where(
                esim_orders.c.activation_status == "AKTIF", esim_orders.c.deposited_at.is_(None))).all()

    def failed_activations(self) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(esim_orders).where(esim_orders.c.activation_status == "GAGAL")).all()

    def valid_unbatched(self) -> list[str]:
        with self.store.read() as conn:
            return list(conn.execute(sa.select(esim_orders.c.order_id).where(
                esim_orders.c.code == "VALID", esim_orders.c.batch_id.is_(None)).order_by(
                esim_orders.c.submitted_at, esim_orders.c.order_id)).scalars())

    # -- batches -------------------------------------------------------------------------------------
    def open_batch(self, order_ids: list[str], now: datetime, taken=lambda file_name: False) -> str:
        """Create the next batch of the day and put the orders in it, in one transaction.

        An order already in a batch makes the whole transaction fail: one batch, ever. A
        number whose file already exists (``taken``: a store lost or restored) is skipped.
        """
        day = now.astimezone(JAKARTA)
        with self.store.write() as conn:
            count = conn.execute(sa.select(sa.func.count()).where(
                activation_batches.c.batch_id.like(f"{day:%Y%m%d}-%"))).scalar()
            number = count + 1
            while True:  # the next free number (another host may have just taken this one)
                batch_id = f"{day:%Y%m%d}-{number:02d}"
                if not taken(f"batch-aktivasi-{batch_id}.xlsx") and conn.execute(
                        insert_for(conn, activation_batches).values(
                            batch_id=batch_id, issued_at=now, state="intent", order_count=len(order_ids),
                            file_name=f"batch-aktivasi-{batch_id}.xlsx")
                        .on_conflict_do_nothing(index_elements=["batch_id"])
                        .returning(activation_batches.c.batch_id)).first():
                    break
                number += 1
            moved = conn.execute(esim_orders.update().where(esim_orders.c.order_id.in_(order_ids),
                                                            esim_orders.c.batch_id.is_(None)).values(batch_id=batch_id))
            if moved.rowcount != len(order_ids):
                raise RuntimeError(f"orders already batched among {order_ids}: batch {batch_id} not opened")
        return batch_id

    def adopt_batch(self, batch_id: str, order_ids: list[str], now: datetime, file_name: str) -> int:
        """A batch whose file exists but the store does not know (a lost store): record it as
        issued, with those of its orders the store has and no batch yet. Returns how many."""
        with self.store.write() as conn:
            conn.execute(insert_for(conn, activation_batches).values(
                batch_id=batch_id, issued_at=now, state="done", order_count=len(order_ids), file_name=file_name)
                .on_conflict_do_nothing(index_elements=["batch_id"]))
            moved = conn.execute(esim_orders.update().where(esim_orders.c.order_id.in_(order_ids),
                                                            esim_orders.c.batch_id.is_(None)).values(batch_id=batch_id))
            return moved.rowcount

    def batches(self, state: str | None = None) -> list:
        query = sa.select(activation_batches).order_by(activation_batches.c.batch_id)
        if state:
            query = query.where(activation_batches.c.state == state)
        with self.store.read() as conn:
            return conn.execute(query).all()

    def batch(self, batch_id: str):
        with self.store.read() as conn:
            return conn.execute(sa.select(activation_batches).where(activation_batches.c.batch_id == batch_id)).first()

    def batch_orders(self, batch_id: str) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(esim_orders).where(esim_orders.c.batch_id == batch_id).order_by(
                esim_orders.c.submitted_at, esim_orders.c.order_id)).all()

    def batch_done(self, batch_id: str) -> None:
        with self.store.write() as conn:
            conn.execute(activation_batches.update().where(activation_batches.c.batch_id == batch_id)
                         .values(state="done"))

    def record_activations(self, batch_id: str, results: list[dict], now: datetime) -> int:
        """GraPARI's filled-in results, all in one transaction (a bad file records nothing)."""
        with self.store.write() as conn:
            for r in results:
                conn.execute(esim_orders.update().where(esim_orders.c.order_id == r["order_id"],
                                                        esim_orders.c.batch_id == batch_id).values(
                    activation_status=r["status"], msisdn=r["msisdn"], activated_at=r["activated_at"],
                    activation_note=r["note"], deposit_due=r["deposit_due"], deposit_due_at=r.get("deposit_due_at")))
            conn.execute(activation_batches.update().where(activation_batches.c.batch_id == batch_id)
                         .values(imported_at=now))
        return len(results)

    def all_orders(self) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(esim_orders).order_by(esim_orders.c.submitted_at)).all()


def as_order(row) -> Order:
    return Order(row.order_id, row.submitted_at.astimezone(JAKARTA), row.nik, row.kk, row.device,
                 row.form_completed, row.upfront_amount, row.esim_fee)


def as_order_stub(row) -> Order:
    """Just enough of an order for its payment deadline."""
    return Order(row.order_id, row.submitted_at.astimezone(JAKARTA), "", "", "", False, 0, 0)


def due_label(due: date | None, today: date) -> str:
    if due is None:
        return ""
    days = (due - today).days
    return "lewat " + str(-days) + " hari" if days < 0 else f"{days} hari lagi"
