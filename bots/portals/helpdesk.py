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


def inbox_check(ctx):
    """For a run: has finance's helpdesk already received a message with this marker?

    Only when the helpdesk portal is configured; otherwise nothing can be checked (False).
    """
    if "helpdesk" not in ctx.settings.configured_portals():
        return lambda marker: False
    return lambda marker: any(marker in m.title for m in ctx.portal(HelpdeskInbox, "helpdesk").messages())
