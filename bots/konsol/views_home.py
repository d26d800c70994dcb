"""Ringkasan: the state of the bots at a glance, read from the store (no bot logic here).

Per bot: the last run and its outcome, the next fire of its schedule, who holds its lock; the
open escalations by code with the oldest one's age; the actions in doubt; the failed runs of
the last 3 days.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, url_for

from bots.konsol.auth import konsol
from bots.konsol.roles import requires
from bots.store.models import runs

blueprint = Blueprint("ringkasan", __name__)

#: Outcomes of a run that went as it should.
GOOD = ("ok", "dry_run")
OUTCOME_WORDS = {"ok": "berhasil", "dry_run": "uji coba", "bad_input": "input salah", "portal_down": "portal mati",
                 "locked": "terkunci (run lain)", "error": "galat", "in_doubt": "ragu", None: "sedang berjalan"}


def bot_rows(state, now) -> list[dict]:
    from bots.konsol.services.launch import who_holds
    from bots.runner import BOTS

    settings, store = state.settings, state.store
    rows = []
    for bot in BOTS:
        last = store.last_run(bot)
        schedule = settings.schedules.get(bot)
        rows.append({"bot": bot, "last": last, "outcome": OUTCOME_WORDS.get(last.outcome, last.outcome) if last else "-",
                     "good": last is None or last.outcome in GOOD or last.outcome is None,
                     "schedule": schedule_words(schedule), "next": next_fire(schedule, settings.tz, last, now),
                     "holder": _holder_words(who_holds(settings, bot))})
    return rows


def _holder_words(holder: dict | None) -> str | None:
    return None if holder is None else holder["detail"].replace(", since ", ", sejak ")


def schedule_words(schedule) -> str:
    if schedule is None:
        return "tidak dijadwalkan"
    if schedule.every_seconds:
        seconds = schedule.every_seconds
        for size, unit in ((3600, "jam"), (60, "menit")):
            if seconds % size == 0:
                return f"setiap {seconds // size} {unit}"
        return f"setiap {seconds} detik"
    return f"cron {schedule.cron}"


def next_fire(schedule, tz, last, now):
    """The schedule's next fire after now: a cron line's next time; an interval's, counted from
    the last run's start (the scheduler's own start is not in the store), now when overdue."""
    from bots.scheduler import trigger_for

    if schedule is None:
        return None
    if schedule.every_seconds:
        if last is None:
            return now
        return max(last.started_at + timedelta(seconds=schedule.every_seconds), now)
    return trigger_for(schedule, tz, start=now).get_next_fire_time(None, now)


def open_escalations(state) -> list[dict]:
    from bots.reconcile.ledger import Ledger

    by_code: dict[str, list] = defaultdict(list)
    for e in Ledger(state.store).escalations(status="OPEN"):
        by_code[e.code].append(e)
    return [{"code": code, "count": len(items), "oldest": min(e.created_at for e in items)}
            for code, items in sorted(by_code.items())]


def failed_runs(state, now, days: int = 3) -> list:
    query = (sa.select(runs).where(runs.c.started_at >= now - timedelta(days=days),
                                   runs.c.outcome.is_not(None), runs.c.outcome.not_in(GOOD))
             .order_by(runs.c.started_at.desc()).limit(100))
    with state.store.read() as conn:
        return conn.execute(query).all()


@blueprint.get("/")
@requires("ringkasan.view")
def home():
    return redirect(url_for("ringkasan.index"))


@blueprint.get("/ringkasan")
@requires("ringkasan.view")
def index():
    from bots.konsol.format import age

    state = konsol()
    now = state.clock.now()
    return render_template("ringkasan.html", bots=bot_rows(state, now), escalations=open_escalations(state),
                           doubts=len(state.store.actions(state="in_doubt")), failed=failed_runs(state, now),
                           age=lambda t: age(t, now), words=OUTCOME_WORDS)
