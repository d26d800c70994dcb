"""Act on VA / retail payments: credit the paid ones once, escalate the rest, remember the gateway's totals.

The credit is Otomax's manual balance add, which is not idempotent, so it goes through the
journal (`gateway:<payment id>`, kind `gateway_credit`) with a note that **starts** with the
payment's marker (`BOT:V-<12 hex>`, from the gateway's own payment id): the balance log is
searched for it before the add (a crash, a lost store, a second host never add twice) and
after it (the add is verified). Its crash points are those of every manual add (`manual:*`).

An escalated payment is also stored as a statement line (bank `gateway`, account its channel,
its outcome already set, so bank matching never sees it as undecided), because every
escalation belongs to a line: finance lists, resolves and rejects it like any other one
(`python -m bots escalations ...`, the console's Eskalasi screen), and the bank's Executor
announces it, once, with the same marker scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from loguru import logger

from bots.journal import Effect, Journal, Settled
from bots.reconcile.gateway import (GATEWAY_BANK, GATEWAY_CREDITED, GATEWAY_FINAL, GATEWAY_NOT_PAID, Earlier,
                                    GatewayDecision, decide, payment_fingerprint, payment_marker, rupiah)
from bots.reconcile.matching import Outcome
from bots.reconcile.tables import gateway_days, gateway_payments, statement_lines
from bots.store import Store, insert_for

JAKARTA = ZoneInfo("Asia/Jakarta")
#: The transaction server refused the add (an agent it does not know, a daily limit): finance's.
GATEWAY_CREDIT_REFUSED = "GATEWAY_CREDIT_REFUSED"
#: The add's outcome cannot be read back: a person decides (`python -m bots doubts`), then the next run records it.
GATEWAY_IN_DOUBT = "GATEWAY_IN_DOUBT"
FINAL = GATEWAY_FINAL | {GATEWAY_CREDIT_REFUSED}


def credit_key(payment_id: str) -> str:
    return f"gateway:{payment_id}"


def business_day(payment) -> date:
    """The day (WIB) a payment belongs to: paid, else created (the gateway's own rule)."""
    return (payment.paid_at or payment.created_at).astimezone(JAKARTA).date()


class GatewayBook:
    """The store's gateway payments, their outcomes and the gateway's day totals; one transaction a method."""

    def __init__(self, store: Store):
        self.store = store

    def save(self, payments, run_id: str, now: datetime) -> set[date]:
        """Remember the payments as the gateway shows them now; returns the days of new or changed ones."""
        c = gateway_payments.c
        touched = set()
        with self.store.write() as conn:
            known = {r.payment_id: r for r in conn.execute(sa.select(c.payment_id, c.status, c.day))}
            for p in payments:
                values = dict(reference=p.reference, channel=p.channel, amount=p.amount, fee=p.fee, status=p.status,
                              created_at=p.created_at, paid_at=p.paid_at, settled_at=p.settled_at,
                              day=business_day(p), seen_at=now)
                before = known.get(p.payment_id)
                if before is None:
                    conn.execute(insert_for(conn, gateway_payments).values(
                        payment_id=p.payment_id, first_seen_at=now, run_id=run_id, **values)
                        .on_conflict_do_nothing(index_elements=["payment_id"]))
                else:
                    conn.execute(gateway_payments.update().where(c.payment_id == p.payment_id).values(**values))
                if before is None or before.status != p.status:
                    touched |= {values["day"]} | ({before.day} if before is not None else set())
        return touched

    def earlier(self) -> dict[str, Earlier]:
        """The payments decided for good (credited, or finance's)."""
        c = gateway_payments.c
        with self.store.read() as conn:
            rows = conn.execute(sa.select(c.payment_id, c.reference, c.paid_at, c.code).where(c.code.in_(FINAL)))
            return {r.payment_id: Earlier(r.reference, r.paid_at, r.code) for r in rows}

    def record(self, decision: GatewayDecision, now: datetime, fingerprint: str | None = None) -> None:
        """A payment's outcome; one decided for good is never changed."""
        c = gateway_payments.c
        with self.store.write() as conn:
            conn.execute(gateway_payments.update().where(
                c.payment_id == decision.payment_id, sa.or_(c.code.is_(None), c.code.not_in(FINAL))).values(
                code=decision.code, reason=decision.reason, agent_id=decision.agent_id, decided_at=now,
                fingerprint=fingerprint))

    def escalation_line(self, payment, decision: GatewayDecision, run_id: str, now: datetime) -> str:
        """The payment as a statement line with its outcome set (the escalation's row); its fingerprint."""
        fingerprint = payment_fingerprint(payment.payment_id)
        with self.store.write() as conn:
            conn.execute(insert_for(conn, statement_lines).values(
                fingerprint=fingerprint, bank=GATEWAY_BANK, account_no=payment.channel, day=business_day(payment),
                posted_on=business_day(payment), posted_at=payment.paid_at,
                description=f"{payment.payment_id} ref {payment.reference} ({payment.channel})",
                amount=str(Decimal(payment.amount)), direction="CR", balance=None, pending=False,
                source=f"gateway {payment.payment_id}", first_seen_at=now, run_id=run_id, code=decision.code,
                reason=decision.reason, agent_id=None, candidates=[decision.reference] if decision.reference else [],
                decided_at=now, export_format="gateway", dated_by_bank=True)
                .on_conflict_do_nothing(index_elements=["fingerprint"]))
        return fingerprint

    def save_totals(self, totals, now: datetime) -> None:
        values = dict(count=totals.count, amount=totals.amount, fee=totals.fee, net=totals.net, read_at=now)
        with self.store.write() as conn:
            conn.execute(insert_for(conn, gateway_days).values(day=totals.day, **values)
                         .on_conflict_do_update(index_elements=["day"], set_=values))

    def payments_of(self, day: date) -> list:
        c = gateway_payments.c
        with self.store.read() as conn:
            return conn.execute(sa.select(gateway_payments).where(c.day == day)
                                .order_by(c.paid_at.is_(None), c.paid_at, c.created_at, c.payment_id)).all()

    def totals_of(self, day: date):
        with self.store.read() as conn:
            return conn.execute(sa.select(gateway_days).where(gateway_days.c.day == day)).first()


def gateway_plan(gateway, otomax, book: GatewayBook, since: date) -> list[tuple]:
    """(payment, decision) for every payment not decided for good: a dry run's view, nothing written."""
    payments = {p.payment_id: p for p in gateway.payments(since=since)}
    return [(payments[d.payment_id], d) for d in decide(payments.values(), otomax.deposit_requests(), book.earlier())]


@dataclass
class GatewayRun:
    """What this run did with the gateway's payments."""

    decisions: list[GatewayDecision] = field(default_factory=list)
    days: set[date] = field(default_factory=set)


class GatewayCredits:
    """Carries out gateway decisions: credit once through the journal, escalate through the bank's Executor."""

    def __init__(self, book: GatewayBook, journal: Journal, otomax, executor, run_id: str, now):
        self.book, self.journal, self.otomax, self.executor = book, journal, otomax, executor
        self.run_id, self.now = run_id, now

    def run(self, gateway, since: date) -> GatewayRun:
        """Read the gateway and the requests, finish half-done credits, decide, act, keep the day totals."""
        done = GatewayRun()
        payments = {p.payment_id: p for p in gateway.payments(since=since)}
        requests = self.otomax.deposit_requests(since=None) if payments else []
        done.days |= self.book.save(payments.values(), self.run_id, self.now())
        for decision in self._unfinished(payments):  # an earlier run's credit first (its intent stands)
            done.decisions.append(self.carry_out(payments[decision.payment_id], decision))
        handled = {d.payment_id for d in done.decisions}  # (one in doubt stays undecided: once a run)
        plan = [d for d in decide(payments.values(), requests, self.book.earlier()) if d.payment_id not in handled]
        logger.info("{} gateway payments read, {} to decide", len(payments), len(plan))
        for decision in plan:
            done.decisions.append(self.carry_out(payments[decision.payment_id], decision))
        done.days |= {business_day(payments[d.payment_id]) for d in done.decisions if d.code != GATEWAY_NOT_PAID}
        today = self.now().astimezone(JAKARTA).date()
        for day in sorted(done.days | {today}):
            self.book.save_totals(gateway.day_totals(day), self.now())
        return done

    def _unfinished(self, payments: dict) -> list[GatewayDecision]:
        """Credits an earlier run journaled but did not record: carried out as they were decided."""
        earlier = self.book.earlier()
        found = []
        for action in self.journal.store.actions(kind="gateway_credit"):
            p = action.payload
            if action.state in ("failed", "abandoned") or p["payment_id"] in earlier or p["payment_id"] not in payments:
                continue
            found.append(GatewayDecision(p["payment_id"], GATEWAY_CREDITED, p["reason"], p["reference"],
                                         p["agent_id"], p["amount"]))
        return found

    def carry_out(self, payment, decision: GatewayDecision) -> GatewayDecision:
        now = self.now()
        if decision.credits:
            settled = self.credit(decision)
            if settled.state == "busy":
                return decision
            if settled.state == "refused":
                decision = replace(decision, code=GATEWAY_CREDIT_REFUSED,
                                   reason=f"Server menolak tambah saldo {decision.agent_id}: {settled.words}")
            elif settled.state == "in_doubt":
                decision = replace(decision, code=GATEWAY_IN_DOUBT,
                                   reason=f"Tambah saldo belum pasti ({settled.words}); putuskan: python -m bots "
                                          f"doubts list")
            else:
                logger.info("gateway payment {} credited to {} ({}, {})", decision.payment_id, decision.agent_id,
                            rupiah(decision.amount), settled.how)
        if decision.escalates or decision.code == GATEWAY_CREDIT_REFUSED:
            fingerprint = self.book.escalation_line(payment, decision, self.run_id, now)
            self.book.record(decision, now, fingerprint)
            self._escalate(fingerprint, decision)
        else:
            self.book.record(decision, now)
        return decision

    def credit(self, decision: GatewayDecision) -> Settled:
        """The manual balance add for one gateway payment, exactly once, through the journal."""
        marker = payment_marker(decision.payment_id)
        agent, amount = decision.agent_id, decision.amount

        def check(fresh: bool):
            entries = self.otomax.balance_log(note_contains=marker)
            if not entries:
                return None
            return {"how": "found in the balance log", "agent_id": entries[0].agent_id, "amount": entries[0].amount}

        def act() -> dict:
            logger.info("adding {} to {} for gateway payment {} ({})", rupiah(amount), agent, decision.payment_id,
                        marker)
            note = f"{marker} Deposit VA/Retail {decision.payment_id} ref {decision.reference}"
            return {"how": "added", "agent_id": agent, "amount": amount,
                    "balance": self.otomax.add_balance(agent, amount, note)}

        def verify(answer: dict):
            return {"verified": "in the balance log"} if self.otomax.balance_log(note_contains=marker) else None

        payload = {"payment_id": decision.payment_id, "reference": decision.reference, "agent_id": agent,
                   "amount": amount, "reason": decision.reason}
        return self.journal.once(Effect(credit_key(decision.payment_id), "gateway_credit", payload, check, act,
                                        verify, marker=marker, point="manual", act_point="after_add"))

    def _escalate(self, fingerprint: str, decision: GatewayDecision) -> None:
        outcome = Outcome(fingerprint, decision.code, decision.reason,
                          candidates=(decision.reference,) if decision.reference else ())
        escalation_id = self.executor.escalate(outcome)  # the bank lines' path: told once, or found credited by hand
        logger.warning("ESK-{}: gateway payment {} {}: {}", escalation_id, decision.payment_id, decision.code,
                       decision.reason)
