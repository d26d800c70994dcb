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


def inbox_reader(ctx):
    """For a run: the titles in finance's helpdesk inbox (read once, again when asked fresh),
    or None when no helpdesk portal is configured (nothing can be read back)."""
    if "helpdesk" not in ctx.settings.configured_portals():
        return None
    seen: dict[str, list[str]] = {}

    def titles(fresh: bool = False) -> list[str]:
        if fresh or "titles" not in seen:
            seen["titles"] = [m.title for m in ctx.portal(HelpdeskInbox, "helpdesk").messages()]
        return seen["titles"]

    return titles
