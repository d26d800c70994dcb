"""`python -m bots esim confirm-refund ORDER --note TEXT [--by NAME]`: the juklak's step 10.

An order whose Dukcapil data is invalid or whose customer has ISMARA arrears waits for a
person: they confirm with the customer, then run this. The confirmation is journaled
(`confirm-refund:<order>`, with the person's name and note, in the audit trail of every
journal row) and recorded on the order; then the refund of what the aggregator received is
requested through the same exactly-once path as every refund (`refund:<order>`, reference
`RF-<order>` at the start of its reason). It takes esim_activation_queue's lock, so it never
runs beside the bot. A refund the aggregator cannot take now (portal down) is requested by
the next run of the bot: the confirmation is kept.
"""

from __future__ import annotations

import getpass

from bots.errors import BusinessError
from bots.esim.refunds import Refunds
from bots.esim.registry import Registry
from bots.esim.rules import CONFIRM_SUFFIX, NEEDS_CONFIRMATION, REASONS, refund_due
from bots.journal import Effect
from bots.portals.esim import AggregatorPortal
from bots.runner import run_scope
from bots.settings import Settings

BOT = "esim_activation_queue"


def confirm_refund(settings: Settings, order_id: str, *, note: str, by: str | None = None) -> int:
    """Record a person's confirmation of an order's refund, then request it; returns the exit code."""
    if not note.strip():
        raise BusinessError("--note is required: what the customer confirmed (it goes into the audit trail)")
    person = (by or getpass.getuser() or "").strip()
    if not person:
        raise BusinessError("--by is required: who confirmed the refund with the customer")
    order_id = order_id.strip()
    with run_scope(BOT, settings, record_as="esim_confirm_refund", prefix=f"confirm-{order_id}-") as scope:
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
        print(f"{order_id} was already confirmed by {who}; nothing confirmed again")
    else:
        print(f"{order_id}: refund confirmed by {who} ({row.code})")
    if state == "done":
        print(f"refund {'Rp {:,}'.format(due.amount).replace(',', '.')} requested ({due.reference})")
    elif due is None:
        print("refund: nothing (more) to ask back: " + ("already requested" if row.refund_reference
                                                        else "the aggregator shows no money for it"))
    else:
        print(f"refund not requested now ({state}); the next run of esim_activation_queue asks again")
    return 0
