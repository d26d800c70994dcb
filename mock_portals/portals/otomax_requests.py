"""Otomax's deposit requests through a virtual account or a retail outlet (Permintaan Deposit VA/Retail).

An agent who tops up through VA or retail asks the server first; the server gives the request a
reference, which the agent's payment at the gateway carries. `add_request_pages(portal, world)`
adds the list (filters and pagination in the style of the ticket list) and its CSV export.
The status is shown as seeded: the bot compares the payment's time with `expires_at` itself.
"""

from __future__ import annotations

from mock_portals.framework import Column, Portal
from mock_portals.listing import ListFilters, add_listing
from mock_portals.world import JAKARTA, World

REQUEST_COLUMNS = [Column("Referensi", "reference"), Column("ID Agen", "agent_id"),
                   Column("Nominal", "amount", "rupiah"), Column("Kanal", "channel"),
                   Column("Dibuat", "created_at", "time"), Column("Berlaku s/d", "expires_at", "time"),
                   Column("Status", "status")]
REQUEST_CSV = ("reference", "agent_id", "amount", "channel", "created_at", "expires_at", "status")
STATUS_CHOICES = [("OPEN", "Terbuka"), ("PAID", "Dibayar"), ("EXPIRED", "Kedaluwarsa"), ("CANCELLED", "Dibatalkan")]
CHANNEL_CHOICES = [("VA_BCA", "VA BCA"), ("VA_BNI", "VA BNI"), ("VA_MANDIRI", "VA Mandiri"),
                   ("ALFAMART", "Alfamart"), ("INDOMARET", "Indomaret"), ("QRIS", "QRIS")]
FILTERS = [
    {"name": "status", "label": "Status", "choices": STATUS_CHOICES},
    {"name": "kanal", "label": "Kanal", "choices": CHANNEL_CHOICES},
    {"name": "dari", "label": "Dari tanggal", "type": "date"},
    {"name": "sampai", "label": "Sampai tanggal", "type": "date"},
    {"name": "q", "label": "Referensi atau agen"},
]
TITLE = "Permintaan Deposit VA/Retail"


def request_rows(world: World, args) -> list[dict]:
    """Requests matching the filters (status, kanal, dari, sampai by creation day, q), newest first."""
    wanted = ListFilters.read(args)
    channel = args.get("kanal", "").strip().upper()
    with world.lock:
        rows = list(world.table("deposit_requests"))
    chosen = [r for r in rows if (not channel or r["channel"] == channel)
              and wanted.keep(r["status"], r["created_at"].astimezone(JAKARTA).date(), r["reference"], r["agent_id"])]
    return sorted(chosen, key=lambda r: (r["created_at"], r["reference"]), reverse=True)


def add_request_pages(portal: Portal, world: World) -> None:
    """Register the VA/retail deposit requests list and its export on an Otomax portal."""
    portal.nav.append(("Permintaan Deposit VA/Retail", "deposit_requests"))

    add_listing(portal, world, "/permintaan-deposit", "deposit_requests", TITLE, REQUEST_COLUMNS, request_rows,
                REQUEST_CSV, "permintaan-deposit", filters=FILTERS)
