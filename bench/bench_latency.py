"""Deposit-to-credit latency under the real scheduler, with its default schedule.

A world with agents and the demo bank accounts; `python -m bots schedule` runs against it
as it would in production (config/bots.toml's schedules: reconcile_payments every 2 minutes,
check_pending_tx every 30 seconds…). At random moments over 15 minutes a transfer paying a
ticket exactly is posted to a random bank account through the control API, its ticket opened
30 s to 3 minutes before (a ticket opened in the very second of its transfer can fall between
a run's ticket read and its statement read, and is escalated: see the README). Latency is
the world's approval time of the ticket minus the mutation's posting time. This takes 15
minutes of wall clock (plus the last credits), so `python -m bench` runs it in a thread
beside the other figures.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from datetime import datetime

from bench import worlds
from bench.common import PYTHON, ROOT, Figure, Options, Stat, World, bot_env, seconds

ORDER = 0
BACKGROUND = True


def run(options: Options, stop: threading.Event | None = None) -> list[Figure]:
    minutes = options.n(15, 4)
    deposits = options.n(30, 8)
    rng = random.Random(20261123)
    moments = sorted(rng.uniform(0, minutes * 60) for _ in range(deposits))
    folder = options.folder("latency")
    seed = worlds.base(folder / "world")
    with World(seed) as world:
        env = bot_env(world.url, folder)
        scheduler = subprocess.Popen([PYTHON, "-m", "bots", "schedule"], cwd=ROOT, env=env, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            posted = _post_deposits(world, moments, rng)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                approved = {t["ticket_id"]: t for t in world.state()["tickets"] if t["status"] == "APPROVED"}
                if all(ticket in approved for ticket in posted):
                    break
                time.sleep(2)
        finally:
            os.killpg(scheduler.pid, signal.SIGINT)  # the scheduler and the run it may have going
            try:
                scheduler.wait(30)
            except subprocess.TimeoutExpired:
                scheduler.kill()
                scheduler.wait()
        state = world.state()
    tickets = {t["ticket_id"]: t for t in state["tickets"]}
    latencies, missing = [], []
    for ticket_id, at in posted.items():
        approved_at = tickets[ticket_id].get("approved_at")
        if approved_at is None:
            missing.append(ticket_id)
        else:
            latencies.append((datetime.fromisoformat(approved_at) - at).total_seconds())
    credits = [e for e in state["balance_log"] if e["kind"] == "DEPOSIT"]
    stat = Stat(latencies or [float("nan")])
    p50, p95 = stat.quantile(0.5), stat.quantile(0.95)
    met = not missing and p50 <= 75 and p95 <= 150 and len(credits) == len(posted)
    return [Figure(f"deposit-to-credit latency ({deposits} deposits over {minutes} min, scheduler defaults)",
                   f"p50 {seconds(p50)}, p95 {seconds(p95)} (min {seconds(stat.low)}, max {seconds(stat.high)})",
                   "SOP 10 min; 15 min polling", None, "p50 ≤ 75 s, p95 ≤ 150 s", met,
                   f"{len(latencies)} credited, {len(missing)} not credited, {len(credits)} balance credits",
                   {"latencies": stat.as_json(), "p50": p50, "p95": p95, "missing": missing,
                    "balance_credits": len(credits)})]


def _post_deposits(world: World, moments: list[float], rng: random.Random) -> dict[str, datetime]:
    """At each moment a transfer paying a ticket its agent opened 30 s–3 min before (as agents do:
    the ticket first, then the banking app); {ticket: the mutation's posting time}."""
    banks = sorted(worlds.ACCOUNTS)
    events = []
    for n, moment in enumerate(moments, start=1):
        bank = rng.choice(banks)
        events.append((max(0.0, moment - rng.uniform(30, 180)), 0, n, bank))  # the ticket
        events.append((moment, 1, n, bank))                                   # the transfer
    start = time.monotonic()
    posted: dict[str, datetime] = {}
    for at, what, n, bank in sorted(events):
        time.sleep(max(0.0, start + at - time.monotonic()))
        ticket_id, amount = f"LAT{n:04d}", worlds.ticket_amount(500 + n)
        agent = f"AG{n % worlds.AGENTS + 1:04d}"
        if what == 0:
            world.control("rows/tickets", {"ticket_id": ticket_id, "agent_id": agent, "amount": amount,
                                                "bank": bank, "account_no": worlds.ACCOUNTS[bank],
                                                "created_at": "now", "expires_at": "+6h", "status": "OPEN"})
            continue
        now = datetime.fromisoformat(world.get("/__mock/clock")["now"])
        world.control("rows/mutations", {"bank": bank, "account_no": worlds.ACCOUNTS[bank],
                                              "posted_at": now.isoformat(), "amount": amount, "direction": "CR",
                                              "description": f"TRF SETORAN {agent} {ticket_id}"})
        posted[ticket_id] = now
    return posted
