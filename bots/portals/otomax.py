"""Page objects of the transaction server's web admin (Otomax-style)."""

from __future__ import annotations

from dataclasses import dataclass

from bots.portals.base import PortalPage
from bots.portals.parse import parse_rupiah


@dataclass(frozen=True)
class Agent:
    """A reseller agent and the balance (saldo) the server holds for them."""

    agent_id: str
    name: str
    phone: str
    balance: int


class OtomaxAdmin(PortalPage):
    def list_agents(self) -> list[Agent]:
        rows = self.read_all_pages("/agen", "Daftar Agen")
        return [Agent(r["ID Agen"], r["Nama"], r["Telepon"], parse_rupiah(r["Saldo"])) for r in rows]
