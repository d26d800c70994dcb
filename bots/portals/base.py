"""The base page object: log in, open a page, notice expiry and maintenance, read tables.

Every mock portal (and the real ones we imitate) greets with a login form labelled
"Nama Pengguna" / "Kata Sandi"; a session that ended sends us back to it. Playwright's errors
stop here: callers see `PortalUnavailable` or `SessionExpired` (bots/errors.py).
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Callable, TypeVar

from loguru import logger

from bots.errors import ConfigError, PortalUnavailable, SessionExpired
from bots.portals.session import PortalBrowser
from bots.settings import PortalSettings

T = TypeVar("T")

# One evaluate reads a whole table: ~20 ms for 1,000 rows, against seconds with a locator a row.
_READ_TABLE = """(table) => {
  const heads = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
  const rows = [...table.querySelectorAll('tbody tr')].filter(tr => tr.cells.length === heads.length);
  return JSON.stringify(rows.map(tr => Object.fromEntries(
    [...tr.cells].map((td, i) => [heads[i], td.innerText.trim()]))));
}"""


class PortalPage:
    """A portal as a person uses it: methods named after what they do there."""

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
        """Log in with the portal's credentials (no trace is recorded while typing them)."""
        self.browser.pause_trace(self.key)
        with self._guard("login"):
            response = self.page.goto(self.settings.url + "/login")
            self._check_answer(response, "login page")
            self.page.get_by_label("Nama Pengguna").fill(self.settings.username)
            self.page.get_by_label("Kata Sandi").fill(self.settings.password)
            with self.page.expect_navigation():
                self.page.get_by_role("button", name="Masuk").click()
            self._check_answer(None, "login")
            if self._on_login_form():
                alert = self.page.get_by_role("alert")
                text = alert.first.inner_text() if alert.count() else "still on the login page"
                raise ConfigError(f"{self.key.upper()}_PASSWORD", f"credentials the portal accepts ({text})")
        self.logged_in = True
        self.browser.resume_trace(self.key)
        logger.debug("{}: logged in as {}", self.key, self.settings.username)

    def open(self, path: str) -> None:
        """Go to a page of the portal, logging in first (or again, when the session ended)."""

        def go() -> None:
            if not self.logged_in:
                self.login()
            with self._guard(f"opening {path}"):
                response = self.page.goto(self.settings.url + path)
                self._check_answer(response, path)
                if self._on_login_form():
                    raise SessionExpired(self.key, f"sent back to the login page when opening {path}")

        self.retrying(f"opening {path}", go)

    def _on_login_form(self) -> bool:
        return self.page.get_by_label("Kata Sandi").count() > 0

    def _check_answer(self, response, doing: str) -> None:
        status = response.status if response is not None else 200
        heading = self.page.get_by_role("heading", level=1)
        title = heading.first.inner_text() if heading.count() else ""
        if status == 503 or title == "Sedang Pemeliharaan":
            raise PortalUnavailable(self.key, f"{doing}: the portal is in maintenance")
        if status >= 500 or title == "Terjadi kesalahan":
            raise PortalUnavailable(self.key, f"{doing}: the portal answered {status} ({title or 'error'})")

    # -- reading ----------------------------------------------------------------------------------
    def heading(self) -> str:
        with self._guard("reading the heading"):
            return self.page.get_by_role("heading", level=1).first.inner_text()

    def read_table(self, name: str) -> list[dict[str, str]]:
        """Every row of the table labelled `name` on the current page, in one round trip."""
        with self._guard(f"reading table {name}"):
            table = self.page.get_by_role("table", name=name)
            return json.loads(table.evaluate(_READ_TABLE))

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
