"""`/otomax/`: the transaction server's web admin — agents and their balances (saldo).

The bot issues add deposit tickets, the manual balance add, the transaction report and the
agents' complaints to this module's portal.
"""

from __future__ import annotations

from flask import request

from mock_portals.framework import Column, Portal, rupiah
from mock_portals.world import World

AGENT_COLUMNS = [Column("ID Agen", "agent_id"), Column("Nama", "name"), Column("Telepon", "phone"),
                 Column("Saldo", "balance", "rupiah")]
BALANCE_LOG_COLUMNS = [Column("Waktu", "created_at", "time"), Column("Jenis", "kind"),
                       Column("Nominal", "amount", "rupiah"), Column("Tiket", "ticket_id"),
                       Column("Keterangan", "note")]


def build(world: World, key: str, title: str) -> Portal:
    portal = Portal(world, key, title, nav=[("Agen", "agents")])

    def agent(agent_id: str) -> dict | None:
        return next((a for a in world.table("agents") if a["agent_id"] == agent_id), None)

    @portal.page("/")
    def home():
        agents = world.table("agents")
        return portal.render("home.html", cards=[
            ("Jumlah agen", len(agents)),
            ("Total saldo agen", rupiah(sum(a["balance"] for a in agents))),
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

    return portal

