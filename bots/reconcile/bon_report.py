"""The reconciliation workbook's Bon / TOP sheets, built from the store.

`Bon`: every bon still owed, by agent, with its age in days (Agen, Nama, Bon, Nominal,
Dilunasi, Sisa, Tanggal, Umur (hari)); `Permintaan Bon`: the day's requests with their code
(Kode) and reason (Alasan), who decided and when.
"""

from __future__ import annotations

from datetime import date, datetime

from bots.reconcile.bon_book import BonBook
from bots.reconcile.matching import JAKARTA
from bots.workbook import Column, Sheet

STATUS_WORDS = {"WAITING_SUPERVISOR": "Menunggu atasan", "GRANTED": "Diberikan", "REFUSED": "Ditolak"}
LABELS = {"BON_GRANTED": "Bon ditembak otomatis", "BON_OUTSTANDING": "Masih ada gantungan bon",
          "BON_OVER_LIMIT": "Melebihi batas bon", "BON_UNKNOWN_AGENT": "Agen tidak dikenal",
          "BON_GRANT_REFUSED": "Tembak saldo ditolak / belum pasti", "BON_REFUSED": "Ditolak di server",
          "BON_SUPERVISOR": "Diputuskan atasan"}


def bon_sheets(book: BonBook, day: date, now: datetime) -> list[Sheet]:
    bons = [b for b in book.bons() if b.outstanding > 0]
    today = now.astimezone(JAKARTA).date()
    requests = [r for r in book.requests() if r.requested_at.astimezone(JAKARTA).date() == day]
    names = {b.agent_id: b.agent_name for b in book.bons() if b.agent_name}
    return [
        Sheet("Bon", [Column("Agen"), Column("Nama", width=28), Column("Bon"), Column("Nominal", "rupiah"),
                      Column("Dilunasi", "rupiah"), Column("Sisa", "rupiah"), Column("Tanggal", "date"),
                      Column("Umur (hari)", "int")],
              [[b.agent_id, b.agent_name, b.bon_id, b.amount, b.repaid, b.outstanding, b.granted_at,
                (today - b.granted_at.astimezone(JAKARTA).date()).days] for b in bons], table=True,
              title=[f"Bon belum lunas per agen, dibaca dari server {now.astimezone(JAKARTA):%d/%m/%Y %H:%M} WIB"]),
        Sheet("Permintaan Bon", [Column("ID"), Column("Agen"), Column("Nama", width=28), Column("Nominal", "rupiah"),
                                 Column("Diminta", "datetime"), Column("Kode"), Column("Keterangan Kode"),
                                 Column("Alasan", width=50), Column("Status"), Column("Diputuskan oleh"),
                                 Column("Diputuskan", "datetime"), Column("Catatan", width=30),
                                 Column("Dinotifikasi", "datetime")],
              [[r.request_id, r.agent_id, names.get(r.agent_id), r.amount, r.requested_at, r.code,
                LABELS.get(r.code, r.code), r.reason, STATUS_WORDS.get(r.status, r.status), r.decided_by,
                r.decided_at, r.note, r.notified_at] for r in requests], table=True),
    ]


def repayment_labels(book: BonBook) -> dict[str, str]:
    """ticket id → the words the Kredit Otomatis sheet shows for a bon-repayment ticket."""
    return {ticket: f"Pelunasan bon {bon or '(bon terlama agen)'} (saldo tidak ditambah)"
            for ticket, bon in book.bon_tickets().items()}
