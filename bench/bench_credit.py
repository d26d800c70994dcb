"""Crediting deposit tickets: the cost of one credit, and 1,000 credits on 1, 2 and 4 pages.

One credit by the bot is the whole protocol of DESIGN §5 through the real executor
(`bots.reconcile.act.Executor`): intent recorded, the ticket checked on the portal, marked
in flight, "Setujui" clicked, the answer verified, done recorded, the line's outcome written.
The baseline, measured in the same browser in turns with the bot's credits, is a bare
Playwright approval of another ticket: open the ticket list filtered to it, click its
"Setujui", wait for the confirmation page and read its heading.

The 1,000-ticket run is the executor over one plan split between N workers, each with its
own browser page (Playwright's sync API is one thread per browser, so each worker is a
thread with its own Chromium) and its own store connection to the same SQLite file. After
each, the world is checked: every ticket approved once, one balance credit per ticket.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

from bench import worlds
from bench.common import Figure, Options, Stat, World, bot_env, quiet_logs, run_bot, seconds, settings_for, shown
from bots.clock import JAKARTA

ORDER = 20
BOT = "reconcile_payments"


class _Quiet:
    def send(self, title: str, body: str) -> bool:
        return True


def _plan(store, ledger, tickets, run_id: str, now: datetime):
    """Store a statement paying every ticket exactly; the plan `decide` makes of it."""
    from bots.parsers import Statement, StatementLine
    from bots.reconcile.matching import AUTO_CREDITED, decide

    posted = (now - timedelta(minutes=1)).astimezone(JAKARTA).replace(tzinfo=None)
    lines = [StatementLine("mandiri", worlds.MANDIRI, posted.date(), posted, f"TRF INW SETORAN {t.ticket_id}",
                           Decimal(t.amount).quantize(Decimal("0.01")), "CR", None, False, n)
             for n, t in enumerate(tickets, start=1)]
    ledger.add(Statement("mandiri", worlds.MANDIRI, None, None, lines, "bench", "bench.csv"), "bench.csv",
               run_id, now)
    plan = decide(ledger.undecided(), tickets, ledger.claimed_tickets())
    assert all(o.code == AUTO_CREDITED for o in plan), {o.code for o in plan}
    return plan


def _store(folder, run_id: str | None, now: datetime):
    from bots.store import Store

    store = Store(f"sqlite:///{folder / 'bots.sqlite3'}")
    if run_id:
        store.migrate()
        store.start_run(BOT, run_id, now)
    return store


def _bare_login(page, url: str, username: str, password: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Nama Pengguna").fill(username)
    page.get_by_label("Kata Sandi").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Masuk").click()


def _bare_approve(page, url: str, ticket_id: str) -> None:
    page.goto(f"{url}/tiket?q={ticket_id}&per_page=100")
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=ticket_id, exact=True))
    with page.expect_navigation():
        row.get_by_role("button", name="Setujui").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    if heading != "Tiket Disetujui":
        raise RuntimeError(f"bare approval of {ticket_id}: {heading}")


def one_credit(options: Options) -> Figure:
    from bots.portals.otomax import OtomaxAdmin
    from bots.portals.session import PortalBrowser
    from bots.reconcile.act import Executor
    from bots.reconcile.ledger import Ledger

    count = options.n(40, 12)
    folder = options.folder("one-credit")
    seed = worlds.deposits(folder / "world", 2 * count, with_mutations=False)
    now = datetime.now(JAKARTA)
    run_id = f"bench-{now:%H%M%S}"
    for old in folder.glob("bots.sqlite3*"):
        old.unlink()
    with World(seed) as world:
        settings = settings_for(world.url, folder)
        store = _store(folder, run_id, now)
        ledger = Ledger(store)
        with PortalBrowser(settings, run_id) as browser:
            otomax = OtomaxAdmin(browser, settings.portal("otomax"))
            tickets = otomax.tickets()
            ours, theirs = tickets[:count], tickets[count:]
            plan = _plan(store, ledger, ours, run_id, now)
            executor = Executor(store, ledger, otomax, _Quiet(), run_id, lambda: datetime.now(JAKARTA))
            bare = browser.page("bench_bare")
            portal = settings.portal("otomax")
            _bare_login(bare, portal.url, portal.username, portal.password)
            bot_times, bare_times = [], []
            for outcome, ticket in zip(plan, theirs):  # in turns, so both see the same machine
                start = time.perf_counter()
                done = executor.carry_out(outcome)
                bot_times.append(time.perf_counter() - start)
                assert done.code == "AUTO_CREDITED", done
                start = time.perf_counter()
                _bare_approve(bare, portal.url, ticket.ticket_id)
                bare_times.append(time.perf_counter() - start)
        store.dispose()
        state = world.state()
    credits = [e for e in state["balance_log"] if e["kind"] == "DEPOSIT"]
    assert len(credits) == 2 * count and len({e["ticket_id"] for e in credits}) == 2 * count
    ours_stat, bare_stat = Stat(bot_times[1:]), Stat(bare_times[1:])  # the first of each warms up
    ratio = ours_stat.median / bare_stat.median
    return Figure("cost of one credit by the bot (intent, check, act, verify, done)", shown(ours_stat),
                  f"bare Playwright approve {shown(bare_stat)}", ratio, "≤ 1.5× (goal 1.3×)", ratio <= 1.5,
                  "in-process executor; the store is SQLite WAL, synchronous=FULL",
                  {"ours": ours_stat.as_json(), "bare_playwright": bare_stat.as_json()})


def _worker(settings, folder, run_id: str, outcomes, ready: threading.Barrier, spent: list, errors: list):
    from bots.portals.otomax import OtomaxAdmin
    from bots.portals.session import PortalBrowser
    from bots.reconcile.act import Executor
    from bots.reconcile.ledger import Ledger

    try:
        store = _store(folder, None, datetime.now(JAKARTA))
        ledger = Ledger(store)
        with PortalBrowser(settings, run_id) as browser:
            otomax = OtomaxAdmin(browser, settings.portal("otomax"))
            otomax.open("/")  # logged in before the clock starts
            executor = Executor(store, ledger, otomax, _Quiet(), run_id, lambda: datetime.now(JAKARTA))
            ready.wait()
            start = time.perf_counter()
            for outcome in outcomes:
                done = executor.carry_out(outcome)
                if done.code != "AUTO_CREDITED":
                    errors.append(f"{outcome.ticket_id}: {done.code} {done.reason}")
            spent.append(time.perf_counter() - start)
        store.dispose()
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(f"{type(exc).__name__}: {exc}")
        ready.abort()


def many_credits(options: Options, workers: int, count: int) -> dict:
    """`count` credits split between `workers` pages; seconds, rate, and the exactly-once check."""
    from bots.portals.otomax import OtomaxAdmin
    from bots.portals.session import PortalBrowser
    from bots.reconcile.ledger import Ledger

    folder = options.folder(f"credits-{workers}")
    for old in folder.glob("bots.sqlite3*"):
        old.unlink()
    seed = worlds.deposits(folder / "world", count, prefix=f"P{workers}T", with_mutations=False)
    now = datetime.now(JAKARTA)
    run_id = f"bench-{workers}-{now:%H%M%S}"
    with World(seed) as world:
        settings = settings_for(world.url, folder)
        store = _store(folder, run_id, now)
        with PortalBrowser(settings, run_id) as browser:
            tickets = OtomaxAdmin(browser, settings.portal("otomax")).tickets()
        plan = _plan(store, Ledger(store), tickets, run_id, now)
        store.dispose()
        ready = threading.Barrier(workers + 1)
        spent: list[float] = []
        errors: list[str] = []
        threads = [threading.Thread(target=_worker, args=(settings, folder, run_id, plan[i::workers], ready,
                                                          spent, errors)) for i in range(workers)]
        for thread in threads:
            thread.start()
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            pass
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        state = world.state()
    if errors:
        raise RuntimeError(f"{workers} pages: " + "; ".join(errors[:5]))
    credits = [e for e in state["balance_log"] if e["kind"] == "DEPOSIT"]
    per_ticket: dict[str, int] = {}
    for entry in credits:
        per_ticket[entry["ticket_id"]] = per_ticket.get(entry["ticket_id"], 0) + 1
    approved = sum(t["status"] == "APPROVED" for t in state["tickets"])
    return {"workers": workers, "credits": count, "seconds": wall, "per_second": count / wall,
            "approved": approved, "lost": count - len(per_ticket),
            "double": sum(n - 1 for n in per_ticket.values() if n > 1)}


def whole_run(options: Options, count: int) -> dict:
    """The real thing: `python -m bots run reconcile_payments` crediting `count` tickets."""
    folder = options.folder("whole-run")
    seed = worlds.deposits(folder / "world", count, prefix="WR")
    for old in (folder / "var").glob("bots.sqlite3*"):
        old.unlink()
    with World(seed) as world:
        wall, done = run_bot(BOT, bot_env(world.url, folder, BOTS_TRACE="off"))
        state = world.state()
    credits = [e for e in state["balance_log"] if e["kind"] == "DEPOSIT"]
    return {"seconds": wall, "exit": done.returncode, "credited": len(credits),
            "distinct": len({e["ticket_id"] for e in credits})}


def run(options: Options) -> list[Figure]:
    quiet_logs()
    figures = [one_credit(options)]
    count = options.n(1_000, 100)
    runs = [many_credits(options, workers, count) for workers in (1, 2, 4)]
    whole = whole_run(options, count)
    one = runs[0]
    shown_runs = "; ".join(f"{r['workers']} page{'s' if r['workers'] > 1 else ''}: {seconds(r['seconds'])} "
                           f"({r['per_second']:.1f}/s, ×{r['per_second'] / one['per_second']:.2f})" for r in runs)
    clean = all(r["lost"] == 0 and r["double"] == 0 and r["approved"] == count for r in runs) and \
        whole["credited"] == whole["distinct"] == count and whole["exit"] == 0
    figures.append(Figure(
        f"{count:,} tickets credited in one run, 1/2/4 pages", shown_runs,
        f"1 page {seconds(one['seconds'])}", runs[-1]["seconds"] / one["seconds"],
        "report scaling; no lost or double credits", clean,
        f"lost {sum(r['lost'] for r in runs)}, double {sum(r['double'] for r in runs)}; the whole bot run "
        f"(`python -m bots run`, 1 page, download + decide + credit + workbook): {seconds(whole['seconds'])}, "
        f"{whole['credited']} credits",
        {"runs": runs, "whole_bot_run": whole}))
    return figures
