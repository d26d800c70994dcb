"""Prove it holds (issue 6): one run per bot across processes, the schedule's time rules, a locked store.

Every clause of "concurrency and scheduling", and where it is checked:

- the scheduler plus three manual runs at once: one runs, the others exit 4 at once (while it
  still holds the lock) naming it → `test_the_scheduler_and_three_manual_runs_at_once` (a real
  `python -m bots schedule`, its run recorded in the store through the CLI and the lock); named
  even when refused the instant the holder took the lock →
  `test_a_run_refused_as_the_holder_takes_the_lock_still_names_it`
- a holder killed with -9 frees the lock at once, and the next run recovers first →
  `test_a_run_killed_mid_approval_frees_the_lock_and_the_next_run_recovers_first`; the lock on
  its own: tests/test_lock.py `test_a_killed_holder_frees_the_lock_at_once_and_its_note_is_harmless`
- scheduler down for 3 hours → one catch-up run → `test_three_hours_down_is_one_catch_up_run_per_bot`
  (a started scheduler); the rule itself: tests/test_scheduler.py `test_interval_catch_up_once_after_downtime`,
  `test_cron_catch_up_only_when_a_fire_was_missed`, `test_jobs_never_overlap_coalesce_and_catch_up_at_start`
- an overrunning run skips the next fire and says so → `test_the_scheduler_and_three_manual_runs_at_once`
  (a real scheduler, its own run overrunning); the log line: tests/test_scheduler.py
  `test_an_overrun_is_logged_as_a_skipped_fire`
- host `TZ=UTC` still fires Jakarta times → `test_a_utc_host_lists_jakarta_fire_times` (and the
  scheduler of the first test runs with TZ=UTC)
- a database write lock held by another connection makes the run fail before it acts, never
  halfway → `test_a_store_locked_mid_run_fails_the_run_before_it_acts`; the store on its own:
  tests/test_store.py `test_a_write_transaction_held_elsewhere_makes_writes_unavailable`

The killed holder and the locked store run on SQLite in `make test`, on PostgreSQL in `make
test-pg`; PostgreSQL's own races and lock waits: tests/test_pg_concurrency.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from loguru import logger

from bots.clock import FixedClock
from bots.errors import RunLocked
from bots.lock import RunLock
from bots.scheduler import build_scheduler
from bots.settings import load_settings
from bots.store import Store
from tests.conftest import DEMO_ENV, ROOT, MockWorld, run_cli
from tests.stores import store_url_of, write_lock_holder
from tests.reconcile_world import CREDITS, T0, env_file, write_world

JAKARTA = ZoneInfo("Asia/Jakarta")
BOT = "portal_check"


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"waited {seconds:.0f}s for {what}"
        time.sleep(0.05)


def _holder_note(var_dir: Path, bot: str) -> dict | None:
    try:
        return json.loads((var_dir / "bots.sqlite3.locks" / f"{bot}.holder.json").read_text())
    except (OSError, ValueError):
        return None


def _wait_until_free(var_dir: Path, bot: str, seconds: float = 60) -> None:
    """Until no process holds the bot's lock (so no run outlives its test)."""
    RunLock(bot, var_dir / "bots.sqlite3.locks", now=datetime.now(JAKARTA), argv=["test"]).acquire(wait_seconds=seconds).release()


