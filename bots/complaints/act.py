"""Act: send each complaint step once, through the run's journal (bots/journal.py).

The supplier's complaint form is not idempotent and suppliers block senders that spam, so a
complaint carries our reference (derived from the transaction and the step, never from the
store) in its reference field and at the start of its message, and before it is sent — a
crash, a second host, a lost store — the supplier's complaint history is searched for it. A
supplier refusing the complaint is an outcome: CS is told once, the ladder goes on. A supervisor step is a notification (sent once, like finance's); a wrong
number is recorded and nothing is sent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Callable

from loguru import logger

from bots.complaints.book import ComplaintBook
from bots.complaints.ladder import SERVER_FIX, SUPERVISOR, Step
from bots.journal import Effect, Journal

BOT = "check_pending_tx"


def reference_for(key: str) -> str:
    """Our reference on the supplier's side: short, stable, unique per (transaction, step)."""
    return "TP" + hashlib.sha256(key.encode()).hexdigest()[:10].upper()


def message_for(step: Step, product: str, destination: str, reference: str) -> str:
    """The complaint's text, worded for the status the server shows; our reference first."""
    minutes = int(step.age.total_seconds() // 60)
    what = f"transaksi {step.trx_id} {product} ke {destination}"
    age = f"{minutes // 60} jam {minutes % 60} menit" if minutes >= 60 else f"{minutes} menit"
    if step.step.startswith("pnr_"):
        body = f"Agen melaporkan produk belum masuk untuk {what} (status sukses di server, umur {age}). " \
               "Mohon dicek dan dikirim ulang dengan SN."
        if step.level == "hard":
            body = f"KOMPLAIN KERAS: {what} sukses tetapi produk belum masuk lebih dari 1x24 jam. " \
                   "Mohon kejelasan segera (SN valid) atau gagalkan transaksi."
    elif step.level == "hard":
        body = f"KOMPLAIN KERAS: {what} pending {age}. Mohon status jelas (sukses dengan SN) " \
               "atau gagalkan transaksi segera."
    else:
        body = f"Mohon dicek {what}, pending {age}."
    return f"[{reference}] {body}"  # the reference first: a message cut short still carries it


class ComplaintSender:
    def __init__(self, journal: Journal, book: ComplaintBook, supplier_portal: Callable[[str], object], notify,
                 now: Callable[[], datetime]):
        self.journal, self.store, self.book, self.supplier_portal = journal, journal.store, book, supplier_portal
        self.notify, self.now = notify, now
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
                self._complain(action.key, action.payload, _step_of(action.payload))
                finished += 1
        return finished

    def carry_out(self, step: Step, product: str, destination: str) -> None:
        key = f"complaint:{step.trx_id}:{step.step}"
        reference = reference_for(key)
        if step.step == SUPERVISOR or step.step.startswith("supervisor_reminder_"):
            slot = step.step.rsplit("_", 1)[1] if step.step != SUPERVISOR else ""
            marker = f"[SPV-{step.trx_id}" + (f"-H{slot}]" if slot else "]")
            title = f"{marker} Transaksi {step.trx_id} masih " + \
                ("pending setelah komplain keras" if not slot else f"terbuka (pengingat hari ke-{slot})")
            body = (f"Transaksi {step.trx_id} {product} ke {destination} di supplier {step.supplier.upper()}, "
                    f"umur {int(step.age.total_seconds() // 60)} menit. {step.reason}.")
            if self.notify(f"notify:{key}", marker, title, body):
                self.book.record_step(step, marker.strip("[]"), self.now())
            return
        if step.step == SERVER_FIX:
            marker = f"[FIX-{step.trx_id}]"
            title = f"{marker} Transaksi {step.trx_id}: supplier sudah final, server masih PENDING"
            body = (f"Transaksi {step.trx_id} {product} ke {destination} (supplier {step.supplier.upper()}). "
                    f"{step.reason}. Mohon CS memperbaiki status di server dan saldo agen.")
            if self.notify(f"notify:{key}", marker, title, body):
                self.book.record_step(step, marker.strip("[]"), self.now())
            return
        if step.level is None:  # wrong number: recorded for CS, nothing is sent
            self.book.record_step(step, "-", self.now())
            logger.info("{}: {}", step.trx_id, step.reason)
            return
        payload = {"trx_id": step.trx_id, "step": step.step, "supplier": step.supplier, "level": step.level,
                   "code": step.code, "reason": step.reason, "age_seconds": int(step.age.total_seconds()),
                   "reference": reference, "status": step.status,
                   "message": message_for(step, product, destination, reference)}
        self._complain(key, payload, step)

    def _complain(self, key: str, payload: dict, step: Step) -> None:
        reference, supplier = payload["reference"], payload["supplier"]

        def check(fresh: bool):
            return {"how": "found in the supplier's history"} if reference in self.history(supplier, fresh) else None

        def act() -> dict:
            self.supplier_portal(supplier).send_complaint(step.trx_id, step.level, payload["message"], reference)
            logger.info("{} complaint sent to {} for {} ({})", step.level, supplier, step.trx_id, reference)
            return {"how": "sent"}

        settled = self.journal.once(Effect(key, "complaint", payload, check, act, marker=reference,
                                           point="complaint", act_point="after_send"))
        if settled.state == "busy":
            return
        if settled.state == "refused":
            self._tell_refused(key, step, reference, settled.words)
        if settled.state != "in_doubt":
            self.book.record_step(step, reference, self.now())

    def _tell_refused(self, key: str, step: Step, reference: str, words: str) -> None:
        """A supplier refused our complaint: CS takes it up (once), the ladder does not spin."""
        marker = f"[KOMPLAIN-DITOLAK {reference}]"
        self.notify(f"notify:refused:{key}", marker,
                    f"{marker} Supplier {step.supplier.upper()} menolak komplain {step.trx_id}",
                    f"Komplain {step.level} untuk transaksi {step.trx_id} ditolak oleh supplier "
                    f"{step.supplier.upper()}: {words}. Mohon ditindaklanjuti oleh CS.")


def _step_of(payload: dict) -> Step:
    return Step(payload["trx_id"], payload["step"], payload["supplier"], payload["level"], payload["code"],
                payload["reason"], timedelta(seconds=payload["age_seconds"]), payload.get("status", "PENDING"))
