"""Refund requests to the aggregator, each exactly once (its form is not idempotent).

Through the run's journal (bots/journal.py), under the key `refund:<order>`: the aggregator's
list of requests is searched for our reference (`RF-<order>`, derived from the order, never
from the store) before anything is sent, and the reason **starts** with it, so a request
made by a crashed run, another host or before the store was lost is found and never sent
twice. The aggregator refusing the request is an outcome: recorded, a person is told.
"""

from __future__ import annotations

from loguru import logger

from bots.journal import Effect


def reference_for(order_id: str) -> str:
    return f"RF-{order_id}"


class Refunds:
    def __init__(self, journal, registry, aggregator, notify=None):
        self.journal, self.store, self.registry, self.aggregator = journal, journal.store, registry, aggregator
        self.notify = notify
        self._requested: set[str] | None = None

    def requested(self, fresh: bool = False) -> set[str]:
        if fresh or self._requested is None:
            self._requested = {r.reference for r in self.aggregator.refund_requests()}
        return self._requested

    def recover(self) -> None:
        for action in self.store.unfinished(self.journal.bot):
            if action.kind == "refund":
                logger.info("recovering refund of {} left {}", action.payload["order_id"], action.state)
                self._send(action.key, action.payload)

    def request(self, order_id: str, amount: int, code: str, reason: str) -> None:
        reference = reference_for(order_id)
        payload = {"order_id": order_id, "amount": amount, "reason": f"{reference} {code}: {reason}",
                   "reference": reference}
        self._send(f"refund:{order_id}", payload)

    def _send(self, key: str, p: dict) -> None:
        if p["amount"] <= 0:
            logger.info("{}: nothing was paid, nothing to refund", p["order_id"])
            return

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
            self.registry.refund_requested(p["order_id"], p["reference"], self.journal.now())
        elif settled.state == "refused" and self.notify is not None:
            marker = f"[REFUND-DITOLAK {p['reference']}]"
            self.notify(f"notify:refused:{key}", marker, f"{marker} Refund {p['order_id']} ditolak aggregator",
                        f"Permintaan refund {p['order_id']} sebesar Rp {p['amount']:,} ditolak aggregator: "
                        f"{settled.words}. Mohon ditindaklanjuti.".replace(",", "."))
