"""The unattended scheduler: every bot on its schedule, in Jakarta time, never overlapping.

APScheduler 3.x with the time zone set on the scheduler and on every trigger (so a host with
TZ=UTC still fires 08:00 WIB at 08:00 WIB). Each fire runs `python -m bots run BOT` in a
process of its own — the same lock, store and exit codes as a manual run, and a crashed or
hung browser cannot take the scheduler down. A fire that finds the previous run still going
is skipped with a log line (max_instances=1); fires missed while the scheduler was down are
coalesced into one catch-up run at start.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from typing import Callable

from loguru import logger

from bots.clock import Clock, SystemClock, clock_for
from bots.errors import UnknownBot
from bots.settings import Schedule, Settings

Launcher = Callable[[str], int]


def trigger_for(schedule: Schedule, tz, start: datetime | None = None):
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if schedule.every_seconds:
        return IntervalTrigger(seconds=schedule.every_seconds, timezone=tz, start_date=start)
    return CronTrigger.from_crontab(schedule.cron, timezone=tz)


def describe(schedule: Schedule) -> str:
    return f"every {schedule.every_seconds}s" if schedule.every_seconds else f"cron {schedule.cron}"


def catch_up_due(schedule: Schedule, tz, last_start: datetime | None, now: datetime) -> bool:
    """True when at least one fire fell between the last run's start and now (we were down).

    However many fires were missed, the answer is one run: the bots work from the world's
    current state, so one catch-up covers them all. A first start ever waits for the schedule.
    """
    if last_start is None:
        return False
    if schedule.every_seconds:
        return (now - last_start).total_seconds() >= schedule.every_seconds
    missed = trigger_for(schedule, tz).get_next_fire_time(None, last_start)
    return missed is not None and missed <= now


def scheduled_bots(settings: Settings) -> dict[str, Schedule]:
    """The bots both modes run (this scheduler and the queue mode, bots/worker.py): each
    configured schedule whose bot is built; the others are named in the log and left out."""
    from bots.runner import load_bot

    out = {}
    for bot, schedule in settings.schedules.items():
        try:
            load_bot(bot)
        except UnknownBot as exc:
            logger.info("schedule: {} not scheduled — {}", bot, exc)
            continue
        out[bot] = schedule
    return out


def run_command(bot: str, env_args: list[str]) -> list[str]:
    """The command line of one fire: a run in a process of its own, as a person would type it."""
    return [sys.executable, "-m", "bots", *env_args, "run", bot]


def subprocess_launcher(settings: Settings, env_args: list[str]) -> Launcher:
    def launch(bot: str) -> int:
        done = subprocess.run(run_command(bot, env_args), check=False,
                              stdout=subprocess.DEVNULL)
        return done.returncode

    return launch


def build_scheduler(settings: Settings, launcher: Launcher, *, clock: Clock | None = None,
                    last_start: Callable[[str], datetime | None] | None = None, blocking: bool = True):
    """The configured scheduler (not started). `last_start(bot)` feeds the catch-up rule."""
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    tz = settings.tz
    clock = clock or SystemClock(tz)
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(timezone=tz, executors={"default": ThreadPoolExecutor(max(4, len(settings.schedules)))})
    now = clock.now()
    for bot, schedule in scheduled_bots(settings).items():
        trigger = trigger_for(schedule, tz, start=now)
        options = {}
        if last_start and catch_up_due(schedule, tz, last_start(bot), now):
            logger.info("schedule: {} missed a run while the scheduler was down; one catch-up run now", bot)
            options["next_run_time"] = now
        scheduler.add_job(_fire, trigger, args=[launcher, bot], id=bot, name=bot, coalesce=True,
                          max_instances=1, misfire_grace_time=settings.misfire_grace_seconds, **options)
    scheduler.add_listener(on_overrun, EVENT_JOB_MAX_INSTANCES)
    return scheduler


def on_overrun(event) -> None:
    """A fire came while the bot's previous run was still going: skip it, and say so."""
    logger.warning("schedule: {} is still running at {}; this fire is skipped (runs never overlap)",
                   event.job_id, event.scheduled_run_times[0] if event.scheduled_run_times else "now")


def _fire(launcher: Launcher, bot: str) -> None:
    code = launcher(bot)
    if code == 4:
        logger.info("schedule: {} skipped — another run (a manual one?) holds the lock", bot)
    elif code == 0:
        logger.info("schedule: {} finished", bot)
    else:
        logger.warning("schedule: {} ended with exit code {}", bot, code)


def list_jobs(settings: Settings, clock: Clock | None = None) -> str:
    """One line per bot: its schedule and next run time (Asia/Jakarta)."""
    from bots.runner import BOTS, load_bot

    now = (clock or clock_for(settings)).now()
    lines = [f"{'bot':<24}{'schedule':<26}next run ({settings.timezone})"]
    for bot in BOTS:
        schedule = settings.schedules.get(bot)
        if schedule is None:
            lines.append(f"{bot:<24}{'(not scheduled)':<26}-")
            continue
        try:
            load_bot(bot)
        except UnknownBot:
            lines.append(f"{bot:<24}{describe(schedule):<26}(not built yet)")
            continue
        next_fire = trigger_for(schedule, settings.tz, start=now).get_next_fire_time(None, now)
        lines.append(f"{bot:<24}{describe(schedule):<26}{next_fire:%Y-%m-%d %H:%M:%S %z}")
    return "\n".join(lines)


def run_scheduler(settings: Settings, env_args: list[str] | None = None) -> None:
    """Start the scheduler in the foreground until Ctrl-C or SIGTERM."""
    from bots.store import Store

    store = Store(settings.database_url, settings.busy_timeout_ms)
    store.migrate()

    def last_start(bot: str):
        record = store.last_run(bot)
        return record.started_at if record else None

    env_args = env_args if env_args is not None else env_args_from_argv()
    scheduler = build_scheduler(settings, subprocess_launcher(settings, env_args), last_start=last_start)
    logger.info("scheduler started ({}); jobs:\n{}", settings.timezone, list_jobs(settings))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        store.dispose()


def env_args_from_argv() -> list[str]:
    """Pass the scheduler's own --env-file/--config-dir/--portals-url on to each run."""
    args, argv = [], sys.argv[1:]
    for flag in ("--env-file", "--config-dir", "--portals-url"):
        if flag in argv and argv.index(flag) + 1 < len(argv):
            args += [flag, argv[argv.index(flag) + 1]]
    return args
