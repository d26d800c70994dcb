"""Page objects of Otomax's web report: the transaction report and the agents' complaints.

Both are read through the report's CSV exports with `OtomaxAdmin`'s download (one request
that shares the admin's login cookie), so the same `otomax` settings and login serve both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bots.portals.otomax import JAKARTA, OtomaxAdmin

TRANSACTION_COLUMNS = ("trx_id", "agent_id", "product", "destination", "price", "supplier",
                       "created_at", "status", "sn")
AGENT_COMPLAINT_COLUMNS = ("complaint_id", "trx_id", "reported_at", "kind", "note")
STATUSES = ("PENDING", "SUKSES", "GAGAL")


@dataclass(frozen=True)
class Transaction:
    """A sale (transaksi) on the transaction server, routed to one supplier."""

    trx_id: str
    agent_id: str
    product: str
    destination: str  # the customer's number (nomor tujuan)
    price: int
    supplier: str     # the supplier's code as the server writes it (portal key supplier_<lower>)
    created_at: datetime
    status: str       # PENDING, SUKSES, GAGAL
    sn: str | None    # as the supplier sent it: a serial, or sometimes error text


@dataclass(frozen=True)
class AgentComplaint:
    """An agent's complaint about a transaction (komplain agen)."""

    complaint_id: str
    trx_id: str
    reported_at: datetime
    kind: str  # PRODUCT_NOT_RECEIVED, WRONG_NUMBER
    note: str


class OtomaxReports(OtomaxAdmin):
    """The Otomax report pages (laporan transaksi, komplain agen) as back office reads them."""

    def transactions(self, status: str | None = None, since: date | None = None,
                     query: str | None = None) -> list[Transaction]:
        """Transactions of one status (if given) created on or after `since` (WIB date), newest first;
        `query` narrows to those whose ID, agent or destination contains it (the report's search)."""
        if status is not None and status.upper() not in STATUSES:
            raise ValueError(f"transaction status must be one of {', '.join(STATUSES)}, not {status!r}")
        params = {"status": (status or "").upper(), "dari": since.isoformat() if since else ""}
        if query:
            params["q"] = query
        return self._export("/transaksi/unduh", params, TRANSACTION_COLUMNS, lambda r: Transaction(
            r["trx_id"], r["agent_id"], r["product"], r["destination"], int(r["price"]), r["supplier"],
            _moment(r["created_at"]), r["status"].upper(), r["sn"] or None))

    def agent_complaints(self) -> list[AgentComplaint]:
        """Every complaint agents reported, newest first."""
        return self._export("/komplain-agen/unduh", {}, AGENT_COMPLAINT_COLUMNS, lambda r: AgentComplaint(
            r["complaint_id"], r["trx_id"], _moment(r["reported_at"]), r["kind"].upper(), r["note"]))


def _moment(text: str) -> datetime:
    """ISO 8601 from the report; WIB when no offset is written."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=JAKARTA)
