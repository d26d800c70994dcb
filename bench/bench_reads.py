"""Reading 1,000 open tickets and 5,000 transactions from the transaction server.

The bot reads through the portal's CSV exports (one request each, sharing the browser
context's login). The baseline reads the same rows from the paginated listings the way a
naive page object does: one locator a row (`nth(i)` → its cells' inner texts).
"""

from __future__ import annotations

import time
from datetime import datetime

from bench import worlds
from bench.common import Figure, Options, Stat, World, quiet_logs, settings_for, shown, timed
from bots.clock import JAKARTA

ORDER = 30
TICKETS, TRANSACTIONS = 1_000, 5_000


def _per_row(page, url: str, pages: int, rows_limit: int | None) -> tuple[float, int]:
    """Seconds to read listing pages with one locator per row; (seconds, rows read)."""
    read, spent = 0, 0.0
    for number in range(1, pages + 1):
        page.goto(f"{url}?per_page=100&page={number}")
        start = time.perf_counter()
        rows = page.locator("table tbody tr")
        for i in range(rows.count()):
            rows.nth(i).locator("td").all_inner_texts()
            read += 1
            if rows_limit and read >= rows_limit:
                return spent + time.perf_counter() - start, read
        spent += time.perf_counter() - start
    return spent, read


def run(options: Options) -> list[Figure]:
    from bots.portals.otomax_reports import OtomaxReports
    from bots.portals.session import PortalBrowser

    quiet_logs()
    folder = options.folder("reads")
    now = datetime.now(JAKARTA)
    seed = worlds.transactions(folder / "world", TRANSACTIONS, worlds.minute_before(now), tickets=TICKETS)
    repeats = options.n(7, 3)
    with World(seed) as world:
        settings = settings_for(world.url, folder)
        with PortalBrowser(settings, "bench-reads") as browser:
            otomax = OtomaxReports(browser, settings.portal("otomax"))
            tickets = otomax.tickets()  # logs in
            transactions = otomax.transactions()
            assert len(tickets) == TICKETS and len(transactions) == TRANSACTIONS, (len(tickets), len(transactions))
            read_tickets = Stat([timed(otomax.tickets) for _ in range(repeats)])
            read_transactions = Stat([timed(otomax.transactions) for _ in range(repeats)])
            # the baseline: one repeat (it takes seconds); quick mode reads a tenth and scales it
            page = otomax.page
            base = settings.portal("otomax").url
            limit_t, limit_x = (None, None) if not options.quick else (200, 500)
            spent_t, rows_t = _per_row(page, base + "/tiket", TICKETS // 100, limit_t)
            spent_x, rows_x = _per_row(page, base + "/transaksi", TRANSACTIONS // 100, limit_x)
    per_row_t = Stat([spent_t * TICKETS / rows_t])
    per_row_x = Stat([spent_x * TRANSACTIONS / rows_x])
    scaled = lambda rows, total: "" if rows == total else f", extrapolated from {rows} rows"  # noqa: E731
    return [
        Figure(f"reading {TICKETS:,} open tickets (otomax)", shown(read_tickets),
               f"one locator per row {shown(per_row_t)}{scaled(rows_t, TICKETS)}",
               read_tickets.median / per_row_t.median, "≤ 0.5 s", read_tickets.median <= 0.5,
               "the portal's CSV export through the logged-in context (page loads of the listing not counted "
               "in the baseline)",
               {"ours": read_tickets.as_json(), "per_row": per_row_t.as_json(), "per_row_rows_read": rows_t}),
        Figure(f"reading {TRANSACTIONS:,} transactions (otomax report)", shown(read_transactions),
               f"one locator per row {shown(per_row_x)}{scaled(rows_x, TRANSACTIONS)}",
               read_transactions.median / per_row_x.median, "≤ 2 s", read_transactions.median <= 2.0,
               "the report's CSV export",
               {"ours": read_transactions.as_json(), "per_row": per_row_x.as_json(), "per_row_rows_read": rows_x}),
    ]
