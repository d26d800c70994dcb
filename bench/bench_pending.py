"""One `check_pending_tx` cycle with 5,000 open (PENDING) transactions and nothing to send.

The transactions are a minute old at the run's moment (`BOTS_NOW`), under the 2-minute
complaint threshold: every cycle reads them all, follows them in the store and writes the
day's workbook, and sends nothing. The first cycle (first sight of 5,000 transactions) is
shown apart; the figure is a steady cycle, as the 30-second schedule repeats it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bench import worlds
from bench.common import Figure, Options, Stat, World, bot_env, run_bot, seconds, shown
from bots.clock import JAKARTA

ORDER = 40
TRANSACTIONS = 5_000


def run(options: Options) -> list[Figure]:
    folder = options.folder("pending")
    now = datetime.now(JAKARTA).replace(microsecond=0)
    seed = worlds.transactions(folder / "world", TRANSACTIONS, now - timedelta(minutes=1))
    with World(seed) as world:
        env = bot_env(world.url, folder, BOTS_NOW=now.isoformat())
        first, done = run_bot("check_pending_tx", env)
        if done.returncode != 0:
            raise RuntimeError(f"check_pending_tx failed (exit {done.returncode}): {done.stderr[-2000:]}")
        cycles = []
        for _ in range(options.n(5, 2)):
            wall, done = run_bot("check_pending_tx", env)
            if done.returncode != 0:
                raise RuntimeError(f"check_pending_tx failed (exit {done.returncode}): {done.stderr[-2000:]}")
            cycles.append(wall)
        sent = len(world.state()["complaints"])
    stat = Stat(cycles)
    return [Figure(f"`check_pending_tx` cycle, {TRANSACTIONS:,} open transactions, nothing to send",
                   shown(stat), "—", None, "≤ 3 s wall", stat.median <= 3.0,
                   f"whole process: start, browser, login, exports, store, workbook; first sight {seconds(first)}; "
                   f"complaints sent {sent}",
                   {"steady": stat.as_json(), "first_cycle": first, "complaints_sent": sent})]
