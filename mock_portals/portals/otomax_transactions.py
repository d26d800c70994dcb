"""Otomax's transaction report (laporan transaksi) and agents' complaints (komplain agen).

`add_transaction_pages(portal, world)` adds both pages, each with a CSV export taking the
same filters, to an Otomax `Portal`. Transactions that a supplier resolved after a complaint
are settled first (`supplier.settle`): the server learns the answer from the supplier's
callback, whichever page is read.
"""

from __future__ import annotations

from mock_portals.framework import Column, Portal
from mock_portals.listing import add_listing, in_period, period
from mock_portals.portals.supplier import settle
from mock_portals.world import JAKARTA, World

TRANSACTION_COLUMNS = [Column("ID Transaksi", "trx_id"), Column("ID Agen", "agent_id"),
                       Column("Produk", "product"), Column("Tujuan", "destination"),
                       Column("Harga", "price", "rupiah"), Column("Supplier", "supplier"),
                       Column("Waktu", "created_at", "time"), Column("Status", "status"),
                       Column("SN", "sn")]
COMPLAINT_COLUMNS = [Column("ID Komplain", "complaint_id"), Column("ID Transaksi", "trx_id"),
                     Column("Dilaporkan", "reported_at", "time"), Column("Jenis", "kind"),
                     Column("Catatan", "note")]
TRANSACTION_CSV = ("trx_id", "agent_id", "product", "destination", "price", "supplier",
                   "created_at", "status", "sn")
COMPLAINT_CSV = ("complaint_id", "trx_id", "reported_at", "kind", "note")
STATUS_CHOICES = [("PENDING", "Pending"), ("SUKSES", "Sukses"), ("GAGAL", "Gagal")]
NAV = [("Laporan Transaksi", "transactions"), ("Komplain Agen", "agent_complaints")]


def transaction_rows(world: World, args) -> list[dict]:
    """Transactions matching the filters (status, dari, sampai, supplier, q), newest first."""
    settle(world)
    status = args.get("status", "").strip().upper()
    supplier = args.get("supplier", "").strip().lower()
    since, until = period(args)
    query = args.get("q", "").strip().lower()
    with world.lock:
        rows = list(world.table("transactions"))
    # one pass with the cheap tests first: the report is read with thousands of rows
    chosen = [t for t in rows
              if (not status or t["status"] == status)
              and (not supplier or t["supplier"].lower() == supplier)
              and (not (since or until) or in_period(t["created_at"].astimezone(JAKARTA).date(), since, until))
              and (not query or query in t["trx_id"].lower() or query in t["agent_id"].lower()
                   or query in t["destination"])]
    return sorted(chosen, key=lambda t: (t["created_at"], t["trx_id"]), reverse=True)


def complaint_rows(world: World, args) -> list[dict]:
    """Agents' complaints, filtered by `q` (complaint or transaction ID), newest first."""
    query = args.get("q", "").strip().lower()
    with world.lock:
        rows = list(world.table("agent_complaints"))
    chosen = [c for c in rows if not query or query in c["complaint_id"].lower()
              or query in c["trx_id"].lower()]
    return sorted(chosen, key=lambda c: (c["reported_at"], c["complaint_id"]), reverse=True)


def add_transaction_pages(portal: Portal, world: World) -> None:
    """Register the transaction report and the agents' complaints on an Otomax portal."""
    portal.nav.extend(NAV)

    def filters() -> list[dict]:
        with world.lock:
            suppliers = sorted({t["supplier"].lower() for t in world.table("transactions")})
        return [{"name": "status", "label": "Status", "choices": STATUS_CHOICES},
                {"name": "dari", "label": "Dari tanggal", "type": "date"},
                {"name": "sampai", "label": "Sampai tanggal", "type": "date"},
                {"name": "supplier", "label": "Supplier", "choices": [(s, s.upper()) for s in suppliers]},
                {"name": "q", "label": "ID transaksi, agen atau tujuan"}]

    add_listing(portal, world, "/transaksi", "transactions", "Laporan Transaksi", TRANSACTION_COLUMNS,
                transaction_rows, TRANSACTION_CSV, "laporan-transaksi", filters=filters)
    add_listing(portal, world, "/komplain-agen", "agent_complaints", "Komplain Agen", COMPLAINT_COLUMNS,
                complaint_rows, COMPLAINT_CSV, "komplain-agen",
                filters=[{"name": "q", "label": "ID komplain atau transaksi"}])