class Output:
    """A process's merged output, read as it comes (the scheduler runs until we stop it)."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def find(self, pattern: str) -> str | None:
        return next((line for line in list(self.lines) if re.search(pattern, line)), None)

    def text(self) -> str:
        return "".join(self.lines)


# -- the scheduler and manual runs -------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.sqlite_store  # reads the lock's holder note beside the SQLite file
def test_the_scheduler_and_three_manual_runs_at_once(world, bot_env, tmp_path):
    """A real `python -m bots schedule` (TZ=UTC) whose run holds the lock; three manual runs at once."""
    world.post("/__mock/faults", {"latency_ms": 1500, "portals": ["otomax"]})  # a run holds the lock for seconds
    config = tmp_path / "config"
    config.mkdir()
    (config / "bots.toml").write_text('[schedule.jobs.portal_check]\nevery = "2s"\n')
    env = bot_env(world.url, portals=("otomax",), BOTS_CONFIG_DIR=str(config), TZ="UTC")
    var = Path(env["VAR_DIR"])
    scheduler = subprocess.Popen([sys.executable, "-m", "bots", "schedule"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, manual, holder = Output(scheduler), [], None
    try:
        note = _wait_for(lambda: _holder_note(var, BOT), 30, "the scheduler's run to take the lock")
        holder = note["pid"]
        assert holder != scheduler.pid and note["argv"][-2:] == ["run", BOT]  # a run in its own process
        # its browser is up and waiting on the portal: the refused runs compete with no start-up
        _wait_for(lambda: world.get("/__mock/faults")["injected"].get("latency"), 30, "the run to reach the portal")

        manual = [subprocess.Popen([sys.executable, "-m", "bots", "run", BOT], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        answers = [run.communicate(timeout=30) for run in manual]
        for run, (_out, err) in zip(manual, answers):
            assert run.returncode == 4, err
            assert f"another run of portal_check is in progress (pid {holder}, since " in err, err
        # refused, not queued: all three answered while the scheduler's run still held the lock
        # (its note goes when it lets go, and a next holder writes its own pid)
        assert (_holder_note(var, BOT) or {}).get("pid") == holder, "the refused runs waited for the holder"

        # fires come while that run is still going: skipped, and the log says so
        skipped = _wait_for(lambda: output.find(r"portal_check is still running .* skipped"), 15,
                            "the scheduler to skip a fire")
    finally:
        scheduler.terminate()
        scheduler.wait(20)
        world.post("/__mock/faults", {})
        _wait_until_free(var, BOT)  # the scheduler's run finishes on its own
        for run in manual:
            if run.poll() is None:
                run.kill()
    assert "runs never overlap" in skipped
    log = output.text()
    assert "scheduler started (Asia/Jakarta)" in log
    assert re.search(r"portal_check\s+every 2s\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0700", log), log
    store = Store(store_url_of(env))
    runs = store.runs(BOT)
    store.dispose()
    assert [(r.pid, r.outcome) for r in runs] == [(holder, "ok")], log  # one run; the refused never started


def test_a_run_refused_as_the_holder_takes_the_lock_still_names_it(tmp_path):
    """The holder's note comes a moment after its lock: a run refused in between waits for it."""
    now = datetime(2026, 11, 23, 9, 0, tzinfo=JAKARTA)
    with RunLock(BOT, tmp_path / "locks", now=now) as held:
        note = held.holder_path.read_text()
        held.holder_path.unlink()  # as if not written yet
        writer = threading.Timer(0.2, held.holder_path.write_text, args=(note,))
        writer.start()
        with pytest.raises(RunLocked, match=rf"\(pid {os.getpid()}, since 2026-11-23 09:00:00\)"):
            RunLock(BOT, tmp_path / "locks", now=now).acquire()
        writer.join()


# -- a killed holder, and the next run ---------------------------------------------------------------

