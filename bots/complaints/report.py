"""Report: the day's complaint workbook with a supplier scorecard, built from the store.

`reports/komplain/komplain-YYYY-MM-DD.xlsx`: `Ringkasan`, `Komplain` (one row per step sent
that day), `Skor Supplier` (per supplier; its step columns add up to the `Komplain` rows).
Time to resolution is measured from a complaint to the moment the bot first saw the
transaction final. A threshold breach is a transaction pending longer than the hard-complaint
threshold (still pending, or resolved after it).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from bots.complaints.book import ComplaintBook, StepRow
from bots.complaints.ladder import Thresholds
from bots.workbook import Column, Sheet, write

STEP_COLUMNS = [("Komplain", lambda s: s.step == "complaint"), ("Komplain Keras", lambda s: s.step == "hard_complaint"),
                ("Eskalasi Atasan", lambda s: s.step == "supervisor"),
                ("Produk Belum Masuk", lambda s: s.step.startswith("pnr_") and s.level == "normal"),
                ("Produk Belum Masuk (Keras)", lambda s: s.step == "pnr_hard_complaint"),
                ("Salah Nomor", lambda s: s.step == "wrong_number")]


def workbook_path(reports_dir: Path, day: date) -> Path:
    return reports_dir / "komplain" / f"komplain-{day:%Y-%m-%d}.xlsx"


def minutes(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 60, 1)


def _resolution_after(step: StepRow) -> timedelta | None:
    if step.resolved_at is None or step.resolved_at < step.sent_at:
        return None
    return step.resolved_at - step.sent_at


def write_report(book: ComplaintBook, reports_dir: Path, day: date, now: datetime,
                 th: Thresholds) -> tuple[Path, str | None]:
    steps = book.steps(day)
    transactions = book.transactions()
    return write(workbook_path(reports_dir, day), [
        summary(day, now, steps, transactions),
        Sheet("Komplain", [Column("Transaksi"), Column("Supplier"), Column("Produk"), Column("Tujuan"),
                           Column("Umur Saat Komplain (menit)", "number"), Column("Langkah"),
                           Column("Dikirim", "datetime"), Column("Referensi"), Column("Balasan Supplier", width=40),
                           Column("Resolusi"), Column("Waktu ke Resolusi (menit)", "number"), Column("Kode"),
                           Column("Alasan", width=50)],
              [[s.trx_id, s.supplier.upper(), s.product, s.destination, round(s.age_seconds / 60, 1), s.step,
                s.sent_at, s.reference, s.reply, s.resolution or "", minutes(_resolution_after(s)), s.code, s.reason]
               for s in steps]),
        scorecard(steps, transactions, now, th),
    ])


def summary(day: date, now: datetime, steps: list[StepRow], transactions) -> Sheet:
    by_code: dict[str, int] = defaultdict(int)
    for s in steps:
        by_code[s.code] += 1
    pending = [t for t in transactions if t.status == "PENDING" and t.resolution is None]
    resolved_today = [t for t in transactions if t.resolved_at and t.resolved_at.astimezone(now.tzinfo).date() == day]
    rows = [[code, count] for code, count in sorted(by_code.items())]
    rows += [[None, None], ["Transaksi pending sekarang", len(pending)],
             ["Transaksi selesai hari ini", len(resolved_today)], ["Langkah komplain hari ini", len(steps)]]
    return Sheet("Ringkasan", [Column("Keterangan", width=36), Column("Jumlah", "int")], rows,
                 title=[f"Komplain transaksi ke supplier {day:%d/%m/%Y}", f"Dibuat {now:%d/%m/%Y %H:%M} WIB"])


def scorecard(steps: list[StepRow], transactions, now: datetime, th: Thresholds) -> Sheet:
    by_supplier: dict[str, list[StepRow]] = defaultdict(list)
    for s in steps:
        by_supplier[s.supplier].append(s)
    followed: dict[str, list] = defaultdict(list)
    for t in transactions:
        followed[t.supplier].append(t)
    rows = []
    for supplier in sorted(set(by_supplier) | {t.supplier for t in transactions}):
        mine = by_supplier.get(supplier, [])
        first_step: dict[str, StepRow] = {}
        hard_at: dict[str, datetime] = {}
        for s in mine:
            first_step.setdefault(s.trx_id, s)
            if s.step in ("hard_complaint", "pnr_hard_complaint"):
                hard_at[s.trx_id] = s.sent_at
        waits = [minutes(_resolution_after(s)) for s in first_step.values() if _resolution_after(s) is not None]
        resolved = [s for s in first_step.values() if s.resolved_at is not None]
        after_hard = [s for s in resolved if s.trx_id in hard_at and s.resolved_at >= hard_at[s.trx_id]]
        txs = followed.get(supplier, [])
        breaches = [t for t in txs if ((t.resolved_at or now) - t.created_at) > th.hard_after
                    and (t.status == "PENDING" or t.resolution)]
        rows.append([supplier.upper(), len(txs), sum(1 for t in txs if t.status == "PENDING" and t.resolution is None)]
                    + [sum(1 for s in mine if test(s)) for _, test in STEP_COLUMNS]
                    + [len(mine), statistics.median(waits) if waits else None, _p95(waits),
                       round(len(after_hard) / len(resolved), 2) if resolved else None, len(breaches)])
    return Sheet("Skor Supplier", [Column("Supplier"), Column("Transaksi", "int"), Column("Pending Sekarang", "int")]
                 + [Column(name, "int") for name, _ in STEP_COLUMNS]
                 + [Column("Total Langkah", "int"), Column("Median Resolusi (menit)", "number"),
                    Column("P95 Resolusi (menit)", "number"), Column("Porsi Selesai Setelah Komplain Keras", "number"),
                    Column("Pelanggaran Batas", "int")], rows)


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
