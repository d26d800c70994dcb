"""The base page object: log in, open a page, notice expiry and maintenance, read tables.

Every mock portal (and the real ones we imitate) greets with a login form labelled
"Nama Pengguna" / "Kata Sandi"; a session that ended sends us back to it. Playwright's errors
stop here: callers see `PortalUnavailable` or `SessionExpired` (bots/errors.py).
"""

from __future__ import annotations

import csv
import io
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, TypeVar
from urllib.parse import urlencode, urlparse
from zoneinfo import ZoneInfo

from loguru import logger

from bots.errors import ConfigError, InputFileError, LoginInUse, PortalUnavailable, SessionExpired
from bots.portals.session import PortalBrowser
from bots.settings import PortalSettings

T = TypeVar("T")
JAKARTA = ZoneInfo("Asia/Jakarta")
#: The heading of the page a portal answers with when a form's token belongs to an ended session.
FORM_REFUSED = "Permintaan ditolak"

@dataclass(frozen=True)
class Answer:
    """What a portal answered to a submitted form."""

    status: int
    heading: str
    message: str

@dataclass(frozen=True)
class PageState:
    """What a page says about itself: its main heading, its alert's text, whether it is the login form."""

    heading: str
    alert: str
    login_form: bool


# Pages are read with one evaluate each, by the same marks a person's eye (and a role locator)
# goes by — the level-1 heading, the alert, the field labelled "Kata Sandi", a table's
# accessible name — because every role or label locator is a round trip of its own, and
# computing accessible names over a 100-row listing costs tens of milliseconds each time.
_PAGE_STATE = """() => {
  const visible = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const text = e => e ? e.innerText.replace(/\\s+/g, ' ').trim() : '';
  const heading = [...document.querySelectorAll('h1, [role=heading][aria-level="1"]')].find(visible);
  const alert = [...document.querySelectorAll('[role=alert]')].find(visible);
  const password = [...document.querySelectorAll('label')].some(
      l => visible(l) && text(l).toLowerCase().includes('kata sandi'))
    || [...document.querySelectorAll('[aria-label]')].some(
      e => visible(e) && e.getAttribute('aria-label').toLowerCase().includes('kata sandi'));
  return {heading: text(heading), alert: text(alert), login_form: password};
}"""

# One evaluate finds the table by its accessible name (as get_by_role("table", name=...) does:
# an exact name first, else one containing it) and reads every row: ~20 ms for 1,000 rows,
# against seconds with a locator a row.
_READ_TABLE = """(name) => {
  const clean = t => (t || '').replace(/\\s+/g, ' ').trim().toLowerCase();
  const label = t => clean(t.getAttribute('aria-label')
    || (t.getAttribute('aria-labelledby') || '').split(/\\s+/).map(id => {
         const e = document.getElementById(id); return e ? e.innerText : ''; }).join(' ')
    || (t.caption ? t.caption.innerText : ''));
  const want = clean(name);
  const tables = [...document.querySelectorAll('table, [role=table]')];
  const table = tables.find(t => label(t) === want) || tables.find(t => label(t).includes(want));
  if (!table) return null;
  const heads = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
  const rows = [...table.querySelectorAll('tbody tr')].filter(tr => tr.cells.length === heads.length);
  return JSON.stringify(rows.map(tr => Object.fromEntries(
    [...tr.cells].map((td, i) => [heads[i], td.innerText.trim()]))));
}"""