@pytest.fixture
def reconcile(tmp_path, bot_env, store_url):
    """The reconciliation world of tests/reconcile_world.py, at its fixed time T0."""
    folder = write_world(tmp_path / "world")
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    env = bot_env(world.url, BOTS_ENV_FILE=str(env_file(folder)), BOTS_NOW=T0.isoformat(), DATABASE_URL=store_url,
                  NOTIFY_URLS=f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages")
    store = Store(store_url)
    yield world, env, store
    store.dispose()
    world.stop()


def _credits(world) -> list[str]:
    return sorted(entry["ticket_id"] for entry in world.state()["balance_log"])


@pytest.mark.browser
@pytest.mark.store_backends("sqlite")
def test_a_run_killed_mid_approval_frees_the_lock_and_the_next_run_recovers_first(reconcile):
    world, env, store = reconcile
    killed = run_cli("run", "reconcile_payments", env={**env, "BOTS_CRASH_AT": "approve:after_click"})
    assert killed.returncode == -9, killed.stderr
    [clicked] = _credits(world)  # the click landed; its answer died with the process
    key = f"approve:{clicked}"
    assert store.get_action(key).state == "in_flight"
    if store.url.startswith("sqlite"):  # (PostgreSQL: the server ended the dead session, and its lock)
        assert _holder_note(Path(env["VAR_DIR"]), "reconcile_payments") is not None  # the dead holder's note stays

    rerun = run_cli("run", "reconcile_payments", env=env)  # at once: the kernel freed the lock with its holder
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    log = rerun.stderr.splitlines()
    recovering = next(i for i, line in enumerate(log) if f"recovering {key} left in_flight" in line)
    reading = next(i for i, line in enumerate(log) if "deposit tickets read" in line)
    approving = [i for i, line in enumerate(log) if "approving ticket" in line]
    assert recovering < reading and all(recovering < i for i in approving), "\n".join(log)
    assert not any(f"approving ticket {clicked} " in log[i] for i in approving)  # checked, never clicked again
    assert store.get_action(key).state == "done"
    assert _credits(world) == ["TK1", "TK2"]  # each credit once
    balances = {a["agent_id"]: a["balance"] for a in world.state()["agents"]}
    assert balances["AG1"] == 100000 + CREDITS["AG1"] and balances["AG2"] == CREDITS["AG2"]


# -- the store locked by another connection ------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.store_backends("sqlite")
def test_a_store_locked_mid_run_fails_the_run_before_it_acts(reconcile, tmp_path):
    """Another connection takes the write lock once the run has started: exit 3, nothing done."""
    world, env, store = reconcile
    store.migrate()
    before = world.state()
    holder = write_lock_holder(store.url)
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        run = subprocess.Popen([sys.executable, "-m", "bots", "run", "reconcile_payments"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = Output(run)
        _wait_for(lambda: store.last_run("reconcile_payments"), 30, "the run to start")
        holder.stdin.write("lock\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
        # held until the run gives up (after the store's 5 s busy timeout), so it can record why
        _wait_for(lambda: output.find("run ended: the store") or run.poll() is not None, 60, "the run to fail")
    finally:
        holder.communicate("release\n", timeout=10)
    run.wait(60)
    log = output.text()
    assert run.returncode == 3, log  # README "Exit codes": the world (here the store) stayed unavailable
    assert re.search(r"error: the store \S+ is locked: another process (kept a write transaction open|held what we "
                     r"needed for longer than we wait \(lock_timeout 5000 ms)", log)
    assert "deposit tickets read" in log  # it was midway: the world read, nothing acted on yet
    after = world.state()
    for table in ("tickets", "agents", "balance_log", "helpdesk_messages"):
        assert after[table] == before[table], table
    assert store.unfinished("reconcile_payments") == []  # not even an intent
    [failed] = store.runs("reconcile_payments")
    assert (failed.outcome, failed.exit_code) == ("store_unavailable", 3) and "is locked" in failed.message
    assert not (tmp_path / "reports" / "rekonsiliasi").exists()  # no workbook either


# -- time rules, on an injected clock -------------------------------------------------------------------

def test_three_hours_down_is_one_catch_up_run_per_bot(tmp_path):
    """A started scheduler, 3 hours after the last runs: one launch per bot, not one per missed fire."""
    now = datetime.now(JAKARTA)  # APScheduler fires on the real clock; the rule is given this "now"
    hourly = (now.minute + 30) % 60  # fired half an hour ago, fires again in half an hour
    config = tmp_path / "config"
    config.mkdir()
    (config / "bots.toml").write_text(
        '[schedule.jobs.reconcile_payments]\nevery = "2m"\n[schedule.jobs.check_pending_tx]\nevery = "30s"\n'
        f'[schedule.jobs.esim_activation_queue]\ncron = "{hourly} * * * *"\n'
        '[schedule.jobs.portal_check]\nevery = "1h"\n')
    settings = load_settings(env_file=DEMO_ENV, config_dir=config, environ={})
    launched: list[str] = []

    def launch(bot: str) -> int:
        launched.append(bot)
        return 4  # as if a manual run held the bot's lock

    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    scheduler = build_scheduler(settings, launch, clock=FixedClock(now),
                                last_start=lambda bot: now - timedelta(hours=3), blocking=False)
    try:
        scheduler.start()
        _wait_for(lambda: len(launched) >= len(settings.schedules), 10, "the catch-up runs")
        time.sleep(0.5)  # time for a second launch, were there one
    finally:
        scheduler.shutdown(wait=True)
        logger.remove(sink)
    assert sorted(launched) == sorted(settings.schedules)  # each bot once
    assert sum("missed a run while the scheduler was down; one catch-up run now" in line for line in lines) == 4
    # the launcher answered 4: a manual run held the lock; the scheduler says so and waits for the next fire
    assert sum("skipped — another run (a manual one?) holds the lock" in line for line in lines) == 4


def test_a_utc_host_lists_jakarta_fire_times():
    """`schedule --list` on a host with TZ=UTC: the shipped schedules fire at Jakarta times."""
    saturday_evening = "2026-11-28T17:30:00+07:00"  # 10:30 UTC
    env = {**os.environ, "TZ": "UTC", "BOTS_NOW": saturday_evening}
    done = subprocess.run([sys.executable, "-m", "bots", "--env-file", str(DEMO_ENV), "schedule", "--list"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert "next run (Asia/Jakarta)" in done.stdout.splitlines()[0]
    assert listed["reconcile_payments"].endswith("2026-11-28 17:30:00 +0700")  # every 2 minutes from now
    # office hours Monday to Saturday, in Jakarta: not 18:00 WIB (11:00 UTC), not Sunday
    assert listed["esim_activation_queue"].endswith("2026-11-30 08:00:00 +0700")
    assert listed["portal_check"].endswith("2026-11-29 06:45:00 +0700")
