"""Page objects of the transaction server's web admin (Otomax-style): agents, tickets, saldo.

Reads go through the admin's CSV exports — one request instead of a page at a time — sent
with the browser context's own request API, so they share its login cookie. Changes (approve
a deposit ticket, add balance by hand) are clicks on the admin's own forms and are never
repeated here: when the answer to a click is lost, `PortalUnavailable` says "outcome unknown"
and the caller reads the portal to learn what happened (DESIGN §5), because a repeated manual
balance add credits the agent twice.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, TypeVar
from urllib.parse import urlencode, urlparse
from zoneinfo import ZoneInfo

from bots.errors import InputFileError, PortalUnavailable, SessionExpired
from bots.portals.base import PortalPage
from bots.portals.parse import parse_rupiah

JAKARTA = ZoneInfo("Asia/Jakarta")
T = TypeVar("T")

TICKET_COLUMNS = ("ticket_id", "agent_id", "amount", "bank", "account_no", "created_at",
                  "expires_at", "status", "approved_at")
BALANCE_LOG_COLUMNS = ("agent_id", "amount", "kind", "ticket_id", "note", "created_at")

# The answer page's heading after "Setujui" → what happened to the ticket.
_APPROVAL_HEADINGS = {"Tiket Disetujui": "approved", "Tiket Sudah Diproses": "already_processed",
                      "Tiket Kedaluwarsa": "expired", "Tiket Dibatalkan": "cancelled",
                      "Tiket Tidak Ditemukan": "not_found"}
# A ticket the list already shows as not OPEN has no "Setujui" button: its status says why.
_APPROVAL_BY_STATUS = {"APPROVED": "already_processed", "EXPIRED": "expired",
                       "CANCELLED": "cancelled"}
_NEW_BALANCE = re.compile(r"Saldo baru:\s*(-?Rp\s*[\d.]+)")
# The heading the framework shows when a form's token is refused: the session ended.
_FORM_REFUSED = "Permintaan ditolak"


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
class Approval:
    """What the portal answered to "Setujui": approved, already_processed, expired,
    cancelled or not_found, with the portal's own words."""

    ticket_id: str
    outcome: str
    message: str


@dataclass(frozen=True)
class _Answer:
    status: int
    heading: str
    message: str


