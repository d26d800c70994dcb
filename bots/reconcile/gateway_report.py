"""The reconciliation workbook's `Deposit VA-Retail` sheet and its Ringkasan lines, from the store.

Every gateway payment of the day (paid, else created; WIB) with its outcome, then a totals
block: ours (the PAID and SETTLED payments we read) beside the gateway's own daily summary,
and the difference, which must be 0 — a payment the gateway counts that we never read shows here.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from bots.reconcile.gateway import PAID_STATUSES
from bots.reconcile.gateway_act import GatewayBook
from bots.workbook import Column, Sheet

#: "Deposit VA/Retail" cannot be a sheet's name: Excel forbids "/" in one (openpyxl refuses it too)
SHEET = "Deposit VA-Retail"
LABELS = {
    "GATEWAY_CREDITED": "Dikredit otomatis (VA/retail)", "GATEWAY_UNKNOWN_REFERENCE": "Referensi tidak dikenal",
    "GATEWAY_AMOUNT_MISMATCH": "Nominal tidak sesuai permintaan", "GATEWAY_REQUEST_EXPIRED": "Permintaan kedaluwarsa",
    "GATEWAY_PAID_TWICE": "Referensi dibayar dua kali", "GATEWAY_NOT_PAID": "Belum dibayar (tidak dikredit)",
    "GATEWAY_CREDIT_REFUSED": "Tambah saldo ditolak server", "GATEWAY_IN_DOUBT": "Tambah saldo belum pasti",
    "GATEWAY_TIED_OUT": "Total cocok dengan payment gateway", "GATEWAY_TOTALS_DIFFER": "Total TIDAK cocok",
    "GATEWAY_NO_TOTALS": "Ringkasan gateway belum terbaca",
}
COLUMNS = [Column("ID"), Column("Referensi"), Column("Agen"), Column("Kanal"), Column("Nominal", "rupiah"),
           Column("Biaya", "rupiah"), Column("Neto", "rupiah"), Column("Status"), Column("Waktu Bayar", "datetime"),
           Column("Kode", width=28), Column("Alasan", width=60)]


def gateway_sheet(store, day: date) -> tuple[Sheet | None, list[list]]:
    """The day's sheet and the Ringkasan lines about it (None, []: no gateway read for that day)."""
    book = GatewayBook(store)
    payments, theirs = book.payments_of(day), book.totals_of(day)
    if not payments and theirs is None:  # the gateway is not read here: the workbook is as without it
        return None, []
    rows = [[p.payment_id, p.reference, p.agent_id, p.channel, p.amount, p.fee, p.amount - p.fee, p.status,
             p.paid_at, p.code or "BELUM_DIPROSES", p.reason] for p in payments]
    paid = [p for p in payments if p.status in PAID_STATUSES]
    ours = (len(paid), sum(p.amount for p in paid), sum(p.fee for p in paid))
    rows.append([None] * len(COLUMNS))
    rows.append(["Total kita (PAID + SETTLED)", None, None, f"{ours[0]} transaksi", ours[1], ours[2],
                 ours[1] - ours[2], None, None, None, None])
    summary = [["Deposit VA/Retail (payment gateway), per kode", None, None, None]]
    counts = Counter(p.code or "BELUM_DIPROSES" for p in payments)
    summary += [[LABELS.get(code, code), code, n, sum(p.amount for p in payments if (p.code or "BELUM_DIPROSES") == code)]
                for code, n in sorted(counts.items())]
    if theirs is None:
        code = "GATEWAY_NO_TOTALS"
        rows.append(["Total payment gateway", None, None, None, None, None, None, None, None, code, LABELS[code]])
        summary.append([LABELS[code], code, None, None])
    else:
        differs = (theirs.count - ours[0], theirs.amount - ours[1], theirs.fee - ours[2],
                   theirs.net - (ours[1] - ours[2]))
        code = "GATEWAY_TOTALS_DIFFER" if any(differs) else "GATEWAY_TIED_OUT"
        rows.append(["Total payment gateway (ringkasan harian)", None, None, f"{theirs.count} transaksi",
                     theirs.amount, theirs.fee, theirs.net, None, None, code, LABELS[code]])
        rows.append(["Selisih (harus 0)", None, None, f"{differs[0]} transaksi", differs[1], differs[2], differs[3],
                     None, None, code, LABELS[code]])
        summary.append([f"Total gateway vs kita: {LABELS[code]}", code, differs[0], differs[1]])
    title = [f"Deposit via VA / retail (payment gateway) {day:%d/%m/%Y}: per tanggal bayar WIB, belum dibayar per "
             "tanggal dibuat"]
    return Sheet(SHEET, COLUMNS, rows, title=title), summary
