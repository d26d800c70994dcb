"""`/otomax/`: the transaction server's web admin — agents, deposit tickets, balances (saldo).

Pages here, rules in `otomax_deposits`. The ticket list and the balance log each have a CSV
export with the same filters, as the real admin does; that is what the bots read. The bot
issues still to come add the transaction report and the agents' complaints.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import request

from mock_portals.framework import Column, Portal, rupiah
from mock_portals.listing import add_listing, refused_page
from mock_portals.portals import otomax_deposits as rules
from mock_portals.portals.otomax_deposits import Refused
from mock_portals.portals.otomax_bon import add_bon_pages
from mock_portals.portals.otomax_transactions import add_transaction_pages
from mock_portals.portals.otomax_requests import add_request_pages
from mock_portals.world import World

AGENT_COLUMNS = [Column("ID Agen", "agent_id"), Column("Nama", "name"), Column("Telepon", "phone"),
                 Column("Saldo", "balance", "rupiah")]
BALANCE_LOG_COLUMNS = [Column("Waktu", "created_at", "time"), Column("Jenis", "kind"),
                       Column("Nominal", "amount", "rupiah"), Column("Tiket", "ticket_id"),
                       Column("Keterangan", "note")]
HISTORY_COLUMNS = BALANCE_LOG_COLUMNS[:1] + [Column("ID Agen", "agent_id")] + BALANCE_LOG_COLUMNS[1:]
TICKET_COLUMNS = [Column("ID Tiket", "ticket_id"), Column("ID Agen", "agent_id"),
                  Column("Nominal", "amount", "rupiah"), Column("Bank", "bank_label"),
                  Column("No. Rekening", "account_no"), Column("Dibuat", "created_at", "time"),
                  Column("Berlaku s/d", "expires_at", "time"), Column("Status", "status"),
                  Column("Disetujui", "approved_at", "time"), Column("Keperluan", "purpose")]
TICKET_FILTERS = [
    {"name": "status", "label": "Status", "choices": rules.STATUS_CHOICES},
    {"name": "bank", "label": "Bank", "choices": rules.BANK_CHOICES},
    {"name": "dari", "label": "Dari tanggal", "type": "date"},
    {"name": "sampai", "label": "Sampai tanggal", "type": "date"},
    {"name": "q", "label": "ID tiket atau agen"},
]
HISTORY_FILTERS = [{"name": "agen", "label": "ID Agen"}, {"name": "q", "label": "Keterangan memuat"}]


def build(world: World, key: str, title: str) -> Portal:
    portal = Portal(world, key, title, nav=[
        ("Agen", "agents"), ("Tiket Deposit", "tickets"), ("Tambah Saldo", "add_balance"),
        ("Riwayat Saldo", "balance_history")])

    def agent(agent_id: str) -> dict | None:
        return next((a for a in world.table("agents") if a["agent_id"] == agent_id), None)

    @portal.page("/")
    def home():
        agents = world.table("agents")
        now = world.now()
        return portal.render("home.html", cards=[
            ("Jumlah agen", len(agents)),
            ("Total saldo agen", rupiah(sum(a["balance"] for a in agents))),
            ("Tiket deposit terbuka",
             sum(rules.shown_status(t, now) == "OPEN" for t in world.table("tickets"))),
        ])

    @portal.page("/agen")
    def agents():
        rows = world.table("agents")
        query = request.args.get("q", "").strip().lower()
        if query:
            rows = [a for a in rows if query in a["agent_id"].lower() or query in a["name"].lower()]
        return portal.listing("Daftar Agen", AGENT_COLUMNS, rows,
                              filters=[{"name": "q", "label": "ID atau nama agen"}],
                              actions=lambda a: [{"label": "Detail", "method": "get",
                                                  "url": f"{request.script_root}/agen/{a['agent_id']}"}])

    @portal.page("/agen/<agent_id>")
    def agent_detail(agent_id: str):
        found = agent(agent_id)
        portal.require(found is not None)
        log = [r for r in world.table("balance_log") if r["agent_id"] == agent_id]
        return portal.listing(f"Mutasi Saldo {found['agent_id']} — {found['name']}", BALANCE_LOG_COLUMNS,
                              list(reversed(log)),
                              intro=f"Saldo saat ini: {rupiah(found['balance'])}")

    # -- deposit tickets ---------------------------------------------------------------------------
    def approve_button(ticket: dict) -> list[dict]:
        if ticket["status"] != "OPEN":
            return []
        url = f"{request.script_root}/tiket/{quote(ticket['ticket_id'], safe='')}/setujui"
        return [{"label": "Setujui", "method": "post", "url": url}]

    add_listing(portal, world, "/tiket", "tickets", "Tiket Deposit", TICKET_COLUMNS, rules.ticket_rows,
                rules.TICKET_CSV, "tiket-deposit", filters=TICKET_FILTERS, actions=approve_button)

    @portal.page("/tiket/<ticket_id>/setujui", methods=["POST"])
    def approve_ticket(ticket_id: str):
        try:
            ticket, credited_agent = rules.approve(world, ticket_id)
        except Refused as exc:
            return refused_page(portal, exc)
        paid = (f"pelunasan bon {ticket['bon_id']} {rupiah(ticket['amount'])} (saldo tidak ditambah)."
                if ticket.get("purpose") == "BON" else rules.credited(credited_agent, ticket["amount"]))
        return portal.message("Tiket Disetujui", f"Tiket {ticket['ticket_id']} disetujui: " + paid,
                              back=f"{request.script_root}/tiket")

    # -- balance (saldo) ----------------------------------------------------------------------------
    @portal.page("/saldo/tambah", methods=["GET", "POST"])
    def add_balance():
        if request.method == "GET":
            return portal.render("otomax_saldo_tambah.html", title="Tambah Saldo")
        try:
            changed, amount = rules.add_balance(world, request.form.get("agent_id", ""),
                                                request.form.get("amount", ""),
                                                request.form.get("note", ""))
        except Refused as exc:
            return refused_page(portal, exc)
        return portal.message("Saldo Ditambahkan",
                              "Tambah saldo berhasil: " + rules.credited(changed, amount),
                              back=f"{request.script_root}/saldo/riwayat")

    add_listing(portal, world, "/saldo/riwayat", "balance_history", "Riwayat Saldo", HISTORY_COLUMNS,
                rules.balance_rows, rules.BALANCE_LOG_CSV, "riwayat-saldo", filters=HISTORY_FILTERS)

    add_transaction_pages(portal, world)  # the transaction report and agents' complaints
    add_request_pages(portal, world)  # deposit requests paid through a VA or a retail outlet
    add_bon_pages(portal, world)  # Bon / TOP: requests, open bons, repayments
    return portal
