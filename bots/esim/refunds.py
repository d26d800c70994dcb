"""Refund requests to the aggregator, each exactly once (its form is not idempotent).

Through the run's journal (bots/journal.py), under the key `refund:<order>`: the aggregator's
list of requests is searched for our reference (`RF-<order>`, derived from the order, never
from the store) before anything is sent, and the reason **starts** with it, so a request
made by a crashed run, another host or before the store was lost is found and never sent
twice. The aggregator refusing the request is an outcome: recorded, a person is told.
"""

from __future__ import annotations

import re

from loguru import logger

from bots.journal import Effect


def reference_for(order_id: str) -> str:
    return f"RF-{order_id}"


def hold_key(order_id: str) -> str:
    """The journal key of a person's "no refund now" on a waiting order (`esim hold-refund`)."""
    return f"refund-hold:{order_id}"


def refund_held(store, order_id: str) -> bool:
    """A person put the order's refund on hold (the customer fixes the data or pays the arrears):
    no refund after `refund_after` without a person; a later confirmation still refunds."""
    action = store.get_action(hold_key(order_id))
    return action is not None and action.state == "done"


class Refunds:
    def __init__(self, journal, registry, aggregator, notify=None):
        self.journal, self.store, self.registry, self.aggregator = journal, journal.store, registry, aggregator
        self.notify = notify
        self._requested: set[str] | None = None
        self._list: list | None = None

    def requested(self, fresh: bool = False) -> set[str]:
        if fresh or self._requested is None:
            self.list(fresh=True)
        assert self._requested is not None
        return self._requested

    def recover(self) -> None:
        for action in self.store.unfinished(self.journal.bot):
            if action.kind == "refund":
                logger.info("recovering refund of {} left {}", action.payload["order_id"], action.state)
                self._send(action.key, action.payload)

    def request(self, order_id: str, amount: int, code: str, reason: str, *, key: str | None = None,
                reference: str | None = None, confirmed_by: str | None = None) -> str:
        """Ask the aggregator to refund `amount` for the order, once per key; returns the state."""
        reference = reference or reference_for(order_id)
        payload = {"order_id": order_id, "amount": amount, "reason": f"{reference} {code}: {reason}",
                   "reference": reference}
        if confirmed_by:
            payload["confirmed_by"] = confirmed_by
        return self._send(key or f"refund:{order_id}", payload)

    def refunded(self, order_id: str, fresh: bool = False) -> int:
        """How much the aggregator shows we asked back for the order (every tranche)."""
        base = reference_for(order_id)
        return sum(r.amount for r in self.list(fresh) if r.order_id == order_id
                   and (r.reference == base or re.fullmatch(re.escape(base) + r"-\d+", r.reference)))

    def busy(self, order_id: str) -> bool:
        """A refund of this order still unfinished, or in doubt: nothing more is asked meanwhile."""
        prefix = f"refund:{order_id}"
        return any(a.key == prefix or a.key.startswith(prefix + ":")
                   for a in self.store.unfinished(self.journal.bot) + self.store.actions(kind="refund", state="in_doubt"))

    def list(self, fresh: bool = False) -> list:
        if fresh or self._list is None:
            self._list = self.aggregator.refund_requests()
            self._requested = {r.reference for r in self._list}
        return self._list

    def _send(self, key: str, p: dict) -> str:
        if p["amount"] <= 0:
            logger.info("{}: nothing was paid, nothing to refund", p["order_id"])
            return "nothing"

        def check(fresh: bool):
            return {"how": "found in the aggregator's list"} if p["reference"] in self.requested(fresh) else None

        def act() -> dict:
            self.aggregator.request_refund(p["order_id"], p["amount"], p["reason"], p["reference"])
            self.requested().add(p["reference"])
            logger.info("refund requested for {}: {}", p["order_id"], p["reason"])
            return {"how": "requested"}

        settled = self.journal.once(Effect(key, "refund", p, check, act, marker=p["reference"], point="refund",
                                           act_point="after_send"))
        if settled.done:
            if self._list is not None and not settled.found:
                self._list = None  # read again: the new request is there now
            self.registry.refund_requested(p["order_id"], p["reference"], self.journal.now(), p["amount"])
        elif settled.state == "refused" and self.notify is not None:
            marker = f"[REFUND-DITOLAK {p['reference']}]"
            self.notify(f"notify:refused:{key}", marker, f"{marker} Refund {p['order_id']} ditolak aggregator",
                        f"Permintaan refund {p['order_id']} sebesar Rp {p['amount']:,} ditolak aggregator: "
                        f"{settled.words}. Mohon ditindaklanjuti.".replace(",", "."))
        return settled.state
