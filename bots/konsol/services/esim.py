"""eSIM: orders waiting for a refund confirmation (**Konfirmasi refund**, **Batalkan**),
GraPARI's filled-in batch upload, and the batches to download or issue again.

    rows = waiting_refunds(store)                  # RefundWait rows, oldest wait first
    held = held_refunds(store)                     # orders whose refund a person put on hold
    done = confirm_refund(settings, order, note=…, by="sari")   # = esim confirm-refund --by sari
    done = cancel_refund_wait(settings, order, note=…, by="sari")  # = esim hold-refund --by sari
    result = import_batch(settings, data, "batch-aktivasi-….xlsx", by="gita")   # = esim import
    batches = list_batches(settings, store)
    file = batch_file(settings, "20261123-01")     # ServedFile; NotFound for anything else
    text = reissue_batch(settings, "20261123-01", by="gita")   # = esim reissue

**Batalkan** is the other answer of the juklak's step 10 (confirm with the customer, then refund):
the customer wants no refund now — they will fix their Dukcapil data or pay the ISMARA arrears
(DOMAIN §3, juklak 7a: what the procedure does not cover is agreed with the customer). So the
wait for a confirmation ends without money moving: journaled once with the person and note
(`refund-hold:<order>`), the order leaves the waiting list, is still checked on every run
(fixed data puts it in the next batch), and is never refunded after `refund_after` without a
person; **Konfirmasi refund** still refunds it later. Nothing is ever dropped: the money the
aggregator holds for it stays listed (``held_refunds``).

Every action goes through the command's own function, in this process (as `escalations
resolve` does from the console): the same lock, checks and journal, the person named
``person:<login>`` in the journal's events. Errors are BusinessError / InputFileError (the
batch's cell named, e.g. ``column cell K7``), RunLocked while esim_activation_queue runs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from bots.esim import batch as batch_book
from bots.esim.confirm import RefundConfirmation, RefundHold, confirm_refund_order, hold_refund_order
from bots.esim.importer import BatchImport, import_filled_batch
from bots.esim.refunds import hold_key
from bots.esim.reissue import reissue_batch as reissue_command
from bots.esim.rules import NEEDS_CONFIRMATION, REASONS
from bots.esim.tables import activation_batches, esim_orders
from bots.konsol.services import NotFound, ServedFile, local_or_stored, safe_name
from bots.outputs import newest_by_path
from bots.settings import Settings
from bots.store import Store

__all__ = ["BatchRow", "RefundWait", "batch_file", "cancel_refund_wait", "confirm_refund", "held_refunds",
           "import_batch", "list_batches", "reissue_batch", "waiting_refunds"]


@dataclass(frozen=True)
class RefundWait:
    """An order waiting for a person (no NIK, no KK: this list is shown to CS too)."""

    order_id: str
    code: str
    reason: str
    customer_name: str
    sales_agent: str
    phone: str
    package: str
    received: int                 # rupiah the aggregator shows received for it
    waiting_since: datetime | None
    submitted_at: datetime
    held_by: str | None = None    # Batalkan: who put the refund on hold, when, why
    held_at: datetime | None = None
    held_note: str | None = None


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    issued_at: datetime
    order_count: int
    file_name: str
    state: str                    # intent (being issued) | done
    imported_at: datetime | None
    file_present: bool            # False: lost; "Terbitkan ulang" writes it again
    activated: int                # AKTIF reported by GraPARI
    failed: int                   # GAGAL


def _waiting(store: Store) -> list[RefundWait]:
    c = esim_orders.c
    query = sa.select(esim_orders).where(c.code.in_(sorted(NEEDS_CONFIRMATION)), c.final.is_(False),
                                         c.refund_confirmed_at.is_(None)).order_by(c.waiting_since, c.order_id)
    with store.read() as conn:
        rows = conn.execute(query).all()
    found = []
    for r in rows:
        hold = store.get_action(hold_key(r.order_id))
        held = hold is not None and hold.state == "done"
        found.append(RefundWait(r.order_id, r.code, REASONS.get(r.code, r.reason or ""), r.customer_name,
                                r.sales_agent, r.phone, r.package, r.received, r.waiting_since, r.submitted_at,
                                hold.payload.get("by") if held else None, hold.updated_at if held else None,
                                hold.payload.get("note") if held else None))
    return found


def waiting_refunds(store: Store) -> list[RefundWait]:
    """Orders waiting for a refund confirmation (invalid Dukcapil data, ISMARA arrears), oldest first."""
    return [w for w in _waiting(store) if w.held_by is None]


def held_refunds(store: Store) -> list[RefundWait]:
    """Orders whose refund a person put on hold (Batalkan), still checked on every run."""
    return [w for w in _waiting(store) if w.held_by is not None]


def confirm_refund(settings: Settings, order_id: str, *, note: str, by: str) -> RefundConfirmation:
    """**Konfirmasi refund**: as `esim confirm-refund ORDER --note NOTE --by LOGIN` (bots/esim/confirm.py)."""
    return confirm_refund_order(settings, order_id, note=note, by=by)


def cancel_refund_wait(settings: Settings, order_id: str, *, note: str, by: str) -> RefundHold:
    """**Batalkan**: as `esim hold-refund ORDER --note NOTE --by LOGIN` (see the module's docstring)."""
    return hold_refund_order(settings, order_id, note=note, by=by)


def import_batch(settings: Settings, data: bytes, file_name: str, *, by: str,
                 accept_changes: bool = False) -> BatchImport:
    """GraPARI's filled-in batch, as `esim import FILE [--accept-changes]`: checked whole, errors
    naming the cell, nothing recorded from a bad file. The upload is kept as
    `<var>/konsol/esim/<sha256>.xlsx`."""
    folder = settings.var_dir / "konsol" / "esim"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()}.xlsx"
    if not target.exists():
        scratch = folder / f".{target.name}.{os.getpid()}.tmp"
        scratch.write_bytes(data)
        os.replace(scratch, target)
    try:
        shown = safe_name(Path(file_name).name)
    except NotFound:
        shown = "batch.xlsx"
    named = folder / "named" / target.stem / shown
    named.parent.mkdir(parents=True, exist_ok=True)  # errors name the file as GraPARI sent it
    if not named.exists():
        os.link(target, named)
    return import_filled_batch(settings, named, accept_changes=accept_changes, person=by)


