"""Report: the day's reconciliation workbook, built from the store (never from a run's memory).

`reports/rekonsiliasi/rekonsiliasi-YYYY-MM-DD.xlsx` with the sheets of DESIGN §6:
Ringkasan, Kredit Otomatis, Eskalasi, Mutasi (every statement line of the day exactly once),
Tiket Terbuka. A re-run rewrites the day's workbook with the whole day in it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from bots.reconcile.ledger import Ledger
from bots.reconcile.matching import AUTO_CREDITED, DEBIT_IGNORED
from bots.workbook import Column, Rows, Sheet, write

STATUS_WORDS = {"OPEN": "Terbuka", "RESOLVED": "Selesai (dikredit manual)", "REJECTED": "Ditolak"}


def workbook_path(reports_dir: Path, day: date) -> Path:
    return reports_dir / "rekonsiliasi" / f"rekonsiliasi-{day:%Y-%m-%d}.xlsx"


def write_report(ledger: Ledger, reports_dir: Path, day: date, now: datetime) -> tuple[Path, str | None]:
    lines = ledger.lines_of(day)
    escalations = [e for e in ledger.escalations() if e.day == day or e.status == "OPEN"]
    tickets = ledger.open_tickets()
    return write(workbook_path(reports_dir, day), [
        summary_sheet(day, now, lines, escalations),
        Sheet("Kredit Otomatis", [Column("Tanggal", "date"), Column("Waktu", "datetime"), Column("Bank"),
                                  Column("No. Rekening"), Column("Keterangan", width=40), Column("Nominal", "rupiah"),
                                  Column("Tiket"), Column("Agen"), Column("Kode"), Column("Alasan", width=40)],
              Rows(lambda: ([ln.posted_on or ln.day, ln.posted_at, ln.bank.upper(), ln.account_no, ln.description,
                             ln.amount, ln.ticket_id, ln.agent_id, ln.code, ln.reason]
                            for ln in lines if ln.code == AUTO_CREDITED))),
        Sheet("Eskalasi", [Column("ID", "int"), Column("Tanggal", "date"), Column("Bank"), Column("No. Rekening"),
                           Column("Keterangan", width=40), Column("Nominal", "rupiah"), Column("Kode"),
                           Column("Alasan", width=50), Column("Tiket Kandidat"), Column("Status"),
                           Column("Dinotifikasi", "datetime"), Column("Diselesaikan", "datetime"),
                           Column("Agen"), Column("Catatan", width=30)],
              [[e.id, e.day, e.bank.upper(), e.account_no, e.description, e.amount, e.code, e.reason,
                ", ".join(e.candidates), STATUS_WORDS.get(e.status, e.status), e.notified_at, e.resolved_at,
                e.agent_id, e.note] for e in escalations]),
        Sheet("Mutasi", [Column("Tanggal", "date"), Column("Waktu", "datetime"), Column("Bank"),
                         Column("No. Rekening"), Column("Keterangan", width=40), Column("D/K"),
                         Column("Nominal", "rupiah"), Column("Saldo", "rupiah"), Column("Kode"),
                         Column("Alasan", width=40), Column("Tiket"), Column("Agen"), Column("Sumber")],
              Rows(lambda: ([ln.posted_on or ln.day, ln.posted_at, ln.bank.upper(), ln.account_no, ln.description,
                             ln.direction, ln.amount, ln.balance, ln.code or "BELUM_DIPROSES",
                             ln.reason or "Belum diputuskan", ln.ticket_id, ln.agent_id,
                             "PEND" if ln.pending else ln.source] for ln in lines))),
        Sheet("Tiket Terbuka", [Column("ID Tiket"), Column("Agen"), Column("Nominal", "rupiah"), Column("Bank"),
                                Column("No. Rekening"), Column("Dibuat", "datetime"),
                                Column("Berlaku s/d", "datetime")],
              [[t.ticket_id, t.agent_id, t.amount, t.bank.upper(), t.account_no, t.created_at, t.expires_at]
               for t in tickets]),
    ])


def summary_sheet(day: date, now: datetime, lines, escalations) -> Sheet:
    by_code: dict[str, list[Decimal]] = defaultdict(list)
    by_bank: dict[str, list[Decimal]] = defaultdict(list)
    for line in lines:
        by_code[line.code or "BELUM_DIPROSES"].append(Decimal(line.amount))
        if line.direction == "CR":
            by_bank[line.bank.upper()].append(Decimal(line.amount))
    open_ones = [e for e in escalations if e.status == "OPEN"]
    oldest = min(open_ones, key=lambda e: e.created_at, default=None)
    rows = [["Per kode", None, None]]
    rows += [[code, len(amounts), sum(amounts)] for code, amounts in sorted(by_code.items())]
    rows += [[None, None, None], ["Kredit per bank", None, None]]
    rows += [[bank, len(amounts), sum(amounts)] for bank, amounts in sorted(by_bank.items())]
    rows += [[None, None, None],
             ["Eskalasi terbuka", len(open_ones), sum(e.amount for e in open_ones)],
             ["Eskalasi terlama belum selesai",
              f"ESK-{oldest.id} sejak {oldest.created_at.astimezone(now.tzinfo):%d/%m/%Y %H:%M}" if oldest else "-",
              oldest.amount if oldest else None]]
    counts = Counter(line.code for line in lines if line.direction == "CR")
    return Sheet("Ringkasan", [Column("Keterangan", width=34), Column("Jumlah"), Column("Nominal", "rupiah")], rows,
                 title=[f"Rekonsiliasi mutasi ↔ tiket deposit {day:%d/%m/%Y}",
                        f"Dibuat {now:%d/%m/%Y %H:%M} WIB dari data bot; mutasi kredit: "
                        f"{sum(v for k, v in counts.items() if k != DEBIT_IGNORED)}"])
