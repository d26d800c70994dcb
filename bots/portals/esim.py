"""Page objects of the Halo eSIM portals: Web Indiana, the aggregator, Dukcapil and ISMARA.

NIK and KK pass through here because the process needs them; the dataclasses keep them out
of their `repr` (reprs end up in logs), and nothing here logs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from bots.errors import ActionRefused, PortalUnavailable
from bots.portals.base import PortalPage, export_time
from bots.portals.parse import parse_rupiah


@dataclass(frozen=True)
class EsimOrder:
    """A PSB Halo eSIM order as Web Indiana shows it."""

    order_id: str
    submitted_at: datetime
    sales_agent: str
    customer_name: str
    nik: str = field(repr=False)
    kk: str = field(repr=False)
    phone: str = field(repr=False)
    email: str = field(repr=False)
    device: str = ""
    package: str = ""
    upfront_amount: int = 0
    esim_fee: int = 0
    payment_method: str = ""
    form_completed: bool = False


@dataclass(frozen=True)
class Payment:
    order_id: str
    amount: int
    paid_at: datetime
    channel: str


@dataclass(frozen=True)
class Deposit:
    """The aggregator's deposit (setoran) of an order's upfront and eSIM fee into its MSISDN."""

    order_id: str
    msisdn: str
    amount: int
    deposited_at: datetime
    reference: str


@dataclass(frozen=True)
class RefundRequest:
    order_id: str
    amount: int
    reason: str
    reference: str
    created_at: datetime


@dataclass(frozen=True)
class CitizenRecord:
    """What Dukcapil holds for a NIK."""

    nik: str = field(repr=False)
    kk: str = field(repr=False)
    name: str = ""


class IndianaPortal(PortalPage):
    def orders(self, since: date | None = None) -> list[EsimOrder]:
        return self._export("/pesanan/unduh", {"since": since.isoformat() if since else ""}, (
            "order_id", "submitted_at", "nik", "kk", "upfront_amount", "esim_fee", "form_completed"), lambda r: EsimOrder(
            r["order_id"], export_time(r["submitted_at"]), r["sales_agent"], r["customer_name"], r["nik"], r["kk"],
            r["phone"], r["email"], r["device"], r["package"], int(r["upfront_amount"]), int(r["esim_fee"]),
            r["payment_method"], r["form_completed"].strip().lower() in ("ya", "yes", "true", "1")))


class AggregatorPortal(PortalPage):
    def payments(self) -> list[Payment]:
        return self._export("/pembayaran/unduh", {}, ("order_id", "amount", "paid_at", "channel"), lambda r: Payment(
            r["order_id"], int(r["amount"]), export_time(r["paid_at"]), r["channel"]))

    def deposits(self) -> list[Deposit]:
        """Every deposit (setoran) the aggregator made into an activated MSISDN."""
        return self._export("/setoran/unduh", {}, ("order_id", "amount", "deposited_at"), lambda r: Deposit(
            r["order_id"], r.get("msisdn") or "", int(r["amount"]), export_time(r["deposited_at"]),
            r.get("reference") or ""))

    def refund_requests(self) -> list[RefundRequest]:
        return self._export("/refund/unduh", {}, ("order_id", "amount", "reason", "reference", "created_at"),
                            lambda r: RefundRequest(r["order_id"], int(r["amount"]), r["reason"], r["reference"],
                                                    export_time(r["created_at"])))

    def request_refund(self, order_id: str, amount: int, reason: str, reference: str) -> None:
        """Fill in and send the refund form once (never retried: the caller checks the list)."""
        self.open("/refund/ajukan")
        with self._guard("filling in the refund form"):
            self.page.get_by_label("ID Pesanan").fill(order_id)
            self.page.get_by_label("Nominal").fill(str(amount))
            self.page.get_by_label("Alasan").fill(reason)
            self.page.get_by_label("Referensi").fill(reference)
        with self._guard("requesting a refund (outcome unknown)"):  # a lost answer: the caller reads the list
            answer = self._submit(self.page.get_by_role("button", name="Ajukan Refund"), "requesting a refund")
        if answer.heading == "Refund Diajukan":
            return
        if 400 <= answer.status < 500:
            raise ActionRefused(self.key, f"{answer.heading}: {answer.message}")
        raise PortalUnavailable(self.key, f"requesting a refund: unexpected answer {answer.heading!r} ({answer.message})")


# a result table of label/value rows, read in one round trip
_ROWS = "t => JSON.stringify([...t.rows].map(r => [r.cells[0].innerText.trim(), r.cells[1].innerText.trim()]))"


class _Lookup(PortalPage):
    """A one-field NIK lookup: fill, send, read the result heading and table."""

    button = ""

    def _look_up(self, nik: str) -> tuple[str, dict[str, str]]:
        def step():
            with self._guard("finding the lookup form"):
                on_form = self.logged_in and self.page.get_by_label("NIK", exact=True).count() > 0
            if not on_form:  # the answer page carries the form again: no page load per NIK
                self.open("/")
            with self._guard("looking up a NIK"):
                self.page.get_by_label("NIK", exact=True).fill(nik)
            with self._guard("looking up a NIK"):  # a lookup changes nothing: retried
                self._submit(self.page.get_by_role("button", name=self.button), "looking up a NIK")
            with self._guard("reading the result"):
                result = self.page.get_by_role("heading", level=2)
                heading = result.first.inner_text().strip() if result.count() else ""
                table = self.page.get_by_role("table")
                rows = dict(json.loads(table.first.evaluate(_ROWS))) if table.count() else {}
            return heading, rows

        return self.retrying("looking up a NIK", step)



class DukcapilPortal(_Lookup):
    button = "Cek"

    def lookup(self, nik: str) -> CitizenRecord | None:
        heading, rows = self._look_up(nik)
        if heading == "Data Tidak Ditemukan":
            return None
        if heading != "Data Ditemukan":
            raise PortalUnavailable(self.key, f"unexpected answer to a NIK lookup: {heading}")
        return CitizenRecord(rows.get("NIK", ""), rows.get("No. KK", ""), rows.get("Nama", ""))


class IsmaraPortal(_Lookup):
    button = "Cek Tunggakan"

    def outstanding(self, nik: str) -> int:
        heading, rows = self._look_up(nik)
        if heading not in ("Ada Tunggakan", "Tidak Ada Tunggakan"):
            raise PortalUnavailable(self.key, f"unexpected answer to an arrears check: {heading}")
        return parse_rupiah(rows.get("Tunggakan", "Rp 0"))
