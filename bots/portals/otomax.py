"""Page objects of the transaction server's web admin (Otomax-style): agents, tickets, saldo.

Reads go through the admin's CSV exports — one request instead of a page at a time — sent
with the browser context's own request API, so they share its login cookie. Changes (approve
a deposit ticket, add balance by hand) are clicks on the admin's own forms and are never
repeated here: when the answer to a click is lost, `PortalUnavailable` says "outcome unknown"
and the caller reads the portal to learn what happened (DESIGN §5), because a repeated manual
balance add credits the agent twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bots.errors import ActionRefused, PortalUnavailable
from bots.portals.base import Answer, PortalPage, export_time
from bots.portals.parse import parse_rupiah

JAKARTA = ZoneInfo("Asia/Jakarta")
T = TypeVar("T")

TICKET_COLUMNS = ("ticket_id", "agent_id", "amount", "bank", "account_no", "created_at",
                  "expires_at", "status", "approved_at")
BALANCE_LOG_COLUMNS = ("agent_id", "amount", "kind", "ticket_id", "note", "created_at")
DEPOSIT_REQUEST_COLUMNS = ("reference", "agent_id", "amount", "channel", "created_at", "expires_at", "status")

# The answer page's heading after "Setujui" → what happened to the ticket.
_APPROVAL_HEADINGS = {"Tiket Disetujui": "approved", "Tiket Sudah Diproses": "already_processed",
                      "Tiket Kedaluwarsa": "expired", "Tiket Dibatalkan": "cancelled",
                      "Tiket Tidak Ditemukan": "not_found"}
# A ticket the list already shows as not OPEN has no "Setujui" button: its status says why.
_APPROVAL_BY_STATUS = {"APPROVED": "already_processed", "EXPIRED": "expired",
                       "CANCELLED": "cancelled"}
_NEW_BALANCE = re.compile(r"Saldo baru:\s*(-?Rp\s*[\d.]+)")
# The heading the framework shows when a form's token is refused: the session ended.


@dataclass(frozen=True)
class Agent:
    """A reseller agent and the balance (saldo) the server holds for them."""

    agent_id: str
    name: str
    phone: str
    balance: int


@dataclass(frozen=True)
class DepositTicket:
    """A deposit ticket (tiket deposit): the exact amount an agent promised to transfer."""

    ticket_id: str
    agent_id: str
    amount: int
    bank: str  # lower case: bca, mandiri, bri, bni
    account_no: str
    created_at: datetime
    expires_at: datetime | None
    status: str  # OPEN, APPROVED, EXPIRED, CANCELLED (an OPEN ticket past expiry shows EXPIRED)
    approved_at: datetime | None


@dataclass(frozen=True)
class BalanceEntry:
    """One line of the balance log (riwayat saldo): a deposit credit or a manual add."""

    agent_id: str
    amount: int
    kind: str  # DEPOSIT, MANUAL
    ticket_id: str | None
    note: str
    created_at: datetime


@dataclass(frozen=True)
class DepositRequest:
    """A deposit request through a virtual account or a retail outlet (permintaan deposit
    VA/retail): the reference the agent's payment at the gateway carries, and its amount."""

    reference: str
    agent_id: str
    amount: int
    channel: str  # VA_BCA, VA_BNI, VA_MANDIRI, ALFAMART, INDOMARET, QRIS
    created_at: datetime
    expires_at: datetime | None
    status: str  # OPEN, PAID, EXPIRED, CANCELLED


@dataclass(frozen=True)
class Approval:
    """What the portal answered to "Setujui": approved, already_processed, expired,
    cancelled or not_found, with the portal's own words."""

    ticket_id: str
    outcome: str
    message: str



