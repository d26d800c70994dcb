"""Page objects of the banks' internet banking: the account list and statement (mutasi) downloads.

The four banks (`bank_bca`, `bank_mandiri`, `bank_bri`, `bank_bni`) look alike to a person:
an account list, and a "Mutasi Rekening" form with the account, a period, an export format
and an "Unduh" button that sends the file in the bank's own format. The file is returned as
downloaded, bytes untouched: reading it is the parsers' job (`bots.parsers.parse_statement`).

Quirks handled here:
- a bank allows one session per user: our login ends a staff member's (and theirs ends
  ours, which `open` notices and answers by logging in again);
- a statement covers at most 31 days, so longer periods are downloaded in chunks;
- a refused request (bad period, unknown account) answers with the form page and a message
  instead of a file; that is reported with the bank's own words, and not retried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bots.errors import PortalUnavailable, SessionExpired
from bots.portals.base import PortalPage
from bots.portals.parse import parse_rupiah

_SHOWN_AT = re.compile(r"(?:Saldo per|per tanggal|Balance as of)\s+(\d{2}/\d{2}/\d{4} \d{2}:\d{2})", re.I)
JAKARTA = ZoneInfo("Asia/Jakarta")
MAX_DAYS = 31  # the longest period one statement may cover (every bank we use limits it so)
_OPTION_VALUES = "select => [...select.options].map(option => option.value)"


@dataclass(frozen=True)
class BankAccount:
    """One of the company's accounts (rekening) as the bank lists it, with its saldo now."""

    account_no: str
    holder: str
    balance: int


@dataclass(frozen=True)
class StatementDownload:
    """One downloaded statement export (mutasi rekening), bytes exactly as the bank sent them."""

    account_no: str
    file_name: str
    data: bytes
    fmt: str


@dataclass(frozen=True)
class _Refusal:
    """The bank answered the form with a message instead of a file."""

    message: str


class BankPortal(PortalPage):
    """A bank's internet banking, as finance uses it to fetch statements."""

    #: the export format asked for when the caller names none, per portal key
    FORMATS = {"bank_bca": "bca-individual", "bank_mandiri": "mandiri-mcm",
               "bank_bri": "bri-cms", "bank_bni": "bni"}

    #: the bank's own time, as the account list shows it ("Saldo per 23/11/2026 12:00 WIB")
    shown_at: datetime | None = None

    one_session_per_user = True  # a second login ends the first (bots.lock.login_lock keeps it ours)

    def accounts(self) -> list[BankAccount]:
        """The accounts on the "Daftar Rekening" page, with their balance (saldo) now; the
        time the page states its balances at is kept in `shown_at` (the bank's clock)."""
        rows = self.read_all_pages("/", "Daftar Rekening")
        with self._guard("reading the time of the balances"):
            text = self.page.evaluate("() => document.body.innerText")
        found = _SHOWN_AT.search(text or "")
        self.shown_at = (datetime.strptime(found[1], "%d/%m/%Y %H:%M").replace(tzinfo=JAKARTA)
                         if found else None)
        return [BankAccount(r["No. Rekening"], r["Nama Pemilik"], parse_rupiah(r["Saldo"]))
                for r in rows]

    def download_statements(self, account_no: str, start: date, end: date,
                            fmt: str | None = None) -> list[StatementDownload]:
        """The statement of `start`..`end` (inclusive), one download per ≤31-day chunk, oldest first."""
        if end < start:
            raise ValueError(f"the period ends ({end}) before it starts ({start})")
        downloads = []
        while start <= end:
            last = min(end, start + timedelta(days=MAX_DAYS - 1))
            downloads.append(self.download_statement(account_no, start, last, fmt))
            start = last + timedelta(days=1)
        return downloads

    def download_statement(self, account_no: str, start: date, end: date,
                           fmt: str | None = None) -> StatementDownload:
        """Fill in the mutasi form and click "Unduh": the export of one period of ≤31 days.

        Raises PortalUnavailable when the portal stays down after retries, or — not retried —
        when it refuses the request, with its own message (a period too long, an account
        that is not ours, a format it does not offer).
        """
        fmt = fmt or self.FORMATS[self.key]
        doing = f"downloading the statement of {account_no} ({start}..{end}, {fmt})"

        def attempt() -> StatementDownload | _Refusal:
            self.visit("/mutasi")
            with self._guard(doing):
                page = self.page
                for label, value in (("Rekening", account_no), ("Format", fmt)):
                    # select_option would wait its whole timeout for a choice that is not there
                    offered = page.get_by_label(label, exact=True).evaluate(_OPTION_VALUES)
                    if value not in offered:
                        return _Refusal(f"{label} {value} is not offered (only {', '.join(offered)})")
                    page.get_by_label(label, exact=True).select_option(value)
                page.get_by_label("Dari tanggal", exact=True).fill(start.isoformat())
                page.get_by_label("Sampai tanggal", exact=True).fill(end.isoformat())
                return self._click_download(account_no, fmt, doing)

        answer = self.retrying(doing, attempt)
        if isinstance(answer, _Refusal):
            raise PortalUnavailable(self.key, f"{doing}: the bank refused: {answer.message}")
        return answer

    # -- the portal's quirks ----------------------------------------------------------------
    def _click_download(self, account_no: str, fmt: str, doing: str) -> StatementDownload | _Refusal:
        """Click "Unduh"; the answer is a file, or a page (a refusal, the login form, an error)."""
        page = self.page

        def final_answer(response) -> bool:  # the click's own answer, after any redirect
            return (response.request.is_navigation_request() and response.frame == page.main_frame
                    and not 300 <= response.status < 400)

        try:
            with page.expect_download() as downloading:
                with page.expect_response(final_answer) as answered:
                    page.get_by_role("button", name="Unduh", exact=True).click()
                if "attachment" not in (answered.value.headers.get("content-disposition") or ""):
                    raise _NoFile(answered.value)  # leaving the block stops waiting for a file
        except _NoFile as no_file:
            return self._page_instead_of_file(no_file.response, doing)
        download = downloading.value
        failure = download.failure()
        if failure:
            raise PortalUnavailable(self.key, f"{doing}: the download failed ({failure})")
        data = Path(download.path()).read_bytes()
        name = download.suggested_filename
        download.delete()  # the bytes are ours now: no copy left in the browser's temp folder
        return StatementDownload(account_no, name, data, fmt)

    def _page_instead_of_file(self, response, doing: str) -> _Refusal:
        """Why a page came back: maintenance or error (retried), login (retried), or a refusal."""
        self.page.wait_for_url(response.url, wait_until="domcontentloaded")
        self._check_answer(response, doing)
        if self._on_login_form():
            raise SessionExpired(self.key, f"{doing}: sent back to the login page")
        alert = self.page.get_by_role("alert")
        if alert.count():
            return _Refusal(alert.first.inner_text().strip())
        raise PortalUnavailable(self.key, f"{doing}: expected a file, got a page "
                                          f"({response.status} {self.heading()!r})")


class _NoFile(Exception):
    """The answer to "Unduh" was a page, not a file."""

    def __init__(self, response):
        super().__init__(response.url)
        self.response = response
