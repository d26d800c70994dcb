"""The people an order waits on, told once (or once a day) through the run's journal.

Each message carries a marker derived from the order (and, for the daily reminder, the day),
so the inbox is searched for it before anything is sent again: a crash, a second host or a
lost store never tells a person twice. No NIK or KK in any message.

- the sales agent, once a day while the customer's registration form is incomplete;
- a back-office person, once, for a device the eSIM list does not know (to check it);
- a back-office person, once, for an order whose refund waits for their confirmation
  (`python -m bots esim confirm-refund ORDER --note …`, or the console's eSIM page when
  `console_url` is set);
- direct sales, once, for each activation GraPARI reports GAGAL, with GraPARI's note;
- finance, once, for an upfront deposit past its 7-working-day deadline.
"""

from __future__ import annotations

from datetime import datetime

from bots.esim.registry import JAKARTA
from bots.esim.rules import DEVICE_UNKNOWN, FORM_INCOMPLETE, Decision, daily_slot


def _rupiah(amount: int) -> str:
    return f"Rp {amount:,}".replace(",", ".")


class People:
    def __init__(self, notify, registry, console_url: str | None = None):
        self.notify, self.registry = notify, registry
        self.console_url = console_url  # set: a confirmation is asked for on the console's eSIM page

    def _tell(self, key: str, marker: str, title: str, body: str) -> bool:
        return self.notify(key, f"[{marker}]", f"[{marker}] {title}", body)

    def about(self, decision: Decision, now: datetime) -> None:
        """What waits on a person after this decision, told."""
        order = decision.order_id
        if decision.code == FORM_INCOMPLETE:
            day = daily_slot(now.astimezone(JAKARTA))
            row = self.registry.order(order)
            self._tell(f"notify:form:{order}:{day}", f"FORMULIR-{order}-{day}",
                       f"Pesanan {order}: formulir registrasi belum lengkap",
                       f"Sales {row.sales_agent}: pelanggan {row.customer_name} sudah membayar pesanan {order}, "
                       "tetapi formulir registrasi digital belum lengkap. Mohon hubungi pelanggan untuk "
                       "melengkapinya (pengingat harian).")
        elif decision.code == DEVICE_UNKNOWN:
            row = self.registry.order(order)
            self._tell(f"notify:device:{order}", f"PERANGKAT-{order}",
                       f"Pesanan {order}: perangkat perlu dicek",
                       f"Perangkat \"{row.device}\" pada pesanan {order} (sales {row.sales_agent}) tidak ada di "
                       "daftar perangkat eSIM. Mohon cek dukungan eSIM-nya; perbaiki nama perangkat di Web "
                       "Indiana atau tambahkan polanya ke esim_devices. Tidak ada refund otomatis.")
        elif decision.needs_confirmation:
            row = self.registry.order(order)
            self._tell(f"notify:confirm:{order}", f"KONFIRMASI-REFUND-{order}",
                       f"Pesanan {order}: {decision.code}, menunggu konfirmasi refund",
                       f"{decision.reason}. Konfirmasikan ke pelanggan {row.customer_name} (juklak langkah 10), "
                       + (f"lalu Konfirmasi refund di konsol: {self.console_url}/esim " if self.console_url else
                          f"lalu: python -m bots esim confirm-refund {order} --note \"...\" ")
                       + f"(refund {_rupiah(row.received)}).")

    def failed_activations(self) -> None:
        for row in self.registry.failed_activations():
            self._tell(f"notify:gagal:{row.order_id}", f"GAGAL-AKTIVASI-{row.order_id}",
                       f"Aktivasi {row.order_id} gagal di GraPARI",
                       f"GraPARI Balaraja melaporkan aktivasi pesanan {row.order_id} (batch {row.batch_id}, sales "
                       f"{row.sales_agent}) GAGAL. Catatan GraPARI: {row.activation_note or '-'}.")

    def deposit_overdue(self, row) -> None:
        due = row.deposit_due_at or row.deposit_due
        self._tell(f"notify:deposit:{row.order_id}", f"SETORAN-TELAT-{row.order_id}",
                   f"Setoran upfront {row.order_id} lewat jatuh tempo",
                   f"Aggregator belum menyetor upfront dan biaya eSIM {_rupiah(row.upfront_amount + row.esim_fee)} "
                   f"ke MSISDN {row.msisdn} (pesanan {row.order_id}); jatuh tempo 7 hari kerja setelah aktivasi: "
                   f"{due:%d/%m/%Y}.")
