"""Act: send each complaint step once (intent → check the supplier's history → send → done).

The supplier's complaint form is not idempotent and suppliers block senders that spam, so a
complaint carries our reference (derived from its key) and, before it is sent — above all
after a crash between "sent" and "recorded" — the supplier's complaint history is searched
for that reference. A supervisor step is a notification (sent once, like finance's); a wrong
number is recorded and nothing is sent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Callable

from loguru import logger

from bots.complaints.book import ComplaintBook
from bots.complaints.ladder import SUPERVISOR, Step
from bots.crashpoints import NEVER, CrashPoints
from bots.errors import PortalUnavailable
from bots.store import Store

BOT = "check_pending_tx"


def reference_for(key: str) -> str:
    """Our reference on the supplier's side: short, stable, unique per (transaction, step)."""
    return "TP" + hashlib.sha256(key.encode()).hexdigest()[:10].upper()


def message_for(step: Step, product: str, destination: str, reference: str) -> str:
    minutes = int(step.age.total_seconds() // 60)
    what = f"transaksi {step.trx_id} {product} ke {destination}"
    if step.step.startswith("pnr_"):
        body = f"Agen melaporkan produk belum masuk untuk {what} (status sukses). Mohon dicek dan dikirim ulang."
        if step.level == "hard":
            body = f"KOMPLAIN KERAS: {what} sukses tetapi produk belum masuk lebih dari 1x24 jam. " \
                   "Mohon kejelasan segera atau gagalkan transaksi."
    elif step.level == "hard":
        body = f"KOMPLAIN KERAS: {what} pending {minutes} menit. Mohon status jelas (sukses dengan SN) " \
               "atau gagalkan transaksi segera."
    else:
        body = f"Mohon dicek {what}, pending {minutes} menit."
    return f"{body} Ref: {reference}"


class ComplaintSender:
    def __init__(self, store: Store, book: ComplaintBook, supplier_portal: Callable[[str], object], notify,
                 run_id: str, now: Callable[[], datetime], crash: CrashPoints = NEVER):
        self.store, self.book, self.supplier_portal, self.notify = store, book, supplier_portal, notify
        self.run_id, self.now, self.crash = run_id, now, crash
        self._history: dict[str, dict[str, object]] = {}

    def history(self, supplier: str, fresh: bool = False) -> dict[str, object]:
        """The supplier's complaints by our reference (read once per run unless asked fresh)."""
        if fresh or supplier not in self._history:
            self._history[supplier] = {c.reference: c for c in self.supplier_portal(supplier).complaints()}
        return self._history[supplier]

    def recover(self) -> int:
        """Complaints an earlier run left unfinished: finish them before anything new."""
        finished = 0
        for action in self.store.unfinished(BOT):
            if action.kind == "complaint":
                logger.info("recovering {} left {} by run {}", action.key, action.state, action.run_id)
                self._complain(action, _step_of(action.payload))
                finished += 1
        return finished

    def carry_out(self, step: Step, product: str, destination: str) -> None:
        key = f"complaint:{step.trx_id}:{step.step}"
        reference = reference_for(key)
        if step.step == SUPERVISOR:
            title = f"[SPV-{step.trx_id}] Transaksi {step.trx_id} masih pending setelah komplain keras"
            body = (f"Transaksi {step.trx_id} {product} ke {destination} di supplier {step.supplier.upper()} "
                    f"pending {int(step.age.total_seconds() // 60)} menit. {step.reason}.")
            if self.notify(f"notify:{key}", f"[SPV-{step.trx_id}]", title, body):
                self.book.record_step(step, f"SPV-{step.trx_id}", self.now())
            return
        if step.level is None:  # wrong number: recorded for CS, nothing is sent
            self.book.record_step(step, "-", self.now())
            logger.info("{}: {}", step.trx_id, step.reason)
            return
        payload = {"trx_id": step.trx_id, "step": step.step, "supplier": step.supplier, "level": step.level,
                   "code": step.code, "reason": step.reason, "age_seconds": int(step.age.total_seconds()),
                   "reference": reference, "message": message_for(step, product, destination, reference)}
        action, _ = self.store.record_intent(key, BOT, "complaint", payload, self.run_id, self.now())
        self.crash("complaint:after_intent")
        self._complain(action, step)

    def _complain(self, action, step: Step) -> None:
        reference, supplier = action.payload["reference"], action.payload["supplier"]
        if action.state != "done":
            if reference in self.history(supplier, fresh=action.state == "in_flight"):
                self.store.mark_done(action.key, {"how": "found in the supplier's history"}, self.now())
            else:
                self.store.mark_in_flight(action.key, self.now())
                self.crash("complaint:after_in_flight")
                portal = self.supplier_portal(supplier)
                try:
                    portal.send_complaint(step.trx_id, step.level, action.payload["message"], reference)
                except PortalUnavailable as exc:
                    logger.warning("complaint {} has an unknown outcome ({}); reading the history", reference, exc)
                    if reference not in self.history(supplier, fresh=True):
                        raise  # not sent, as far as the supplier shows: the next run tries again
                self.crash("complaint:after_send")
                self.store.mark_done(action.key, {"how": "sent"}, self.now())
                logger.info("{} complaint sent to {} for {} ({})", step.level, supplier, step.trx_id, reference)
        self.book.record_step(step, reference, self.now())


def _step_of(payload: dict) -> Step:
    return Step(payload["trx_id"], payload["step"], payload["supplier"], payload["level"], payload["code"],
                payload["reason"], timedelta(seconds=payload["age_seconds"]))
