"""`python -m bots esim confirm-refund ORDER --note TEXT [--by NAME]`: the juklak's step 10.

An order whose Dukcapil data is invalid or whose customer has ISMARA arrears waits for a
person: they confirm with the customer, then run this. The confirmation is journaled
(`confirm-refund:<order>`, with the person's name and note, in the audit trail of every
journal row) and recorded on the order; then the refund of what the aggregator received is
requested through the same exactly-once path as every refund (`refund:<order>`, reference
`RF-<order>` at the start of its reason). It takes esim_activation_queue's lock, so it never
runs beside the bot. A refund the aggregator cannot take now (portal down) is requested by
the next run of the bot: the confirmation is kept.

`python -m bots esim hold-refund ORDER --note TEXT [--by NAME]` is the other answer of step 10:
the customer wants no refund now (they fix the Dukcapil data or pay the ISMARA arrears). It is
journaled (`refund-hold:<order>`); the order is checked again on every run and is never refunded
after `refund_after` without a person; a later confirm-refund still refunds it.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from bots.errors import BusinessError
from bots.esim.refunds import Refunds, hold_key
from bots.esim.registry import Registry
from bots.esim.rules import CONFIRM_SUFFIX, NEEDS_CONFIRMATION, REASONS, refund_due
from bots.journal import Effect
from bots.portals.esim import AggregatorPortal
from bots.runner import run_scope
from bots.settings import Settings

BOT = "esim_activation_queue"


@dataclass(frozen=True)
class RefundConfirmation:
    """How a confirmation ended, for the person (terminal or console): who confirmed the order's
    refund, whether it was confirmed just now, and the refund's state (`done`: requested now)."""

    order_id: str
    confirmed_by: str
    already: bool
    refund_state: str           # done | nothing | refused | in_doubt | busy | failed
    amount: int | None          # the refund asked now, rupiah
    reference: str | None
    messages: tuple[str, ...]


def confirm_refund(settings: Settings, order_id: str, *, note: str, by: str | None = None) -> int:
    """Record a person's confirmation of an order's refund, then request it; prints, returns the exit code."""
    for line in confirm_refund_order(settings, order_id, note=note, by=by).messages:
        print(line)
    return 0


def confirm_refund_order(settings: Settings, order_id: str, *, note: str, by: str | None = None) -> RefundConfirmation:
    """The one path of every refund confirmation, the CLI's and the console's: record a person's
    confirmation (journaled, events naming ``person:<by>``), then request the refund once.
    BusinessError for no note, an unknown order or one not waiting: nothing recorded."""
    person = _person(note, by, "what the customer confirmed", "who confirmed the refund with the customer")
    order_id = order_id.strip()
    with run_scope(BOT, settings, record_as="esim_confirm_refund", prefix=f"confirm-{order_id}-",
                   actor=f"person:{person}") as scope:
        registry = Registry(scope.store)
        row = registry.order(order_id)
        if row is None:
            raise BusinessError(f"no order {order_id!r} in the store (run esim_activation_queue first)")
        if row.refund_confirmed_at is None and (row.final or row.code not in NEEDS_CONFIRMATION):
            raise BusinessError(f"{order_id} is {row.code or 'not decided yet'}: only an order waiting for a refund "
                                "confirmation (invalid Dukcapil data or ISMARA arrears) can be confirmed; "
                                "an order closed unpaid is refunded without one")

        already = row.refund_confirmed_at is not None

        def check(fresh: bool):
            current = registry.order(order_id)
            if current.refund_confirmed_at is not None:
                return {"how": f"already confirmed by {current.refund_confirmed_by}", "by": current.refund_confirmed_by}
            return None

        def act() -> dict:
            registry.confirm_refund(order_id, person, note.strip(), scope.clock.now())
            return {"how": "confirmed", "by": person}

        settled = scope.journal.once(Effect(f"confirm-refund:{order_id}", "refund_confirmation",
                                            {"order_id": order_id, "by": person, "note": note.strip(),
                                             "code": row.code}, check, act))
        row = registry.order(order_id)
        with scope.browser() as browser:
            from bots.notify import NotifyOnce, notifier_for
            from bots.portals.helpdesk import inbox_reader
            from bots.runner import RunContext

            ctx = RunContext(BOT, scope.run_id, settings, scope.store, scope.clock, browser, scope=scope)
            aggregator = ctx.portal(AggregatorPortal, "aggregator")
            notify = NotifyOnce(scope.journal, notifier_for(settings), inbox_reader(ctx))
            refunds = Refunds(scope.journal, registry, aggregator, notify)  # a refusal is told, once
            paid = [p for p in aggregator.payments() if p.order_id == order_id]
            due = refund_due(order_id, sum(p.amount for p in paid), refunds.refunded(order_id), len(paid),
                             refunds.busy(order_id))
            state = "nothing"
            if due is not None:
                reason = f"{REASONS.get(row.code, row.reason or '').removesuffix(CONFIRM_SUFFIX)}; " \
                         f"dikonfirmasi {row.refund_confirmed_by}"
                state = refunds.request(order_id, due.amount, row.code, reason, key=due.key,
                                        reference=due.reference, confirmed_by=row.refund_confirmed_by)
        already = already or settled.found
        scope.counts = {"confirmed": int(not already), "refund_requested": int(state == "done")}
    who = row.refund_confirmed_by
    if already:
        messages = [f"{order_id} was already confirmed by {who}; nothing confirmed again"]
    else:
        messages = [f"{order_id}: refund confirmed by {who} ({row.code})"]
    if state == "done":
        messages.append(f"refund {'Rp {:,}'.format(due.amount).replace(',', '.')} requested ({due.reference})")
    elif due is None:
        messages.append("refund: nothing (more) to ask back: " + ("already requested" if row.refund_reference
                                                                  else "the aggregator shows no money for it"))
    else:
        messages.append(f"refund not requested now ({state}); the next run of esim_activation_queue asks again")
    return RefundConfirmation(order_id, who, already, state, due.amount if due else None,
                              due.reference if due else None, tuple(messages))


