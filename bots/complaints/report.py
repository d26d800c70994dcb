"""Report: the day's complaint workbook with a supplier scorecard, built from the store.

`reports/komplain/komplain-YYYY-MM-DD.xlsx`:

- `Ringkasan`: the period covered, steps per code, transactions pending now and resolved today;
- `Komplain`: one row per step taken that day — the transaction as CS needs it (agent, product,
  destination, price, transaction time, status on the server now, SN), the step in words,
  when, our reference, the supplier's reply and the resolution read from it, ages as h:mm;
- `Skor Supplier`: per supplier, by name; its step columns add up to the `Komplain` rows;
  median and 95th-percentile time to resolution (h:mm), the share resolved only after a hard
  complaint (a percentage), threshold breaches (pending longer than the hard-complaint
  threshold).

Time to resolution is measured from a complaint to the moment the bot first saw the case
resolved. Printed A4 landscape, one page wide, headers repeated.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from bots.complaints.book import JAKARTA, ComplaintBook, StepRow
from bots.complaints.ladder import Thresholds
from bots.complaints.sheets import print_setup
from bots.portals.supplier import real_sn, sn_in_reply
from bots.workbook import Column, Sheet, write

LABELS = {"complaint": "Komplain pending", "hard_complaint": "Komplain keras (pending)",
          "supervisor": "Eskalasi ke atasan", "pnr_complaint": "Komplain produk belum masuk",
          "pnr_hard_complaint": "Komplain keras produk belum masuk",
          "wrong_number": "Salah nomor (tidak dapat direfund)",
          "wrong_number_refunded": "Salah nomor (transaksi gagal, saldo kembali)",
          "server_fix": "CS: perbaiki status di server"}
STEP_COLUMNS = [("Komplain", lambda s: s.step == "complaint"), ("Komplain Keras", lambda s: s.step == "hard_complaint"),
                ("Eskalasi Atasan", lambda s: s.step == "supervisor" or s.step.startswith("supervisor_reminder_")),
                ("Produk Belum Masuk", lambda s: s.step.startswith("pnr_") and s.level == "normal"),
                ("Produk Belum Masuk (Keras)", lambda s: s.step == "pnr_hard_complaint"),
                ("Salah Nomor", lambda s: s.step.startswith("wrong_number")),
                ("Perbaikan Server (CS)", lambda s: s.step == "server_fix")]
STATUS_WORDS = {"PENDING": "Pending", "SUKSES": "Sukses", "GAGAL": "Gagal"}


def workbook_path(reports_dir: Path, day: date) -> Path:
    return reports_dir / "komplain" / f"komplain-{day:%Y-%m-%d}.xlsx"


def step_label(step: str) -> str:
    """A step's key in the words CS uses."""
    if step.startswith("pnr_followup_"):
        return f"Follow-up ke-{step.rsplit('_', 1)[1]} produk belum masuk"
    if step.startswith("supervisor_reminder_"):
        return f"Pengingat atasan hari ke-{step.rsplit('_', 1)[1]}"
    return LABELS.get(step, step)


def hmm(delta: timedelta | float | None) -> str | None:
    """A duration as h:mm (`30:08`), as CS reads it; None stays empty."""
    if delta is None:
        return None
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}"


def percent(part: int, whole: int) -> str | None:
    return None if not whole else f"{round(100 * part / whole)}%"


def _resolution_after(step: StepRow) -> timedelta | None:
    if step.resolved_at is None or step.resolved_at < step.sent_at:
        return None
    return step.resolved_at - step.sent_at


def resolution(step: StepRow) -> str:
    """The case's resolution, with the SN — from the store, or read from the supplier's reply."""
    sn = step.resolution_sn or sn_in_reply(step.reply)
    if step.resolution:
        return f"{step.resolution} (SN {sn})" if step.resolution == "SUKSES" and sn else step.resolution
    if sn_in_reply(step.reply):
        return f"SUKSES (SN {sn_in_reply(step.reply)}, balasan supplier)"
    return ""