class OtomaxAdmin(PortalPage):
    """The Otomax web admin as back office uses it."""

    def list_agents(self) -> list[Agent]:
        rows = self.read_all_pages("/agen", "Daftar Agen")
        return [Agent(r["ID Agen"], r["Nama"], r["Telepon"], parse_rupiah(r["Saldo"])) for r in rows]

    def agent(self, agent_id: str) -> Agent | None:
        """One agent as the server knows it (the ID matched exactly), or None."""
        self.open("/agen?" + urlencode({"q": agent_id, "per_page": 100}))
        rows = self.read_table("Daftar Agen")
        found = [r for r in rows if r["ID Agen"] == agent_id]
        return Agent(found[0]["ID Agen"], found[0]["Nama"], found[0]["Telepon"], parse_rupiah(found[0]["Saldo"])) \
            if found else None

    # -- deposit tickets ---------------------------------------------------------------------------
    def tickets(self, *, since: date | None = None, status: str | None = None) -> list[DepositTicket]:
        """Deposit tickets created on or after `since` (WIB date), of one status if given; newest first."""
        params = {"dari": since.isoformat() if since else "", "status": status or ""}
        return self._tickets(params)

    def ticket(self, ticket_id: str) -> DepositTicket | None:
        """One ticket as the portal shows it now, or None when the portal does not know it."""
        return next((t for t in self._tickets({"q": ticket_id}) if t.ticket_id == ticket_id), None)

    def _tickets(self, params: dict[str, str]) -> list[DepositTicket]:
        return self._export("/tiket/unduh", params, TICKET_COLUMNS, lambda r: DepositTicket(
            r["ticket_id"], r["agent_id"], int(r["amount"]), r["bank"].lower(), r["account_no"],
            export_time(r["created_at"]), export_time(r["expires_at"]), r["status"].upper(),
            export_time(r["approved_at"])))

    def approve_ticket(self, ticket_id: str) -> Approval:
        """Click "Setujui" on one ticket, once, and say what the portal answered.

        Raises PortalUnavailable when the answer is lost (dropped connection, timeout): the
        ticket may or may not be approved, so the caller reads the portal instead of guessing.
        """
        self.open("/tiket?" + urlencode({"q": ticket_id, "per_page": 100}))
        listed = [r for r in self.read_table("Tiket Deposit") if r.get("ID Tiket") == ticket_id]
        if not listed:
            return Approval(ticket_id, "not_found", f"Tiket {ticket_id} tidak ada di daftar tiket.")
        status = listed[0]["Status"]
        if status != "OPEN":
            if status not in _APPROVAL_BY_STATUS:
                raise PortalUnavailable(self.key, f"ticket {ticket_id} has an unknown status {status!r}")
            return Approval(ticket_id, _APPROVAL_BY_STATUS[status], f"Status tiket di portal: {status}.")
        with self._guard(f"approving ticket {ticket_id} (outcome unknown)"):
            answer = self._submit(self._row_with(ticket_id).get_by_role("button", name="Setujui"),
                                  f"approving ticket {ticket_id}")
        if answer.heading in _APPROVAL_HEADINGS:
            return Approval(ticket_id, _APPROVAL_HEADINGS[answer.heading], answer.message)
        if 400 <= answer.status < 500:  # any other refusal (an agent it no longer knows, …): its own words
            return Approval(ticket_id, "refused", f"{answer.heading}: {answer.message}")
        raise PortalUnavailable(self.key, f"approving ticket {ticket_id}: unexpected answer "
                                          f"{answer.heading!r} ({answer.message})")

    # -- balance (saldo) ------------------------------------------------------------------------------
    def add_balance(self, agent_id: str, amount: int, note: str) -> int:
        """Add `amount` to an agent's balance by hand, once; returns the new balance.

        Not idempotent on the portal: check `balance_log(note_contains=...)` before calling
        again. Raises ActionRefused when the portal refuses the input (unknown agent, bad
        amount, empty note) and PortalUnavailable when its answer is lost (outcome unknown).
        """
        answer = self._fill_and_submit("/saldo/tambah",
                                       {"ID Agen": agent_id, "Nominal": str(amount), "Keterangan": note},
                                       "Tambah Saldo", f"adding balance to {agent_id}")
        if answer.heading == "Saldo Ditambahkan":
            found = _NEW_BALANCE.search(answer.message)
            if found is None:
                raise PortalUnavailable(self.key, f"balance added, new balance not shown: {answer.message}")
            return parse_rupiah(found.group(1))
        if 400 <= answer.status < 500:
            raise ActionRefused(self.key, f"{answer.heading}: {answer.message}")
        raise PortalUnavailable(self.key, f"adding balance: unexpected answer {answer.heading!r} "
                                          f"({answer.message})")

    def balance_log(self, *, agent_id: str | None = None,
                    note_contains: str | None = None) -> list[BalanceEntry]:
        """Balance log entries, newest first, of one agent and/or whose note contains a text."""
        params = {"agen": agent_id or "", "q": note_contains or ""}
        entries = self._export("/saldo/riwayat/unduh", params, BALANCE_LOG_COLUMNS,
                               lambda r: BalanceEntry(r["agent_id"], int(r["amount"]), r["kind"],
                                                      r["ticket_id"] or None, r["note"],
                                                      export_time(r["created_at"])))
        # the portal's search ignores case; a BOT:<key> marker is matched exactly
        return [e for e in entries if note_contains is None or note_contains in e.note]

    # -- deposit requests through VA / retail -------------------------------------------------------
    def deposit_requests(self, *, since: date | None = None) -> list[DepositRequest]:
        """The "Permintaan Deposit VA/Retail" created on or after `since` (WIB date); newest first."""
        params = {"dari": since.isoformat() if since else ""}
        return self._export("/permintaan-deposit/unduh", params, DEPOSIT_REQUEST_COLUMNS, lambda r: DepositRequest(
            r["reference"], r["agent_id"], int(r["amount"]), r["channel"].upper(), export_time(r["created_at"]),
            export_time(r["expires_at"]), r["status"].upper()))

    # -- the portal's quirks ----------------------------------------------------------------------------
    def _row_with(self, cell: str):
        """The listed row one of whose cells is exactly `cell` (a text match: a role match over
        every row and cell of the listing costs more than the click itself)."""
        return self.page.locator("tbody tr").filter(has=self.page.locator("td").get_by_text(cell, exact=True))

    def _fill_and_submit(self, path: str, fields: dict[str, str], button: str, doing: str) -> Answer:
        """Open a form, fill its labelled fields and press its button once; a lost answer is
        PortalUnavailable "outcome unknown" (the form may have acted)."""
        self.open(path)
        with self._guard(f"{doing} (outcome unknown)"):
            for label, value in fields.items():
                self.page.get_by_label(label, exact=True).fill(value)
            return self._submit(self.page.get_by_role("button", name=button), doing)
