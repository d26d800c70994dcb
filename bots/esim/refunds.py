"""Refund requests to the aggregator, each exactly once (its form is not idempotent).

intent `refund:<order>` → the aggregator's list of requests is searched for our reference
(`RF-<order>`) → request → done. After a crash between sending and recording, the reference
found in the list proves the request went out, so it is never sent twice.
"""

from __future__ import annotations

from loguru import logger

from bots.errors import PortalUnavailable


def reference_for(order_id: str) -> str:
    return f"RF-{order_id}"


class Refunds:
    def __init__(self, store, registry, aggregator, bot: str, run_id: str, now, crash):
        self.store, self.registry, self.aggregator = store, registry, aggregator
        self.bot, self.run_id, self.now, self.crash = bot, run_id, now, crash
        self._requested: set[str] | None = None

    def requested(self, fresh: bool = False) -> set[str]:
        if fresh or self._requested is None:
            self._requested = {r.reference for r in self.aggregator.refund_requests()}
        return self._requested

    def recover(self) -> None:
        for action in self.store.unfinished(self.bot):
            if action.kind == "refund":
                p = action.payload
                logger.info("recovering refund of {} left {}", p["order_id"], action.state)
                self._send(action)

    def request(self, order_id: str, amount: int, code: str, reason: str) -> None:
        payload = {"order_id": order_id, "amount": amount, "reason": f"{code}: {reason}",
                   "reference": reference_for(order_id)}
        action, _ = self.store.record_intent(f"refund:{order_id}", self.bot, "refund", payload, self.run_id,
                                             self.now())
        self.crash("refund:after_intent")
        self._send(action)

    def _send(self, action) -> None:
        p = action.payload
        if action.state != "done":
            if p["reference"] in self.requested(fresh=action.state == "in_flight"):
                self.store.mark_done(action.key, {"how": "found in the aggregator's list"}, self.now())
            elif p["amount"] <= 0:
                self.store.mark_done(action.key, {"how": "nothing was paid: nothing to refund"}, self.now())
            else:
                self.store.mark_in_flight(action.key, self.now())
                self.crash("refund:after_in_flight")
                try:
                    self.aggregator.request_refund(p["order_id"], p["amount"], p["reason"], p["reference"])
                except PortalUnavailable as exc:
                    logger.warning("refund {} has an unknown outcome ({}); reading the list", p["reference"], exc)
                    if p["reference"] not in self.requested(fresh=True):
                        raise
                self.crash("refund:after_send")
                self.store.mark_done(action.key, {"how": "requested"}, self.now())
                self.requested().add(p["reference"])
                logger.info("refund requested for {}: {}", p["order_id"], p["reason"])
        self.registry.refund_requested(p["order_id"], p["reference"], self.now())