def write_report(book: ComplaintBook, reports_dir: Path, day: date, now: datetime,
                 th: Thresholds, names: dict[str, str] | None = None) -> tuple[Path, str | None]:
    names = names or {}
    steps = book.steps(day)
    transactions = book.transactions()

    def name(code: str) -> str:
        return names.get(code.lower(), code.upper())

    path, note = write(workbook_path(reports_dir, day), [
        summary(day, now, steps, transactions),
        Sheet("Komplain", [Column("Transaksi"), Column("Agen"), Column("Supplier"), Column("Produk"),
                           Column("Tujuan"), Column("Harga", "rupiah"), Column("Waktu Transaksi", "datetime", width=17),
                           Column("Status Server"), Column("SN"), Column("Umur Saat Langkah (j:mm)"),
                           Column("Langkah", width=40), Column("Dikirim", "datetime", width=17), Column("Referensi", width=14),
                           Column("Balasan Supplier", width=40), Column("Resolusi", width=30),
                           Column("Waktu ke Resolusi (j:mm)"), Column("Kode", width=32), Column("Alasan", width=50)],
              [[s.trx_id, s.agent_id, name(s.supplier), s.product, s.destination, s.price, s.created_at,
                STATUS_WORDS.get(s.status, s.status), real_sn(s.sn) or "", hmm(s.age_seconds), step_label(s.step), s.sent_at,
                s.reference, s.reply, resolution(s), hmm(_resolution_after(s)), s.code, s.reason]
               for s in steps]),
        scorecard(steps, transactions, now, th, name),
    ])
    print_setup(path)
    return path, note


def summary(day: date, now: datetime, steps: list[StepRow], transactions) -> Sheet:
    by_code: dict[str, int] = defaultdict(int)
    for s in steps:
        by_code[s.code] += 1
    pending = [t for t in transactions if t.status == "PENDING" and t.resolution is None]
    resolved_today = [t for t in transactions if t.resolved_at and t.resolved_at.astimezone(JAKARTA).date() == day]
    rows: list[list] = [[code, count] for code, count in sorted(by_code.items())]
    rows += [[None, None], ["Transaksi pending sekarang", len(pending)],
             ["Transaksi selesai hari ini", len(resolved_today)], ["Langkah komplain hari ini", len(steps)]]
    local = now.astimezone(JAKARTA)
    until = local if local.date() == day else datetime(day.year, day.month, day.day, 23, 59, tzinfo=JAKARTA)
    return Sheet("Ringkasan", [Column("Keterangan", width=36), Column("Jumlah", "int")], rows,
                 title=[f"Komplain transaksi ke supplier {day:%d/%m/%Y}",
                        f"Periode: {day:%d/%m/%Y} 00:00 – {until:%d/%m/%Y %H:%M} WIB (langkah yang diambil hari itu)",
                        f"Dibuat {local:%d/%m/%Y %H:%M} WIB"])


def scorecard(steps: list[StepRow], transactions, now: datetime, th: Thresholds, name) -> Sheet:
    by_supplier: dict[str, list[StepRow]] = defaultdict(list)
    for s in steps:
        by_supplier[s.supplier].append(s)
    followed: dict[str, list] = defaultdict(list)
    for t in transactions:
        followed[t.supplier].append(t)
    rows = []
    for supplier in sorted(set(by_supplier) | {t.supplier for t in transactions}, key=name):
        mine = by_supplier.get(supplier, [])
        first_step: dict[str, StepRow] = {}
        hard_at: dict[str, datetime] = {}
        for s in mine:
            if s.level is not None:
                first_step.setdefault(s.trx_id, s)
            if s.step in ("hard_complaint", "pnr_hard_complaint"):
                hard_at[s.trx_id] = s.sent_at
        waits = [w.total_seconds() for s in first_step.values() if (w := _resolution_after(s)) is not None]
        resolved = [s for s in first_step.values() if s.resolved_at is not None]
        after_hard = [s for s in resolved if s.trx_id in hard_at and s.resolved_at >= hard_at[s.trx_id]]
        txs = followed.get(supplier, [])
        breaches = [t for t in txs if ((t.resolved_at or now) - t.created_at) > th.hard_after
                    and (t.status == "PENDING" or t.resolution)]
        rows.append([name(supplier), len(txs), sum(1 for t in txs if t.status == "PENDING" and t.resolution is None)]
                    + [sum(1 for s in mine if test(s)) for _, test in STEP_COLUMNS]
                    + [len(mine), hmm(statistics.median(waits)) if waits else None, hmm(_p95(waits)),
                       percent(len(after_hard), len(resolved)), len(breaches)])
    return Sheet("Skor Supplier", [Column("Supplier"), Column("Transaksi", "int"), Column("Pending Sekarang", "int")]
                 + [Column(header, "int") for header, _ in STEP_COLUMNS]
                 + [Column("Total Langkah", "int"), Column("Median Resolusi (j:mm)"),
                    Column("P95 Resolusi (j:mm)"), Column("Selesai Setelah Komplain Keras"),
                    Column("Pelanggaran Batas", "int")], rows)


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
