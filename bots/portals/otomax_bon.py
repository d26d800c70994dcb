"""Page objects of Otomax's "Bon / TOP" pages: bon requests, agents' bons, repayments.

Reads go through the pages' CSV exports (as the ticket list does); changes are clicks on the
admin's own buttons and forms, never repeated here. "Tembak Saldo" on a request the server
already processed is answered "Bon Sudah Diproses" and changes nothing; "Catat Pelunasan" is
not idempotent (check `bon_payments(note_contains=marker)` first). A lost answer raises
PortalUnavailable ("outcome unknown"): the caller reads the portal to learn what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, urlencode

from bots.errors import ActionRefused, PortalUnavailable
from bots.portals.base import export_time
from bots.portals.otomax import OtomaxAdmin

REQUEST_COLUMNS = ("request_id", "agent_id", "amount", "requested_at", "status", "granted_at", "note")
BON_COLUMNS = ("bon_id", "agent_id", "amount", "repaid", "outstanding", "granted_at")
PAYMENT_COLUMNS = ("bon_id", "amount", "ticket_id", "note", "created_at")

# The answer page's heading after "Tembak Saldo" / "Tolak" → what happened to the request.
_GRANT_HEADINGS = {"Saldo Bon Ditembak": "granted", "Bon Ditolak": "refused_by_person",
                   "Bon Sudah Diproses": "already_processed", "Permintaan Tidak Ditemukan": "not_found"}


@dataclass(frozen=True)
class BonRequest:
    """An agent's request for saldo on credit (permintaan bon / TOP)."""

    request_id: str
    agent_id: str
    amount: int
    requested_at: datetime
    status: str  # PENDING, GRANTED, REFUSED
    granted_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class Bon:
    """A bon on the books: saldo given on credit, and how much of it was paid back."""

    bon_id: str
    agent_id: str
    amount: int
    repaid: int
    granted_at: datetime

    @property
    def outstanding(self) -> int:
        return self.amount - self.repaid


@dataclass(frozen=True)
class BonPayment:
    """One repayment of a bon (a BON ticket approved, or finance's "Catat Pelunasan")."""

    bon_id: str
    amount: int
    ticket_id: str | None
    note: str
    created_at: datetime


@dataclass(frozen=True)
class BonAnswer:
    """What the portal answered to "Tembak Saldo" or "Tolak", with its own words."""

    request_id: str
    outcome: str  # granted, refused_by_person, already_processed, not_found, refused
    message: str


class OtomaxBon(OtomaxAdmin):
    """The Otomax web admin's Bon / TOP pages as the supervisor and finance use them."""

    # -- reading ---------------------------------------------------------------------------------
    def bon_requests(self, *, status: str | None = None, since: date | None = None,
                     query: str | None = None) -> list[BonRequest]:
        """Bon requests (of one status, requested on or after `since`), newest first."""
        params = {"status": status or "", "dari": since.isoformat() if since else "", "q": query or ""}
        return self._export("/bon/unduh", params, REQUEST_COLUMNS, lambda r: BonRequest(
            r["request_id"], r["agent_id"], int(r["amount"]), export_time(r["requested_at"]),
            r["status"].upper() or "PENDING", export_time(r["granted_at"]), r["note"]))

    def bon_request(self, request_id: str) -> BonRequest | None:
        return next((r for r in self.bon_requests(query=request_id) if r.request_id == request_id), None)

    def bons(self, *, agent_id: str | None = None) -> list[Bon]:
        """Every bon on the books (of one agent), oldest first; repaid ones too."""
        return self._export("/bon/agen/unduh", {"agen": agent_id or ""}, BON_COLUMNS, lambda r: Bon(
            r["bon_id"], r["agent_id"], int(r["amount"]), int(r["repaid"] or 0), export_time(r["granted_at"])))

    def bon_payments(self, *, bon_id: str | None = None, note_contains: str | None = None) -> list[BonPayment]:
        """Repayments, newest first (of one bon; whose note contains a text, matched exactly)."""
        rows = self._export("/bon/pelunasan/riwayat/unduh", {"bon": bon_id or "", "q": note_contains or ""},
                            PAYMENT_COLUMNS, lambda r: BonPayment(r["bon_id"], int(r["amount"]),
                                                                  r["ticket_id"] or None, r["note"],
                                                                  export_time(r["created_at"])))
        return [p for p in rows if note_contains is None or note_contains in p.note]

    # -- changing --------------------------------------------------------------------------------
    def grant_bon(self, request_id: str) -> BonAnswer:
        """Click "Tembak Saldo" on one request, once (credits the agent), and say what the portal answered."""
        row = self._request_row(request_id)
        if isinstance(row, BonAnswer):
            return row
        with self._guard(f"granting bon {request_id} (outcome unknown)"):
            answer = self._submit(row.get_by_role("button", name="Tembak Saldo"), f"granting bon {request_id}")
        return self._answer(request_id, answer, "granting")

    def refuse_bon(self, request_id: str, note: str) -> BonAnswer:
        """"Tolak" one request with a note (nothing is credited)."""
        row = self._request_row(request_id)
        if isinstance(row, BonAnswer):
            return row
        self.open(f"/bon/{quote(request_id, safe='')}/tolak")
        with self._guard(f"refusing bon {request_id}"):
            self.page.get_by_label("Catatan", exact=True).fill(note)
            answer = self._submit(self.page.get_by_role("button", name="Tolak"), f"refusing bon {request_id}")
        return self._answer(request_id, answer, "refusing")

    def record_repayment(self, bon_id: str, amount: int, note: str) -> str:
        """"Catat Pelunasan": add `amount` to a bon's repaid, once; returns the portal's words.

        Not idempotent on the portal: check `bon_payments(note_contains=...)` before calling
        again. ActionRefused when the portal refuses (unknown bon, more than outstanding)."""
        answer = self._fill_and_submit("/bon/pelunasan", {"ID Bon": bon_id, "Nominal": str(amount), "Keterangan": note},
                                       "Catat Pelunasan", f"recording a repayment of {bon_id}")
        if answer.heading == "Pelunasan Dicatat":
            return answer.message
        if 400 <= answer.status < 500:
            raise ActionRefused(self.key, f"{answer.heading}: {answer.message}")
        raise PortalUnavailable(self.key, f"recording a repayment: unexpected answer {answer.heading!r}")

    # -- the portal's quirks -----------------------------------------------------------------------
    def _request_row(self, request_id: str):
        """The request's row in the list (its buttons), or the answer when it has none."""
        self.open("/bon?" + urlencode({"q": request_id, "per_page": 100}))
        listed = [r for r in self.read_table("Permintaan Bon") if r.get("ID Permintaan") == request_id]
        if not listed:
            return BonAnswer(request_id, "not_found", f"Permintaan bon {request_id} tidak ada di daftar.")
        if listed[0]["Status"] != "PENDING":
            return BonAnswer(request_id, "already_processed", f"Status permintaan di portal: {listed[0]['Status']}.")
        return self._row_with(request_id)

    def _answer(self, request_id: str, answer, doing: str) -> BonAnswer:
        if answer.heading in _GRANT_HEADINGS:
            return BonAnswer(request_id, _GRANT_HEADINGS[answer.heading], answer.message)
        if 400 <= answer.status < 500:
            return BonAnswer(request_id, "refused", f"{answer.heading}: {answer.message}")
        raise PortalUnavailable(self.key, f"{doing} bon {request_id}: unexpected answer {answer.heading!r}")
