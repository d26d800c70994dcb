"""How the console's browser tests wait for the page a click brings, before they read it.

A click that submits a form or follows a link returns while the old page may still be shown;
a read right after it (text, rows, the URL, the store behind the page) may see the old page,
or a request the server has not handled yet. `submit` waits for that navigation and its load
event (images too); `settled` waits for the fragments a page fetches itself on load (htmx).
Values that htmx polls or swaps in are read with Playwright's `expect`, which waits for them.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

#: the longest a click's page (or a fragment) may take on a loaded machine: a cap, never a pause
PAGE_TIMEOUT = 60_000


def submit(target: Locator) -> None:
    """Click a form's button or a link, and wait until the page it brings has loaded."""
    with target.page.expect_navigation(timeout=PAGE_TIMEOUT):
        target.click()


def settled(page: Page) -> None:
    """Wait until every fragment the page loads by itself (`hx-trigger="load"`) is swapped in."""
    expect(page.locator('[hx-trigger="load"]')).to_have_count(0, timeout=PAGE_TIMEOUT)
