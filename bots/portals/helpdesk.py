"""Page objects of finance's helpdesk inbox."""

from __future__ import annotations

from dataclasses import dataclass

from bots.portals.base import PortalPage


@dataclass(frozen=True)
class HelpdeskMessage:
    number: int
    received: str
    kind: str
    title: str
    body: str


class HelpdeskInbox(PortalPage):
    def messages(self) -> list[HelpdeskMessage]:
        rows = self.read_all_pages("/pesan", "Kotak Masuk")
        return [HelpdeskMessage(int(r["No"]), r["Diterima"], r["Jenis"], r["Judul"], r["Isi"]) for r in rows]
