"""Page object of the payment gateway's merchant dashboard: VA / retail payments and day totals.

Read only: the bot never changes anything at the gateway. Both reads go through the
dashboard's CSV exports (the transaction list's and the daily summary's), sent with the
logged-in browser context, as for Otomax.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bots.portals.base import PortalPage, export_time

PAYMENT_COLUMNS = ("payment_id", "reference", "channel", "amount", "fee", "status", "created_at", "paid_at",
                   "settled_at")
SUMMARY_COLUMNS = ("date", "status", "count", "amount", "fee", "net")


@dataclass(frozen=True)
class GatewayPayment:
    """One payment at the gateway (VA or retail): what the agent paid (gross) and the gateway's fee."""

    payment_id: str
    reference: str        # the deposit request's reference, as the agent gave it
    channel: str          # VA_BCA, VA_BNI, VA_MANDIRI, ALFAMART, INDOMARET, QRIS
    amount: int           # gross, paid by the agent
    fee: int              # the gateway's fee
    status: str           # PENDING, PAID, SETTLED, EXPIRED, FAILED
    created_at: datetime
    paid_at: datetime | None
    settled_at: datetime | None

    @property
    def net(self) -> int:
        return self.amount - self.fee


@dataclass(frozen=True)
class GatewayTotals:
    """The gateway's own totals of what was paid (PAID + SETTLED) on one day (ringkasan harian)."""

    day: date
    count: int
    amount: int
    fee: int
    net: int


class GatewayPortal(PortalPage):
    """The payment gateway's dashboard as finance reads it."""

    def payments(self, *, since: date | None = None) -> list[GatewayPayment]:
        """Payments of the days (paid, else created; WIB) on or after `since`; newest first."""
        params = {"dari": since.isoformat() if since else ""}
        return self._export("/transaksi/unduh", params, PAYMENT_COLUMNS, lambda r: GatewayPayment(
            r["payment_id"], r["reference"], r["channel"].upper(), int(r["amount"]), int(r["fee"]),
            r["status"].upper(), export_time(r["created_at"]), export_time(r["paid_at"]),
            export_time(r["settled_at"])))

    def day_totals(self, day: date) -> GatewayTotals:
        """The gateway's daily summary for `day`: its count, gross, fee and net of paid payments."""
        rows = self._export("/ringkasan/unduh", {"tanggal": day.isoformat()}, SUMMARY_COLUMNS, lambda r: r)
        paid = next((r for r in rows if r["status"] == "TOTAL_PAID"), None)
        if paid is None:
            return GatewayTotals(day, 0, 0, 0, 0)
        return GatewayTotals(day, int(paid["count"]), int(paid["amount"]), int(paid["fee"]), int(paid["net"]))
