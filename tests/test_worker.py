"""Queue mode (bots/worker): Jakarta schedules as UTC cron, the settings, and workers on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from croniter import croniter

from bots.clock import JAKARTA
from bots.errors import ConfigError
from bots.settings import Schedule, load_settings
from bots.worker import conninfo, fires, kill_tree
from bots.worker.cron import every_crons, fixed_offset, utc_crons

ROOT = Path(__file__).resolve().parents[1]


def jakarta_fires(line: str, start: datetime, end: datetime) -> list[datetime]:
    """When APScheduler (the `schedule` mode) fires a Jakarta crontab line, in UTC."""
    from apscheduler.triggers.cron import CronTrigger

    trigger, out, last = CronTrigger.from_crontab(line, timezone=JAKARTA), [], None
    moment = trigger.get_next_fire_time(None, start)
    while moment and moment < end:
        out.append(moment.astimezone(timezone.utc))
        last = moment
        moment = trigger.get_next_fire_time(last, last + timedelta(seconds=1))
    return out


def utc_fires(lines: list[str], start: datetime, end: datetime) -> list[datetime]:
    """When croniter (under Procrastinate) fires the UTC lines, from the same start."""
    out = set()
    for line in lines:
        it = croniter(line, start.astimezone(timezone.utc) - timedelta(seconds=1))
        while (moment := it.get_next(datetime)) < end:
            out.add(moment.astimezone(timezone.utc))
    return sorted(out)


@pytest.mark.parametrize("line, expected", [
    ("0 8-17 * * mon-sat", ["0 1-10 * * 1-6"]),           # office hours: the same UTC day
    ("45 6 * * *", ["45 23 * * *"]),                        # before the day starts: the evening before
    ("0 5-8 * * mon", ["0 22-23 * * 0", "0 0-1 * * 1"]),    # across midnight: two lines, two weekdays
    ("30 7 * * sun", ["30 0 * * 0"]),                       # 07:00 WIB is 00:00 UTC: the same day
    ("59 6 * * mon", ["59 23 * * 0"]),                      # one minute before: Sunday evening in UTC
])
def test_jakarta_crontab_becomes_utc(line, expected):
    assert utc_crons(line, JAKARTA) == expected


@pytest.mark.parametrize("line", ["0 8-17 * * mon-sat", "45 6 * * *", "0 5-8 * * mon", "*/20 6-7 * * sun,wed",
                                  "0 0 * * *", "15 23 * * fri", "0 7 * * 0", "0,30 0-23/3 * * 1-5",
                                  "0 9 1,15 * *", "0 12 * 1-6 *"])
def test_utc_lines_fire_when_the_jakarta_line_fires(line):
    """Every fire over three weeks (a month end and every weekday) is the same instant in both modes."""
    start = datetime(2026, 11, 20, tzinfo=timezone.utc)
    end = start + timedelta(days=21)
    assert utc_fires(utc_crons(line, JAKARTA), start, end) == jakarta_fires(line, start, end)


def test_office_hours_edges():
    """`0 8-17 * * mon-sat`: first fire 08:00 WIB Monday (01:00 UTC), last 17:00 Saturday, none on Sunday."""
    fired = utc_fires(utc_crons("0 8-17 * * mon-sat", JAKARTA), datetime(2026, 11, 22, tzinfo=timezone.utc),
                      datetime(2026, 11, 30, tzinfo=timezone.utc))
    in_jakarta = [f.astimezone(JAKARTA) for f in fired]
    assert in_jakarta[0] == datetime(2026, 11, 23, 8, 0, tzinfo=JAKARTA)  # Monday, Sunday the 22nd skipped
    assert in_jakarta[-1] == datetime(2026, 11, 28, 17, 0, tzinfo=JAKARTA)  # Saturday
    assert {f.hour for f in in_jakarta} == set(range(8, 18))
    assert all(f.weekday() != 6 for f in in_jakarta)


def test_every_fires_on_the_clock():
    assert every_crons(30, JAKARTA) == ["* * * * * */30"]
    assert every_crons(120, JAKARTA) == ["*/2 * * * *"]
    assert every_crons(86400, JAKARTA) == ["0 17 * * *"]  # every day at midnight in Jakarta
    seconds = utc_fires(every_crons(30, JAKARTA), datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc),
                        datetime(2026, 11, 23, 1, 2, tzinfo=timezone.utc))
    assert [s.second for s in seconds] == [0, 30, 0, 30]


@pytest.mark.parametrize("call, key", [
    (lambda: every_crons(7 * 60, JAKARTA, "schedule.jobs.x.every"), "schedule.jobs.x.every"),
    (lambda: utc_crons("0 0 1 * *", JAKARTA, "k"), "k"),          # a month day that falls the day before in UTC
    (lambda: utc_crons("0 8 * * mon-fri *", JAKARTA, "k"), "k"),   # six fields
    (lambda: utc_crons("0 8 L * *", JAKARTA, "k"), "k"),
    (lambda: utc_crons("0 25 * * *", JAKARTA, "k"), "k"),
    (lambda: utc_crons("0 9 1 * mon", JAKARTA, "k"), "k"),         # cron ORs the two day fields, APScheduler ANDs
])
def test_schedules_the_queue_cannot_write_are_refused_by_key(call, key):
    with pytest.raises(ConfigError) as caught:
        call()
    assert caught.value.key == key


def test_a_zone_with_daylight_saving_is_refused():
    from zoneinfo import ZoneInfo

    assert fixed_offset(JAKARTA) == timedelta(hours=7)
    with pytest.raises(ConfigError, match="daylight saving"):
        fixed_offset(ZoneInfo("Europe/Amsterdam"))


def test_fires_of_the_project_schedules(tmp_path):
    settings = load_settings(environ={}, root=ROOT)
    by_bot = {f.bot: f for f in fires(settings.schedules, settings.tz)}
    assert by_bot["check_pending_tx"].cron == "* * * * * */30"
    assert by_bot["reconcile_payments"].cron == "*/2 * * * *"
    assert by_bot["esim_activation_queue"].cron == "0 1-10 * * 1-6"
    assert by_bot["portal_check"].cron == "45 23 * * *"
    split = fires({"x": Schedule("x", cron="0 5-8 * * mon")}, JAKARTA)
    assert [f.periodic_id for f in split] == ["x#1", "x#2"]


def test_mode_setting(tmp_path):
    assert load_settings(environ={}, root=tmp_path).schedule_mode == "scheduler"
    assert load_settings(environ={"BOTS_SCHEDULE_MODE": "queue"}, root=tmp_path).schedule_mode == "queue"
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"BOTS_SCHEDULE_MODE": "cluster"}, root=tmp_path)
    assert caught.value.key == "schedule.mode"
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"BOTS_BROWSER_SLOTS": "0"}, root=tmp_path)
    assert caught.value.key == "BOTS_BROWSER_SLOTS"


def test_conninfo_for_libpq():
    assert conninfo("postgresql+psycopg://bots:s3cret@db:5433/bots") == "postgresql://bots:s3cret@db:5433/bots"
    with pytest.raises(ConfigError) as caught:
        conninfo("sqlite:///var/bots.sqlite3")
    assert caught.value.key == "DATABASE_URL"


_TREE = """
import subprocess, sys, time
# a child in a session (and process group) of its own, as Playwright starts Chromium
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
print(child.pid, flush=True)
time.sleep(600)
"""


def test_a_lost_slot_kills_the_run_and_the_browser_it_started():
    run = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True)
    browser = int(run.stdout.readline())
    assert os.getpgid(browser) != os.getpgid(run.pid)  # a group kill of the run would miss it
    kill_tree(run.pid)
    assert run.wait(timeout=10) == -signal.SIGKILL
    for _ in range(100):  # the orphan is reaped by init: gone, or a zombie, within moments
        try:
            state = Path(f"/proc/{browser}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            break
        if state == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the run's browser {browser} still runs after kill_tree")


def test_worker_on_sqlite_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOTS_", "DATABASE_URL"))}
    done = subprocess.run([sys.executable, "-m", "bots", "worker"], cwd=ROOT, capture_output=True, text=True,
                          env={**env, "VAR_DIR": str(tmp_path / "var"), "LOGS_DIR": str(tmp_path / "logs")},
                          timeout=60)
    assert done.returncode == 2
    assert "DATABASE_URL" in done.stderr and "postgresql" in done.stderr


def test_two_workers_run_each_fire_once(postgres, tmp_path):
    """Two workers, one PostgreSQL, a fire every 2 s: every fire deferred once and run once."""
    url = postgres.url(postgres.create_database())
    config = tmp_path / "config"
    config.mkdir()
    (config / "bots.toml").write_text('[schedule.jobs.portal_check]\nevery = "2s"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOTS_", "DATABASE_URL"))}
    env.update(DATABASE_URL=url, BOTS_CONFIG_DIR=str(config), VAR_DIR=str(tmp_path / "var"),
               LOGS_DIR=str(tmp_path / "logs"), REPORTS_DIR=str(tmp_path / "reports"))
    workers = [subprocess.Popen([sys.executable, "-m", "bots", "worker", "--name", f"w{n}"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for n in (1, 2)]
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _succeeded(engine) < 3:
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        logs = [w.communicate(timeout=60)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs

    with engine.connect() as conn:
        defers = conn.exec_driver_sql("SELECT args->>'timestamp', count(*) FROM procrastinate_jobs "
                                      "GROUP BY 1").all()
        jobs = conn.exec_driver_sql("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status").all()
        runs = conn.exec_driver_sql("SELECT started_at FROM runs WHERE bot = 'portal_check' "
                                    "ORDER BY started_at").scalars().all()
    engine.dispose()
    assert len(defers) >= 3 and all(n == 1 for _, n in defers), logs  # one job per fire time
    done = dict(jobs).get("succeeded", 0)
    assert done >= 3 and len(runs) == done                          # each fire ran once: one run each
    both = [log for log in logs if "portal_check finished" in log]
    assert both, logs


def _succeeded(engine) -> int:
    import sqlalchemy as sa

    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'").scalar()
    except sa.exc.ProgrammingError:  # the first worker has not created the tables yet
        return 0
