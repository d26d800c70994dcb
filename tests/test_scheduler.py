"""The scheduler's rules: Jakarta times, one catch-up after downtime, no overlap. A real scheduler
process (TZ=UTC, with manual runs beside it) is in tests/test_concurrency.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from loguru import logger

from bots.clock import FixedClock
from bots.scheduler import build_scheduler, catch_up_due, list_jobs, on_overrun
from bots.settings import Schedule, load_settings
from tests.conftest import DEMO_ENV

JAKARTA = ZoneInfo("Asia/Jakarta")
AT_NINE = datetime(2026, 11, 23, 9, 0, tzinfo=JAKARTA)


def test_interval_catch_up_once_after_downtime():
    every = Schedule("reconcile_payments", every_seconds=120)
    assert catch_up_due(every, JAKARTA, AT_NINE - timedelta(hours=3), AT_NINE)  # down for 3 hours
    assert not catch_up_due(every, JAKARTA, AT_NINE - timedelta(seconds=60), AT_NINE)  # not due yet
    assert not catch_up_due(every, JAKARTA, None, AT_NINE)  # first start ever: wait for the schedule


def test_cron_catch_up_only_when_a_fire_was_missed():
    cron = Schedule("esim_activation_queue", cron="0 8-17 * * mon-sat")
    assert catch_up_due(cron, JAKARTA, AT_NINE - timedelta(hours=3), AT_NINE)  # 08:00 was missed
    assert not catch_up_due(cron, JAKARTA, AT_NINE - timedelta(minutes=30), AT_NINE - timedelta(minutes=1))
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=JAKARTA)
    assert not catch_up_due(cron, JAKARTA, sunday - timedelta(hours=2), sunday)  # no fires on Sunday


def test_jobs_never_overlap_coalesce_and_catch_up_at_start():
    settings = load_settings(env_file=DEMO_ENV, environ={})
    clock = FixedClock(AT_NINE)
    scheduler = build_scheduler(settings, launcher=lambda bot: 0, clock=clock, blocking=False,
                                last_start=lambda bot: AT_NINE - timedelta(hours=3))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert "portal_check" in jobs
    job = jobs["portal_check"]
    assert job.max_instances == 1 and job.coalesce is True
    assert job.misfire_grace_time == settings.misfire_grace_seconds
    assert job.next_run_time == AT_NINE  # one catch-up run now, not one per missed fire
    for bot in ("reconcile_payments", "check_pending_tx", "esim_activation_queue"):
        try:
            __import__(f"bots.{bot}")
        except ModuleNotFoundError:
            assert bot not in jobs  # not built yet: not scheduled


def test_an_overrun_is_logged_as_a_skipped_fire():
    lines = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING")
    try:
        on_overrun(SimpleNamespace(job_id="reconcile_payments", scheduled_run_times=[AT_NINE]))
    finally:
        logger.remove(sink)
    assert "reconcile_payments is still running" in lines[0] and "skipped" in lines[0]


def test_list_jobs_uses_the_injected_clock():
    settings = load_settings(env_file=DEMO_ENV, environ={})
    text = list_jobs(settings, FixedClock(datetime(2026, 11, 23, 7, 0, tzinfo=JAKARTA)))
    assert "portal_check            cron 45 6 * * *" in text and "2026-11-24 06:45:00 +0700" in text
