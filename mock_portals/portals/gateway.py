"""`/gateway/`: the payment gateway's merchant dashboard — virtual-account and retail payments.

Shaped like the dashboards Indonesian gateways give merchants: a transaction list with our
reference, the channel (VA BCA, VA BNI, VA Mandiri, Alfamart, Indomaret, QRIS), gross amount,
the gateway's fee, net, status (PENDING, PAID, SETTLED, EXPIRED, FAILED) and paid time, with a
CSV export taking the list's filters; and a daily summary (ringkasan harian) of what was paid
that day, with its own CSV — the gateway's totals finance ties the reconciliation to.

A payment belongs to the day (WIB) it was paid, or to the day it was created while unpaid.
`pay()` is the world's side of an agent paying at the counter later (control API only).
"""

from __future__ import annotations

from datetime import date, datetime

from flask import request

from mock_portals.framework import Column, Portal, rupiah
from mock_portals.listing import ListFilters, Refused, add_listing, csv_answer, filter_day, refused_page
from mock_portals.seed import parse_seed_row
from mock_portals.world import JAKARTA, World

CHANNELS = [("VA_BCA", "VA BCA"), ("VA_BNI", "VA BNI"), ("VA_MANDIRI", "VA Mandiri"), ("ALFAMART", "Alfamart"),
            ("INDOMARET", "Indomaret"), ("QRIS", "QRIS")]
STATUSES = [("PENDING", "Menunggu"), ("PAID", "Dibayar"), ("SETTLED", "Settled"), ("EXPIRED", "Kedaluwarsa"),
            ("FAILED", "Gagal")]
PAID = ("PAID", "SETTLED")
COLUMNS = [Column("ID Transaksi", "payment_id"), Column("Referensi", "reference"), Column("Kanal", "channel_label"),
           Column("Nominal", "amount", "rupiah"), Column("Biaya", "fee", "rupiah"), Column("Neto", "net", "rupiah"),
           Column("Status", "status"), Column("Dibuat", "created_at", "time"), Column("Dibayar", "paid_at", "time"),
           Column("Settlement", "settled_at", "time")]
PAYMENT_CSV = ("payment_id", "reference", "channel", "amount", "fee", "net", "status", "created_at", "paid_at",
               "settled_at")
SUMMARY_COLUMNS = [Column("Status", "status"), Column("Jumlah", "count"), Column("Nominal", "amount", "rupiah"),
                   Column("Biaya", "fee", "rupiah"), Column("Neto", "net", "rupiah")]
SUMMARY_CSV = ("date", "status", "count", "amount", "fee", "net")
FILTERS = [
    {"name": "status", "label": "Status", "choices": STATUSES},
    {"name": "kanal", "label": "Kanal", "choices": CHANNELS},
    {"name": "dari", "label": "Dari tanggal", "type": "date"},
    {"name": "sampai", "label": "Sampai tanggal", "type": "date"},
    {"name": "q", "label": "ID transaksi atau referensi"},
]
_LABELS = dict(CHANNELS)


def business_day(payment: dict) -> date:
    """The day (WIB) a payment belongs to: when it was paid, else when it was created."""
    return (payment.get("paid_at") or payment["created_at"]).astimezone(JAKARTA).date()


def payment_rows(world: World, args) -> list[dict]:
    """Payments matching the filters (status, kanal, dari, sampai by business day, q), newest first."""
    wanted = ListFilters.read(args)
    channel = args.get("kanal", "").strip().upper()
    with world.lock:
        rows = [{**p, "net": p["amount"] - p["fee"], "channel_label": _LABELS[p["channel"]]}
                for p in world.table("gateway_payments")]
    chosen = [p for p in rows if (not channel or p["channel"] == channel)
              and wanted.keep(p["status"], business_day(p), p["payment_id"], p["reference"])]
    return sorted(chosen, key=lambda p: (p.get("paid_at") or p["created_at"], p["payment_id"]), reverse=True)


def day_summary(world: World, day: date) -> list[dict]:
    """Per status, the day's count, gross, fee and net; then a TOTAL row of what was paid (PAID + SETTLED)."""
    with world.lock:
        payments = [p for p in world.table("gateway_payments") if business_day(p) == day]
    rows = []
    for status, _ in STATUSES:
        these = [p for p in payments if p["status"] == status]
        rows.append(_totals(day, status, these))
    rows.append(_totals(day, "TOTAL_PAID", [p for p in payments if p["status"] in PAID]))
    return rows


def _totals(day: date, status: str, payments: list[dict]) -> dict:
    amount, fee = sum(p["amount"] for p in payments), sum(p["fee"] for p in payments)
    return {"date": day, "status": status, "count": len(payments), "amount": amount, "fee": fee, "net": amount - fee}


def pay(world: World, payment_id: str, values: dict[str, str]) -> dict:
    """A payment's status moves on (the agent paid at the counter, the gateway settled it):
    `values` in the seed format (status, paid_at, settled_at), checked by the seed's rules."""
    with world.lock:
        payment = next((p for p in world.table("gateway_payments") if p["payment_id"] == payment_id), None)
        if payment is None:
            raise KeyError(payment_id)
        text = {k: (v.isoformat() if isinstance(v, datetime) else ("" if v is None else str(v)))
                for k, v in payment.items()}
        row = parse_seed_row("gateway_payments", {**text, **values}, world.now(),
                             where=f"gateway/{payment_id}")
        payment.update(row)
        return dict(payment)


def build(world: World, key: str, title: str) -> Portal:
    portal = Portal(world, key, title, nav=[("Transaksi", "payments"), ("Ringkasan Harian", "summary")])

    @portal.page("/")
    def home():
        today = world.now().astimezone(JAKARTA).date()
        total = day_summary(world, today)[-1]
        return portal.render("home.html", cards=[
            ("Transaksi dibayar hari ini", total["count"]), ("Nominal dibayar hari ini", rupiah(total["amount"])),
            ("Menunggu pembayaran", sum(p["status"] == "PENDING" for p in world.table("gateway_payments")))])

    add_listing(portal, world, "/transaksi", "payments", "Transaksi", COLUMNS, payment_rows, PAYMENT_CSV,
                "transaksi", filters=FILTERS)

    def summary_day() -> date:
        return filter_day(request.args, "tanggal") or world.now().astimezone(JAKARTA).date()

    @portal.page("/ringkasan")
    def summary():
        try:
            day = summary_day()
        except Refused as exc:
            return refused_page(portal, exc)
        return portal.listing(f"Ringkasan Harian {day:%d/%m/%Y}", SUMMARY_COLUMNS, day_summary(world, day),
                              filters=[{"name": "tanggal", "label": "Tanggal", "type": "date"}],
                              export=f"{request.script_root}/ringkasan/unduh?tanggal={day.isoformat()}",
                              intro="Per tanggal bayar (WIB); transaksi belum dibayar per tanggal dibuat.")

    @portal.page("/ringkasan/unduh")
    def summary_export():
        try:
            day = summary_day()
        except Refused as exc:
            return refused_page(portal, exc)
        return csv_answer(day_summary(world, day), SUMMARY_CSV, f"ringkasan-{day:%Y%m%d}", world.now())

    return portal
