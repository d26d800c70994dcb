"""Report: the day's eSIM status workbook, built from the store.

`reports/esim/esim-status-YYYY-MM-DD.xlsx`:

- `Ringkasan`: orders per code, what waits on a person, the deposits overdue;
- `Menunggu Pembayaran`: unpaid orders with the moment they close (3×24 h after submission);
- `Perlu Tindakan`: orders waiting on a person — the form (the sales agent), an unknown device,
  a refund to confirm (`python -m bots esim confirm-refund`);
- `Refund`: every refund, waiting for confirmation or asked of the aggregator, with who confirmed;
- `Setoran Upfront`: the aggregator's deposit into each activated MSISDN: deadline (a moment,
  7 working days after activation), working days left, deposited or not — overdue first;
- `Gagal Aktivasi`: activations GraPARI reported GAGAL, with their note.

Deadlines are written as moments, not as hours left (a file read tomorrow still tells the
truth). No NIK or KK in it: only the batch workbook carries them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path

from bots.complaints.sheets import print_setup
from bots.esim.registry import JAKARTA, as_order
from bots.esim.rules import (CLOSED_UNPAID, DEVICE_UNKNOWN, FORM_INCOMPLETE, NEEDS_CONFIRMATION, REASONS,
                             close_at, indonesian_holidays, working_days_between)
from bots.workbook import Column, Sheet, write

ACTIONS = {FORM_INCOMPLETE: "Sales: minta pelanggan melengkapi formulir",
           DEVICE_UNKNOWN: "Petugas: cek dukungan eSIM perangkat, perbaiki nama di Web Indiana"}
CONFIRM = "Konfirmasi ke pelanggan, lalu: python -m bots esim confirm-refund {order} --note \"...\""


def workbook_path(reports_dir: Path, day: date) -> Path:
    return reports_dir / "esim" / f"esim-status-{day:%Y-%m-%d}.xlsx"


def _refund_status(o) -> str:
    if o.refund_reference:
        return "Diajukan ke aggregator"
    if o.code == CLOSED_UNPAID:
        return "Ditutup: refund otomatis, belum diajukan"
    if o.refund_confirmed_at:
        return "Dikonfirmasi, menunggu pengajuan"
    return "Menunggu konfirmasi refund"


def _deposit_state(o, now: datetime, days_off) -> tuple[int | None, str, str]:
    """(working days left, Kode, words) of one activated order's deposit."""
    if o.deposited_at:
        return None, "DEPOSIT_RECEIVED", f"Sudah disetor {o.deposited_at.astimezone(JAKARTA):%d/%m/%Y}"
    due = _due_at(o)
    left = working_days_between(now.astimezone(JAKARTA).date(), due.astimezone(JAKARTA).date(), days_off)
    if now > due:
        return left, "DEPOSIT_OVERDUE", f"Lewat jatuh tempo {-left} hari kerja" if left < 0 else "Lewat jatuh tempo"
    return left, "DEPOSIT_DUE", f"{left} hari kerja lagi"


def _due_at(o) -> datetime:
    if o.deposit_due_at is not None:
        return o.deposit_due_at
    return datetime(o.deposit_due.year, o.deposit_due.month, o.deposit_due.day, 23, 59, 59, tzinfo=JAKARTA)


