"""Page objects of an upstream supplier's (H2H) portal: transaction status and complaints.

Every supplier speaks its own status words; `normalise_status` maps them onto the
transaction server's SUKSES / PENDING / GAGAL and refuses a word it does not know rather
than guess. The SN field is not always a serial number (APIGames writes
`error_require_login` there, others a reason or "-"): `real_sn` tells the two apart.

Reads go through the portal's CSV exports, fetched with the browser context's request API
so they share its login cookie. A complaint is a click on the portal's form and is never
repeated here: the portal records every POST as a new complaint, so when the answer is lost
the caller reads `complaints()` for its reference before sending again (DESIGN §5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, TypeVar
from zoneinfo import ZoneInfo

from bots.errors import ActionRefused, InputFileError, PortalUnavailable, SessionExpired
from bots.portals.base import PortalPage

JAKARTA = ZoneInfo("Asia/Jakarta")
T = TypeVar("T")

# Words suppliers use, upper-cased → the server's status (DOMAIN §2). Sources: Digiflazz
# (Success/Processing/Failed), text replies (BERHASIL/GAGAL), APIGames (Validasi Provider).
_STATUSES = {
    "SUKSES": "SUKSES", "SUCCESS": "SUKSES", "BERHASIL": "SUKSES", "OK": "SUKSES",
    "PENDING": "PENDING", "PROSES": "PENDING", "DIPROSES": "PENDING", "PROCESSING": "PENDING",
    "MENUNGGU": "PENDING", "VALIDASI PROVIDER": "PENDING",
    "GAGAL": "GAGAL", "FAILED": "GAGAL", "FAIL": "GAGAL", "DIBATALKAN": "GAGAL", "REFUND": "GAGAL",
}
# Words that make an SN field an error message, however serial-like it looks.
_ERROR_WORDS = re.compile(r"error|gagal|salah|fail|invalid|pending|proses|tidak|belum", re.I)
_SERIAL = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")  # PLN tokens come in dash groups
_SN_PREFIX = re.compile(r"^SN\s*[:=]\s*", re.I)  # "SN:0144…", as in Digiflazz's callback text
_PLACEHOLDERS = {"", "-"}
_LEVELS = {"normal": "Normal", "hard": "Keras"}  # ours → the form's option label
_LEVEL_WORDS = {"normal": "normal", "keras": "hard", "hard": "hard"}

STATUS_COLUMNS = ("trx_id", "product", "destination", "status", "sn", "updated_at")
HISTORY_COLUMNS = ("reference", "trx_id", "level", "message", "created_at", "reply")


def normalise_status(raw: str) -> str:
    """A supplier's status word → "SUKSES", "PENDING" or "GAGAL"; ValueError when unknown."""
    word = " ".join(raw.split()).upper()
    if word not in _STATUSES:
        raise ValueError(f"unknown supplier status {raw!r}")
    return _STATUSES[word]


def real_sn(text: str | None) -> str | None:
    """The serial number in an SN field, or None when it holds error text or nothing.

    A serial is letters and digits without spaces (dash-grouped tokens allowed), at least 8
    long, with a digit, and no error word: "0144700123456789" yes, "error_require_login",
    "Nomor tujuan salah", "-" no.
    """
    candidate = _SN_PREFIX.sub("", (text or "").strip())
    if (len(candidate) >= 8 and _SERIAL.fullmatch(candidate) and any(c.isdigit() for c in candidate)
            and not _ERROR_WORDS.search(candidate)):
        return candidate
    return None


_REPLY_SN = re.compile(r"\bSN\s*[:=]?\s*([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)", re.I)


def sn_in_reply(text: str | None) -> str | None:
    """A real serial number the supplier gives in a complaint reply ("Sudah sukses SN 0144…"), or None."""
    for found in _REPLY_SN.finditer(text or ""):
        sn = real_sn(found.group(1))
        if sn:
            return sn
    return None


@dataclass(frozen=True)
class SupplierStatus:
    """A transaction as the supplier sees it (status in our words, the supplier's beside it)."""

    trx_id: str
    status: str      # SUKSES, PENDING or GAGAL
    raw_status: str  # the supplier's own word: Sukses, PENDING, BERHASIL…
    sn: str | None   # a real serial only
    note: str        # what the supplier says besides: error text of the SN field, remarks
    updated_at: datetime | None  # None when read from the status page, which does not show it


@dataclass(frozen=True)
class SupplierComplaint:
    """A complaint (komplain) sent to the supplier, with the supplier's reply (balasan)."""

    reference: str
    trx_id: str
    level: str  # normal, hard
    message: str
    created_at: datetime
    reply: str