class PortalPage:
    """A portal as a person uses it: methods named after what they do there."""

    #: A second login as the same user ends the first session (internet banking): a run logs in
    #: only while it holds that user's login lock (PortalBrowser.hold_login).
    one_session_per_user = False

    def __init__(self, browser: PortalBrowser, settings: PortalSettings, *, attempts: int = 3,
                 backoff_seconds: float = 2.0, sleep: Callable[[float], None] = time.sleep):
        self.browser, self.settings = browser, settings
        self.key = settings.key
        self.attempts, self.backoff_seconds, self.sleep = attempts, backoff_seconds, sleep
        self.logged_in = False

    @property
    def page(self):
        return self.browser.page(self.key)

    # -- the boundary: Playwright errors become ours -------------------------------------------
    @contextmanager
    def _guard(self, doing: str):
        from playwright.sync_api import Error as PlaywrightError

        try:
            yield
        except PlaywrightError as exc:
            raise PortalUnavailable(self.key, f"{doing}: {str(exc).splitlines()[0]}") from exc

    def retrying(self, doing: str, step: Callable[[], T]) -> T:
        """Run an idempotent step (a read, a login), retrying portal failures with backoff."""
        delay = self.backoff_seconds
        for attempt in range(1, self.attempts + 1):
            try:
                return step()
            except LoginInUse:
                raise  # it already waited login_wait_seconds: no second wait within the run
            except SessionExpired:
                logger.info("{}: session ended, logging in again", self.key)
                self.logged_in = False
                if attempt == self.attempts:
                    raise
            except PortalUnavailable as exc:
                if attempt == self.attempts:
                    self.browser.capture(self.key, f"{doing}: {exc}")
                    raise
                logger.warning("{}: {} (attempt {}/{}), retrying in {:.1f}s", self.key, exc, attempt,
                               self.attempts, delay)
                self.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    # -- login and navigation -------------------------------------------------------------------
    def login(self) -> None:
        """Log in with the portal's credentials (no trace is recorded while typing them); on a
        portal with one session per user, only once no other run is logged in as that user."""
        if self.one_session_per_user:
            self.browser.hold_login(self.settings, logout=self.logout)
        self.browser.pause_trace(self.key)
        with self._guard("login"):
            response = self.page.goto(self.settings.url + "/login")
            self._check_answer(response, "login page")
            self.page.get_by_label("Nama Pengguna").fill(self.settings.username)
            self.page.get_by_label("Kata Sandi").fill(self.settings.password)
            with self.page.expect_navigation():
                self.page.get_by_role("button", name="Masuk").click()
            state = self._check_answer(None, "login")
            if state.login_form:
                text = state.alert or "still on the login page"
                raise ConfigError(f"{self.key.upper()}_PASSWORD", f"credentials the portal accepts ({text})")
        self.logged_in = True
        self.browser.resume_trace(self.key)
        logger.debug("{}: logged in as {}", self.key, self.settings.username)

    def logout(self) -> None:
        """Log out ("Keluar"), if logged in: the session ends now, not at someone's next login."""
        if not self.logged_in:
            return
        self.logged_in = False
        with self._guard("logout"):
            button = self.page.get_by_role("button", name="Keluar")
            if button.count():
                with self.page.expect_navigation(timeout=5000):
                    button.first.click(timeout=5000)

    def open(self, path: str) -> None:
        """Go to a page of the portal, logging in first (or again, when the session ended)."""
        self.retrying(f"opening {path}", lambda: self.visit(path))

    def visit(self, path: str) -> None:
        """`open` without retries of its own, for a step the caller already retries whole."""
        if not self.logged_in:
            self.login()
        with self._guard(f"opening {path}"):
            response = self.page.goto(self.settings.url + path)
            if self._check_answer(response, path).login_form:
                raise SessionExpired(self.key, f"sent back to the login page when opening {path}")

    def _on_login_form(self) -> bool:
        return self._page_state().login_form

    def _page_state(self) -> "PageState":
        """The page's main heading, its alert and whether it is the login form, in one round trip."""
        with self._guard("reading the page"):
            return PageState(**self.page.evaluate(_PAGE_STATE))

    def _check_answer(self, response, doing: str) -> "PageState":
        """Raise PortalUnavailable for a maintenance or error page; else what the page shows."""
        status = response.status if response is not None else 200
        state = self._page_state()
        title = state.heading
        if status == 503 or title == "Sedang Pemeliharaan":
            raise PortalUnavailable(self.key, f"{doing}: the portal is in maintenance")
        if status >= 500 or title == "Terjadi kesalahan":
            raise PortalUnavailable(self.key, f"{doing}: the portal answered {status} ({title or 'error'})")
        return state

    # -- reading ----------------------------------------------------------------------------------
    def heading(self) -> str:
        return self._page_state().heading

    def read_table(self, name: str) -> list[dict[str, str]]:
        """Every row of the table labelled `name` on the current page, in one round trip."""
        with self._guard(f"reading table {name}"):
            found = self.page.evaluate(_READ_TABLE, name)
        if found is None:
            raise PortalUnavailable(self.key, f"no table {name!r} on {self.page.url}")
        return json.loads(found)

    def read_all_pages(self, path: str, table: str, per_page: int = 100) -> list[dict[str, str]]:
        """Rows of a paginated listing, following "Berikutnya" until the last page."""
        rows: list[dict[str, str]] = []
        sep = "&" if "?" in path else "?"
        number = 1
        while True:
            self.open(f"{path}{sep}per_page={per_page}&page={number}")
            rows += [r for r in self.read_table(table) if len(r) > 1]
            with self._guard("reading the pagination"):
                more = self.page.get_by_role("link", name="Berikutnya").count() > 0
            if not more:
                return rows
            number += 1

    # -- forms and exports: one click, one CSV request ----------------------------------------
    def _submit(self, button, doing: str) -> Answer:
        """Click a form's button once; returns the answer page's status, heading and message."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            with self.page.expect_navigation() as navigation:
                button.click()
            response = navigation.value
        except PlaywrightError as exc:
            # Chromium shows its error page a moment after the failure is reported; a page
            # opened before that would be interrupted by it, so let it arrive first.
            try:
                self.page.wait_for_url(lambda url: url.startswith("chrome-error:"),
                                       wait_until="commit", timeout=2000)
            except PlaywrightError:
                pass
            self.browser.fresh_page(self.key)  # a late error page must not interrupt what comes next
            # ours, whoever calls: a click whose answer is lost may have acted
            raise PortalUnavailable(self.key, f"{doing} (outcome unknown): {str(exc).splitlines()[0]}") from exc
        if response is None or self.page.url.startswith("chrome-error:"):
            self.browser.fresh_page(self.key)
            raise PortalUnavailable(self.key, f"{doing}: the connection was lost (outcome unknown)")
        state = self._check_answer(response, doing)  # the confirmation page is the verification
        heading, message = state.heading, state.alert
        if heading == FORM_REFUSED:
            # the form's token belonged to a session that ended: the portal did nothing
            self.logged_in = False
            raise SessionExpired(self.key, f"{doing}: form refused, the session ended ({message})")
        return Answer(response.status, heading, message)

    def _export(self, export: str, params: dict[str, str], columns: tuple[str, ...],
                build: Callable[[dict[str, str]], T]) -> list[T]:
        """Rows of one of the portal's CSV exports, fetched with the logged-in browser context.

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
        return read_export(text, f"{self.key} {export}", columns, build)


def read_export(text: str, source: str, columns: tuple[str, ...],
                 build: Callable[[dict[str, str]], T]) -> list[T]:
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise InputFileError(source, f"the export lacks column(s) {', '.join(missing)}", line=1)
    rows = []
    for row in reader:
        try:
            rows.append(build(row))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(source, f"unreadable row: {exc}", line=reader.line_num) from None
    return rows


def export_time(text: str | None) -> datetime | None:
    """ISO 8601 from an export; WIB when no offset is written."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=JAKARTA)