def list_batches(settings: Settings, store: Store) -> list[BatchRow]:
    """Every activation batch, newest first, with what GraPARI reported back."""
    c = esim_orders.c
    counts = (sa.select(c.batch_id, sa.func.sum(sa.case((c.activation_status == "AKTIF", 1), else_=0)).label("aktif"),
                        sa.func.sum(sa.case((c.activation_status == "GAGAL", 1), else_=0)).label("gagal"))
              .where(c.batch_id.is_not(None)).group_by(c.batch_id))
    with store.read() as conn:
        batches = conn.execute(sa.select(activation_batches).order_by(activation_batches.c.batch_id.desc())).all()
        reported = {r.batch_id: (r.aktif or 0, r.gagal or 0) for r in conn.execute(counts)}
    folder = settings.reports_dir / "esim"
    kept = newest_by_path(store, ("batch",), under="esim")
    return [BatchRow(b.batch_id, b.issued_at, b.order_count, b.file_name, b.state, b.imported_at,
                     (folder / b.file_name).is_file() or f"esim/{b.file_name}" in kept,
                     *reported.get(b.batch_id, (0, 0))) for b in batches]


def batch_file(settings: Settings, batch_id: str, store: Store | None = None) -> ServedFile:
    """The batch workbook to download (it holds NIK and KK: GraPARI's and supervisors' only):
    this host's copy, else the one its host kept in the store."""
    try:
        return local_or_stored(settings.reports_dir, f"esim/{safe_name(batch_book.file_name(batch_id))}", store)
    except NotFound:
        raise NotFound(f"no batch file for {batch_id!r}") from None


def reissue_batch(settings: Settings, batch_id: str, *, by: str) -> str:
    """"Terbitkan ulang": as `esim reissue BATCH` — the same batch written again, never a second one."""
    return reissue_command(settings, batch_id, person=by)