class OtomaxAdmin(PortalPage):
    """The Otomax web admin as back office uses it."""

    def list_agents(self) -> list[Agent]:
        rows = self.read_all_pages("/agen", "Daftar Agen")
        return [Agent(r["ID Agen"], r["Nama"], r["Telepon"], parse_rupiah(r["Saldo"])) for r in rows]

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
            _time(r["created_at"]), _time(r["expires_at"]), r["status"].upper(),
            _time(r["approved_at"])))

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
            row = self.page.get_by_role("row").filter(
                has=self.page.get_by_role("cell", name=ticket_id, exact=True))
            answer = self._submit(row.get_by_role("button", name="Setujui"),
                                  f"approving ticket {ticket_id}")
        if answer.heading in _APPROVAL_HEADINGS:
            return Approval(ticket_id, _APPROVAL_HEADINGS[answer.heading], answer.message)
        raise PortalUnavailable(self.key, f"approving ticket {ticket_id}: unexpected answer "
                                          f"{answer.heading!r} ({answer.message})")

    # -- balance (saldo) ------------------------------------------------------------------------------
    def add_balance(self, agent_id: str, amount: int, note: str) -> int:
        """Add `amount` to an agent's balance by hand, once; returns the new balance.

        Not idempotent on the portal: check `balance_log(note_contains=...)` before calling
        again. Raises ValueError when the portal refuses the input (unknown agent, bad amount,
        empty note) and PortalUnavailable when its answer is lost (outcome unknown).
        """
        self.open("/saldo/tambah")
        with self._guard(f"adding balance to {agent_id} (outcome unknown)"):
            self.page.get_by_label("ID Agen", exact=True).fill(agent_id)
            self.page.get_by_label("Nominal", exact=True).fill(str(amount))
            self.page.get_by_label("Keterangan", exact=True).fill(note)
            answer = self._submit(self.page.get_by_role("button", name="Tambah Saldo"),
                                  f"adding balance to {agent_id}")
        if answer.heading == "Saldo Ditambahkan":
            found = _NEW_BALANCE.search(answer.message)
            if found is None:
                raise PortalUnavailable(self.key, f"balance added, new balance not shown: {answer.message}")
            return parse_rupiah(found.group(1))
        if 400 <= answer.status < 500:
            raise ValueError(f"{answer.heading}: {answer.message}")
        raise PortalUnavailable(self.key, f"adding balance: unexpected answer {answer.heading!r} "
                                          f"({answer.message})")

    def balance_log(self, *, agent_id: str | None = None,
                    note_contains: str | None = None) -> list[BalanceEntry]:
        """Balance log entries, newest first, of one agent and/or whose note contains a text."""
        params = {"agen": agent_id or "", "q": note_contains or ""}
        entries = self._export("/saldo/riwayat/unduh", params, BALANCE_LOG_COLUMNS,
                               lambda r: BalanceEntry(r["agent_id"], int(r["amount"]), r["kind"],
                                                      r["ticket_id"] or None, r["note"],
                                                      _time(r["created_at"])))
        # the portal's search ignores case; a BOT:<key> marker is matched exactly
        return [e for e in entries if note_contains is None or note_contains in e.note]

    # -- the portal's quirks ----------------------------------------------------------------------------
    def _submit(self, button, doing: str) -> _Answer:
        """Click a form's button once; returns the answer page's status, heading and message."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            with self.page.expect_navigation() as navigation:
                button.click()
            response = navigation.value
        except PlaywrightError:
            # Chromium shows its error page a moment after the failure is reported; a page
            # opened before that would be interrupted by it, so let it arrive first.
            try:
                self.page.wait_for_url(lambda url: url.startswith("chrome-error:"),
                                       wait_until="commit", timeout=2000)
            except PlaywrightError:
                pass
            raise
        if response is None or self.page.url.startswith("chrome-error:"):
            raise PortalUnavailable(self.key, f"{doing}: the connection was lost (outcome unknown)")
        self._check_answer(response, doing)
        heading = self.heading()
        alert = self.page.get_by_role("alert")
        message = alert.first.inner_text().strip() if alert.count() else ""
        if heading == _FORM_REFUSED:
            # the form's token belonged to a session that ended: the portal did nothing
            self.logged_in = False
            raise SessionExpired(self.key, f"{doing}: form refused, the session ended ({message})")
        return _Answer(response.status, heading, message)

    def _export(self, export: str, params: dict[str, str], columns: tuple[str, ...],
                build: Callable[[dict[str, str]], T]) -> list[T]:
        """Rows of one of the admin's CSV exports, fetched with the logged-in browser context.

        The request shares the context's login cookie, so no page is opened unless we must log
        in (again): a page load costs ~20× the export itself.
        """
        query = {k: v for k, v in params.items() if v}
        url = self.settings.url + export + (f"?{urlencode(query)}" if query else "")

        def fetch() -> str:
            if not self.logged_in:
                self.login()  # not open(): its own retries inside these would multiply them
            with self._guard(f"downloading {export}"):
                answer = self.page.context.request.get(url, timeout=self.browser.settings.timeout_ms)
                status, kind, final = answer.status, answer.headers.get("content-type", ""), answer.url
                body = answer.text()
                answer.dispose()
            if status >= 500:
                raise PortalUnavailable(self.key, f"{export}: the portal answered {status}")
            if not kind.startswith("text/csv"):
                if urlparse(final).path.endswith("/login"):
                    raise SessionExpired(self.key, f"sent to the login page instead of {export}")
                raise PortalUnavailable(self.key, f"{export}: expected a CSV, got {status} {kind}")
            return body

        text = self.retrying(f"downloading {export}", fetch)
        return _read_export(text, f"{self.key} {export}", columns, build)


def _read_export(text: str, source: str, columns: tuple[str, ...],
                 build: Callable[[dict[str, str]], T]) -> list[T]:
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise InputFileError(source, f"the export lacks column(s) {', '.join(missing)}", line=1)
    rows = []
    for row in reader:
        try:
            rows.append(build(row))
        except (TypeError, ValueError) as exc:
            raise InputFileError(source, f"unreadable row: {exc}", line=reader.line_num) from None
    return rows


def _time(text: str | None) -> datetime | None:
    """ISO 8601 from the export; the admin's times are WIB when no offset is written."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=JAKARTA)