def _status(trx_id: str, raw: str, sn_field: str, remark: str, updated_at) -> SupplierStatus:
    sn = real_sn(sn_field)
    said = "" if sn or sn_field.strip() in _PLACEHOLDERS else sn_field.strip()
    note = " — ".join(t for t in (said, remark.strip()) if t)
    return SupplierStatus(trx_id, normalise_status(raw), raw.strip(), sn, note, updated_at)


class SupplierPortal(PortalPage):
    """A supplier's portal as back office uses it: check a status, complain, read replies."""

    def statuses(self) -> dict[str, SupplierStatus]:
        """Every transaction the supplier lists for us, by transaction ID, from one export."""
        found = self._export("/transaksi/unduh", STATUS_COLUMNS, lambda r: _status(
            r["trx_id"], r["status"], r["sn"], "", _time(r["updated_at"])))
        return {s.trx_id: s for s in found}

    def status(self, trx_id: str) -> SupplierStatus | None:
        """One transaction from the status page (Cek Status), or None when the supplier has none."""

        def look_up() -> list[dict[str, str]]:
            self.visit("/status")
            with self._guard(f"checking the status of {trx_id}"):
                self.page.get_by_label("ID Transaksi", exact=True).fill(trx_id)
                with self.page.expect_navigation() as navigation:
                    self.page.get_by_role("button", name="Cek Status").click()
                self._check_answer(navigation.value, f"status of {trx_id}")
                if self._on_login_form():
                    raise SessionExpired(self.key, f"sent to the login page checking {trx_id}")
                if self.page.get_by_role("table", name="Status Transaksi").count() == 0:
                    return []
            return self.read_table("Status Transaksi")

        rows = [r for r in self.retrying(f"checking the status of {trx_id}", look_up)
                if r.get("ID Transaksi") == trx_id]
        if not rows:
            return None
        row = rows[0]
        try:
            return _status(trx_id, row["Status"], row["SN"], row["Keterangan"], None)
        except (KeyError, ValueError) as exc:
            raise InputFileError(f"{self.key} /status", f"unreadable status of {trx_id}: {exc}") from None

    def complaints(self) -> list[SupplierComplaint]:
        """Every complaint sent to this supplier, newest first, with its current reply."""
        return self._export("/komplain/riwayat/unduh", HISTORY_COLUMNS, lambda r: SupplierComplaint(
            r["reference"], r["trx_id"], _LEVEL_WORDS[r["level"].strip().lower()], r["message"],
            _time(r["created_at"]), r["reply"]))

    def send_complaint(self, trx_id: str, level: str, message: str, reference: str) -> None:
        """Send one complaint (level "normal" or "hard"), once.

        Raises ActionRefused when the portal refuses it (unknown transaction, bad input) and
        PortalUnavailable when its answer is lost: the outcome is unknown, so the caller
        looks for `reference` in `complaints()` instead of sending again.
        """
        if level not in _LEVELS:
            raise ActionRefused(self.key, f"complaint level must be normal or hard, not {level!r}")
        self.open("/komplain")
        doing = f"complaining about {trx_id} ({reference}, outcome unknown)"
        with self._guard(doing):
            self.page.get_by_label("ID Transaksi", exact=True).fill(trx_id)
            self.page.get_by_label("Jenis Komplain", exact=True).select_option(label=_LEVELS[level])
            self.page.get_by_label("Pesan", exact=True).fill(message)
            self.page.get_by_label("Referensi", exact=True).fill(reference)
            with self.page.expect_navigation() as navigation:
                self.page.get_by_role("button", name="Kirim Komplain").click()
            response = navigation.value
            if response is None or self.page.url.startswith("chrome-error:"):
                raise PortalUnavailable(self.key, f"{doing}: the connection was lost")
            self._check_answer(response, doing)
            heading = self.heading()
            alert = self.page.get_by_role("alert")
            said = alert.first.inner_text().strip() if alert.count() else ""
        if heading == "Komplain Terkirim":
            return
        if heading == "Permintaan ditolak":  # the form's token outlived its session: nothing sent
            self.logged_in = False
            raise SessionExpired(self.key, f"complaint about {trx_id} refused, the session ended")
        if 400 <= response.status < 500:
            raise ActionRefused(self.key, f"{heading}: {said}")
        raise PortalUnavailable(self.key, f"{doing}: unexpected answer {heading!r} ({said})")

    # -- the portal's quirks ----------------------------------------------------------------------

    def _export(self, path: str, columns: tuple[str, ...], build: Callable[[dict[str, str]], T]) -> list[T]:
        if not self.logged_in:
            self.open("/")
        return super()._export(path, {}, columns, build)


def _time(text: str | None) -> datetime | None:
    """ISO 8601 from an export; WIB when no offset is written."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=JAKARTA)
