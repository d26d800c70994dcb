"""Report: the day's eSIM status workbook, built from the store.

`reports/esim/esim-status-YYYY-MM-DD.xlsx`: `Ringkasan`, `Menunggu Pembayaran` (hours left
before an unpaid order is closed), `Refund`, `Setoran Upfront` (the aggregator's deposit into
each activated MSISDN: due date, days left, overdue first). No NIK or KK in it: only the batch
workbook carries them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path

from bots.esim.registry import JAKARTA, as_order, due_label
from bots.esim.rules import REASONS, hours_left
from bots.workbook import Column, Sheet, write


def workbook_path(reports_dir: Path, day: date) -> Path:
    return reports_dir / "esim" / f"esim-status-{day:%Y-%m-%d}.xlsx"


def write_report(orders, reports_dir: Path, now: datetime) -> tuple[Path, str | None]:
    today = now.astimezone(JAKARTA).date()
    waiting = [o for o in orders if o.code == "WAITING_PAYMENT" or o.code is None]
    refunds = [o for o in orders if o.refund_reference]
    activated = sorted([o for o in orders if o.activation_status == "AKTIF" and o.deposit_due],
                       key=lambda o: (o.deposit_due, o.order_id))
    codes = Counter(o.code or "BARU" for o in orders)
    rows = [[code, count] for code, count in sorted(codes.items())]
    rows += [[None, None], ["Dalam batch aktivasi", sum(1 for o in orders if o.batch_id)],
             ["Aktif (hasil GraPARI)", sum(1 for o in orders if o.activation_status == "AKTIF")],
             ["Gagal aktivasi (hasil GraPARI)", sum(1 for o in orders if o.activation_status == "GAGAL")],
             ["Setoran upfront lewat jatuh tempo", sum(1 for o in activated if o.deposit_due < today)]]
    return write(workbook_path(reports_dir, today), [
        Sheet("Ringkasan", [Column("Keterangan", width=34), Column("Jumlah", "int")], rows,
              title=[f"Status pesanan Halo eSIM {today:%d/%m/%Y}", f"Dibuat {now.astimezone(JAKARTA):%d/%m/%Y %H:%M} WIB"]),
        Sheet("Menunggu Pembayaran", [Column("No. Pesanan"), Column("Diajukan", "datetime"), Column("Sales"),
                                      Column("Pelanggan", width=24), Column("Paket"), Column("Tagihan", "rupiah"),
                                      Column("Diterima", "rupiah"), Column("Sisa Jam Sebelum Ditutup", "number")],
              [[o.order_id, o.submitted_at, o.sales_agent, o.customer_name, o.package,
                o.upfront_amount + o.esim_fee, o.received, round(hours_left(as_order(o), now), 1)]
               for o in sorted(waiting, key=lambda o: o.submitted_at)]),
        Sheet("Refund", [Column("No. Pesanan"), Column("Pelanggan", width=24), Column("Nominal", "rupiah"),
                         Column("Kode"), Column("Alasan", width=40), Column("Referensi"),
                         Column("Diajukan", "datetime")],
              [[o.order_id, o.customer_name, o.received, o.code, REASONS.get(o.code, o.reason), o.refund_reference,
                o.refund_requested_at] for o in refunds]),
        Sheet("Setoran Upfront", [Column("No. Pesanan"), Column("MSISDN"), Column("Diaktifkan", "datetime"),
                                  Column("Upfront + Biaya eSIM", "rupiah"), Column("Jatuh Tempo", "date"),
                                  Column("Sisa Hari", "int"), Column("Keterangan")],
              [[o.order_id, o.msisdn, o.activated_at, o.upfront_amount + o.esim_fee, o.deposit_due,
                (o.deposit_due - today).days, due_label(o.deposit_due, today)] for o in activated]),
    ])
