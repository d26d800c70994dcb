"""One Playwright and one Chromium per run, one logged-in browser context per portal.

Playwright is not thread-safe: a `PortalBrowser` is created and used in one thread (each
scheduled run is its own process). On a portal failure, `capture` keeps a screenshot (with
password fields blanked and every NIK/KK on screen masked), the page's HTML (masked) and a
Playwright trace under `reports/artifacts/<run id>/`; traces never cover typing credentials (a
trace keeps typed text), and none is kept for a portal that shows personal data.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from loguru import logger

from bots.browser import BrowserChoice, resolve_browser
from bots.errors import LoginInUse, PortalUnavailable, RunLocked
from bots.lock import login_lock
from bots.logs import mask
from bots.settings import PortalSettings, Settings

#: Portals whose pages and downloads carry NIK, KK and other personal data (bots/portals/esim.py):
#: a trace of them would keep it (DOM snapshots, request bodies, screencast), so none is kept.
PERSONAL_DATA_PORTALS = frozenset({"indiana", "dukcapil", "ismara"})

#: The attribute `capture` marks what a screenshot must not show with (masked by Playwright).
PRIVATE = "data-bots-private"

# Blanks password fields and marks them, every field whose value holds a 16-digit number and
# every element with a 16-digit number in its own text (NIK, KK); returns how many it marked.
_MARK_PRIVATE = """(attribute) => {
  const nik = /(^|\\D)\\d{16}(\\D|$)/;
  const marked = new Set();
  for (const field of document.querySelectorAll('input, textarea')) {
    if (field.type === 'password') { field.value = ''; marked.add(field); }
    else if (nik.test(field.value || '')) marked.add(field);
  }
  const texts = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    if (node.parentElement && nik.test(node.nodeValue)) marked.add(node.parentElement);
  }
  marked.forEach(element => element.setAttribute(attribute, ''));
  return marked.size;
}"""


class PortalBrowser:
    """The run's browser. `context(key)` gives the portal's own context and page."""

    def __init__(self, settings: Settings, run_id: str):
        self.settings, self.run_id = settings, run_id
        self.artifacts_dir = settings.reports_dir / "artifacts" / run_id
        self.choice: BrowserChoice | None = None
        self._playwright = self._browser = None
        self._contexts: dict[str, tuple] = {}
        self._tracing: set[str] = set()
        self._captures = 0
        self._logins: dict[str, tuple] = {}  # portal key → (the login lock this run holds, how to log out)

    def __enter__(self) -> "PortalBrowser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        from playwright.sync_api import Error, sync_playwright

        self.choice = self.choice or resolve_browser(self.settings.browser_path)
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(**self.choice.launch_options(self.settings.headless))
        except Error as exc:
            self.close()
            raise PortalUnavailable("browser", f"Chromium did not start ({self.choice.source}): {exc}") from exc
        logger.debug("browser started: {} ({})", self.choice.executable or "Playwright Chromium", self.choice.source)

    def page(self, key: str):
        """The portal's page, in a context of its own (its own cookies: its own login)."""
        if key not in self._contexts:
            if self._browser is None:
                self._start()
            context = self._browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta",
                                                viewport={"width": 1280, "height": 900})
            context.set_default_timeout(self.settings.timeout_ms)
            self._contexts[key] = (context, context.new_page())
        return self._contexts[key][1]

    def fresh_page(self, key: str) -> None:
        """Replace the portal's page after a lost connection (its cookies stay in the context).

        Chromium shows its own error page a moment after a connection drops; that late
        navigation would interrupt whatever the page is asked to do next.
        """
        if key in self._contexts:
            context, page = self._contexts[key]
            try:
                page.close()
            except Exception:  # noqa: BLE001 - a page that is already gone
                pass
            self._contexts[key] = (context, context.new_page())

    # -- one session per portal user, across runs and hosts --------------------------------------
    def hold_login(self, portal: PortalSettings, logout: Callable[[], None] = lambda: None) -> None:
        """Take the lock of the portal's user before logging in, for as long as this browser is
        open: waits up to ``login_wait_seconds`` for a run (any host) logged in as that user,
        then raises LoginInUse. Holding it already (a login again after an expiry): nothing.
        ``logout`` is called when the browser closes, before the lock is let go."""
        if portal.key in self._logins:
            return
        lock = login_lock(self.settings, portal.key, portal.username,
                          now=self.settings.now or datetime.now(timezone.utc))
        wait = self.settings.login_wait_seconds
        try:
            lock.acquire(wait_seconds=0)
        except RunLocked as busy:
            logger.info("{}: another run is logged in as its user ({}); waiting up to {:g}s", portal.key,
                        busy.detail, wait)
            try:
                lock.acquire(wait_seconds=wait)
            except RunLocked as still:
                raise LoginInUse(portal.key, f"another run is logged in as this portal's user ({still.detail}) and "
                                 f"did not log out within {wait:g}s (login_wait_seconds); logging in would end "
                                 "its session") from None
        self._logins[portal.key] = (lock, logout)

    def _log_out(self) -> None:
        """Log out of every portal held by a login lock (best effort: the lock is let go anyway,
        and a session left behind only ends at the next login, which is then nobody's)."""
        for key, (_lock, logout) in self._logins.items():
            if key in self._contexts:
                try:
                    logout()
                except Exception as exc:  # noqa: BLE001 - a portal that is down cannot be logged out of
                    logger.debug("{}: could not log out: {}", key, mask(str(exc)))

    def release_logins(self) -> None:
        """Let other runs log in as the users this browser was logged in as (its contexts are closed)."""
        for lock, _logout in self._logins.values():
            lock.release()
        self._logins.clear()

    # -- tracing: on between logins, off while credentials are typed -----------------------------
    def pause_trace(self, key: str) -> None:
        if key in self._tracing:
            self._contexts[key][0].tracing.stop()
            self._tracing.discard(key)

    def resume_trace(self, key: str) -> None:
        if self.settings.trace == "on-failure" and key in self._contexts and key not in self._tracing:
            self._contexts[key][0].tracing.start(screenshots=True, snapshots=True)
            self._tracing.add(key)

    def capture(self, key: str, reason: str) -> Path | None:
        """Keep screenshot, HTML and trace of a failing portal page; returns the folder.

        The screenshot is taken only once password fields are blanked and every NIK/KK on the
        page is marked for Playwright's mask (a page that cannot be marked gets no screenshot);
        the HTML and the reason are masked as the logs are; a personal-data portal keeps no trace.
        """
        if key not in self._contexts:
            return None
        context, page = self._contexts[key]
        self._captures += 1
        stem = f"{self._captures:02d}-{re.sub(r'[^a-z0-9_]+', '-', key.lower())}"
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        kept = []
        try:
            page.evaluate(_MARK_PRIVATE, PRIVATE)
            page.screenshot(path=str(self.artifacts_dir / f"{stem}.png"), full_page=True,
                            mask=[page.locator(f"[{PRIVATE}]")])
            kept.append("screenshot")
        except Exception as exc:  # noqa: BLE001 - a dead page must not hide the original failure
            logger.warning("could not take a screenshot of {}: {}", key, mask(str(exc)))
        try:
            (self.artifacts_dir / f"{stem}.html").write_text(mask(page.content()), encoding="utf-8")
            kept.append("HTML")
        except Exception as exc:  # noqa: BLE001
            logger.warning("could not keep the HTML of {}: {}", key, mask(str(exc)))
        note = ""
        if key in self._tracing:
            self._tracing.discard(key)
            trace = None if key in PERSONAL_DATA_PORTALS else self.artifacts_dir / f"{stem}-trace.zip"
            if trace is None:
                note = " (no trace: the portal shows personal data)"
            try:  # stopped without a path, the trace is discarded
                context.tracing.stop(path=str(trace) if trace else None)
                kept += ["trace"] if trace else []
            except Exception:  # noqa: BLE001
                pass
        (self.artifacts_dir / f"{stem}.txt").write_text(mask(reason) + "\n", encoding="utf-8")
        logger.warning("portal {} failed: {} — {} kept in {}{}", key, mask(reason), ", ".join(kept) or "nothing",
                       self.artifacts_dir, note)
        return self.artifacts_dir

    def close(self) -> None:
        self._log_out()
        for key, (context, _page) in list(self._contexts.items()):
            try:
                context.close()
            except Exception:  # noqa: BLE001 - closing after a crash of the browser itself
                pass
        self._contexts.clear()
        self.release_logins()
        for thing in (self._browser, ):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001
                    pass
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = self._playwright = None