def write_report(orders, reports_dir: Path, now: datetime, days_off=()) -> tuple[Path, str | None]:
    today = now.astimezone(JAKARTA).date()
    holidays = indonesian_holidays(range(today.year - 1, today.year + 2), days_off)
    waiting = [o for o in orders if o.code == "WAITING_PAYMENT" or o.code is None]
    to_act = [o for o in orders if not o.final and (o.code in ACTIONS or o.code in NEEDS_CONFIRMATION)]
    refunds = [o for o in orders if o.refund_reference or o.refund_confirmed_at
               or (o.code in NEEDS_CONFIRMATION and not o.final) or (o.code == CLOSED_UNPAID and o.received)]
    activated = [o for o in orders if o.activation_status == "AKTIF" and (o.deposit_due or o.deposit_due_at)]
    states = {o.order_id: _deposit_state(o, now, holidays) for o in activated}
    order_of = {"DEPOSIT_OVERDUE": 0, "DEPOSIT_DUE": 1, "DEPOSIT_RECEIVED": 2}
    activated.sort(key=lambda o: (order_of[states[o.order_id][1]], _due_at(o), o.order_id))
    failed = [o for o in orders if o.activation_status == "GAGAL"]
    codes = Counter(o.code or "BARU" for o in orders)
    rows: list[list] = [[code, count] for code, count in sorted(codes.items())]
    rows += [[None, None], ["Dalam batch aktivasi", sum(1 for o in orders if o.batch_id)],
             ["Aktif (hasil GraPARI)", len(activated)], ["Gagal aktivasi (hasil GraPARI)", len(failed)],
             ["Perlu tindakan petugas/sales", len(to_act)],
             ["Refund menunggu konfirmasi", sum(1 for o in refunds if _refund_status(o).startswith("Menunggu"))],
             ["Setoran upfront lewat jatuh tempo", sum(1 for s in states.values() if s[1] == "DEPOSIT_OVERDUE")]]
    first = min((o.submitted_at for o in orders), default=None)
    period = f"Pesanan {first.astimezone(JAKARTA):%d/%m/%Y} s.d. {today:%d/%m/%Y}" if first else "Belum ada pesanan"
    path, note = write(workbook_path(reports_dir, today), [
        Sheet("Ringkasan", [Column("Keterangan", width=36), Column("Jumlah", "int")], rows,
              title=[f"Status pesanan Halo eSIM {today:%d/%m/%Y}", period,
                     f"Dibuat {now.astimezone(JAKARTA):%d/%m/%Y %H:%M} WIB"]),
        Sheet("Menunggu Pembayaran", [Column("No. Pesanan"), Column("Diajukan", "datetime"), Column("Sales"),
                                      Column("Pelanggan", width=24), Column("Paket"), Column("Tagihan", "rupiah"),
                                      Column("Diterima", "rupiah"), Column("Ditutup Pada (3x24 jam)", "datetime"),
                                      Column("Kode"), Column("Alasan", width=40)],
              [[o.order_id, o.submitted_at, o.sales_agent, o.customer_name, o.package,
                o.upfront_amount + o.esim_fee, o.received_in_time if o.received_in_time is not None else o.received,
                close_at(as_order(o)), o.code or "WAITING_PAYMENT", REASONS["WAITING_PAYMENT"]]
               for o in sorted(waiting, key=lambda o: o.submitted_at)]),
        Sheet("Perlu Tindakan", [Column("No. Pesanan"), Column("Sales"), Column("Pelanggan", width=24),
                                 Column("Perangkat", width=22), Column("Kode"), Column("Alasan", width=48),
                                 Column("Sejak", "datetime"), Column("Tindakan", width=60)],
              [[o.order_id, o.sales_agent, o.customer_name, o.device, o.code, REASONS.get(o.code, o.reason),
                o.waiting_since or o.first_seen_at, ACTIONS.get(o.code) or CONFIRM.format(order=o.order_id)]
               for o in sorted(to_act, key=lambda o: (o.code, o.submitted_at))]),
        Sheet("Refund", [Column("No. Pesanan"), Column("Pelanggan", width=24), Column("Nominal", "rupiah"),
                         Column("Diajukan (Rp)", "rupiah"), Column("Kode"), Column("Alasan", width=44),
                         Column("Status", width=30), Column("Dikonfirmasi Oleh"), Column("Catatan", width=30),
                         Column("Referensi"), Column("Diajukan", "datetime")],
              [[o.order_id, o.customer_name, o.received, o.refunded_amount, o.code, REASONS.get(o.code, o.reason),
                _refund_status(o), o.refund_confirmed_by, o.refund_note, o.refund_reference, o.refund_requested_at]
               for o in refunds]),
        Sheet("Setoran Upfront", [Column("No. Pesanan"), Column("MSISDN"), Column("Diaktifkan", "datetime"),
                                  Column("Upfront + Biaya eSIM", "rupiah"), Column("Jatuh Tempo", "datetime"),
                                  Column("Sisa Hari Kerja", "int"), Column("Disetor", "datetime"), Column("Kode"),
                                  Column("Alasan", width=30)],
              [[o.order_id, o.msisdn, o.activated_at, o.upfront_amount + o.esim_fee, _due_at(o),
                states[o.order_id][0], o.deposited_at, states[o.order_id][1], states[o.order_id][2]]
               for o in activated]),
        Sheet("Gagal Aktivasi", [Column("No. Pesanan"), Column("Batch"), Column("Sales"), Column("Pelanggan", width=24),
                                 Column("Paket"), Column("Catatan GraPARI", width=50), Column("Kode"),
                                 Column("Alasan", width=40)],
              [[o.order_id, o.batch_id, o.sales_agent, o.customer_name, o.package, o.activation_note or "",
                "ACTIVATION_FAILED", "Aktivasi gagal di GraPARI: sales menindaklanjuti ke pelanggan"] for o in failed]),
    ])
    print_setup(path)
    return path, note