@dataclass(frozen=True)
class RefundHold:
    """A person's "no refund now" on an order waiting for its refund confirmation."""

    order_id: str
    held_by: str
    already: bool
    message: str


def hold_refund(settings: Settings, order_id: str, *, note: str, by: str | None = None) -> int:
    """`esim hold-refund ORDER --note TEXT [--by NAME]`: prints what was recorded, returns the exit code."""
    print(hold_refund_order(settings, order_id, note=note, by=by).message)
    return 0


def hold_refund_order(settings: Settings, order_id: str, *, note: str, by: str | None = None) -> RefundHold:
    """The juklak's step 10 the other way: the person confirmed with the customer that no refund
    is wanted now (the customer fixes the Dukcapil data or pays the ISMARA arrears). Journaled
    once (`refund-hold:<order>`, the events naming ``person:<by>``, with the note). The order is
    still checked again on every run (fixed data moves it into a batch), it is never refunded
    after `refund_after` without a person, and `confirm-refund` still refunds it later.
    BusinessError for no note, an unknown order or one not waiting: nothing recorded."""
    person = _person(note, by, "what the customer said", "who spoke with the customer")
    order_id = order_id.strip()
    with run_scope(BOT, settings, record_as="esim_hold_refund", prefix=f"hold-{order_id}-",
                   actor=f"person:{person}") as scope:
        row = Registry(scope.store).order(order_id)
        if row is None:
            raise BusinessError(f"no order {order_id!r} in the store (run esim_activation_queue first)")
        if row.refund_confirmed_at is not None or row.final or row.code not in NEEDS_CONFIRMATION:
            state = f"confirmed by {row.refund_confirmed_by}" if row.refund_confirmed_at else row.code or "not decided"
            raise BusinessError(f"{order_id} is {state}: only an order waiting for a refund confirmation can be "
                                "put on hold")
        earlier = scope.store.get_action(hold_key(order_id))
        settled = scope.journal.once(Effect(hold_key(order_id), "refund_hold",
                                            {"order_id": order_id, "by": person, "note": note.strip(),
                                             "code": row.code},
                                            lambda fresh: None, lambda: {"how": "held", "by": person}))
        held_by = (settled.action.result or {}).get("by", person)
        scope.counts = {"held": int(earlier is None)}
    if earlier is not None:
        return RefundHold(order_id, held_by, True, f"{order_id}: the refund was already held by {held_by}; "
                                                  "nothing recorded again")
    return RefundHold(order_id, held_by, False, f"{order_id}: no refund now ({row.code}), held by {held_by}; "
                                               "the order is checked again on every run")


def _person(note: str, by: str | None, note_is: str, by_is: str) -> str:
    """The person acting (``by``, else the login name); BusinessError without a note or a name."""
    if not note.strip():
        raise BusinessError(f"--note is required: {note_is} (it goes into the audit trail)")
    person = (by or getpass.getuser() or "").strip()
    if not person:
        raise BusinessError(f"--by is required: {by_is}")
    return person
