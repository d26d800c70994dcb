"""The store: migrations, SQLite settings, runs, the exactly-once journal, a locked database.

Tests that take `store` or `store_url` run on SQLite and on PostgreSQL (tests/conftest.py);
the rest are about SQLite's own file, pragmas and locking."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc

from bots.errors import StoreConflict, StoreUnavailable
from bots.store import Action, RunRecord, Store
from tests.stores import race_processes, store_query

#: Every migration in bots/store/migrations/versions, oldest first (named NNNN_name.py).
ALL_REVISIONS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "bots" / "store" / "migrations"
                                        / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))

REPO = Path(__file__).resolve().parents[1]
WIB = timezone(timedelta(hours=7))  # Jakarta, where the back office works
T0 = datetime(2026, 11, 22, 9, 15, 3, 250000, tzinfo=WIB)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "bots.sqlite3"


@pytest.fixture
def run(store: Store) -> str:
    store.start_run("reconcile_payments", "run-1", T0, pid=4242)
    return "run-1"


def _python(code: str, *args: str) -> subprocess.Popen:
    """A python subprocess from this venv, talking over pipes, able to import ``bots``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


# -- migrations and SQLite settings ------------------------------------------------------------

def test_migrate_applies_the_base_once_and_records_it(new_store_url: str):
    store_url = new_store_url
    store = Store(store_url)
    try:
        assert store.migrate() == ALL_REVISIONS
        assert store.migrate() == []
    finally:
        store.dispose()
    assert store_query(store_url, "SELECT version_num FROM alembic_version") == [(ALL_REVISIONS[-1],)]
    for table in ("runs", "actions", "action_events"):
        assert store_query(store_url, f"SELECT count(*) FROM {table}") == [(0,)]
    again = Store(store_url)
    try:
        assert again.migrate() == []
    finally:
        again.dispose()


def test_store_creates_the_parent_directory(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path}/a/b/bots.sqlite3")
    try:
        store.migrate()
    finally:
        store.dispose()
    assert (tmp_path / "a" / "b" / "bots.sqlite3").is_file()


def test_every_connection_gets_wal_full_sync_foreign_keys_and_busy_timeout(db_path: Path):
    store = Store(f"sqlite:///{db_path}", busy_timeout_ms=1234)
    try:
        store.migrate()
        store.dispose()  # the next read opens a fresh connection
        with store.read() as conn:
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 1234
    finally:
        store.dispose()
    with sqlite3.connect(db_path) as raw:  # WAL is a property of the file, seen by anyone
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_two_processes_migrating_at_once_both_succeed(new_store_url: str):
    store_url = new_store_url
    code = ("import sys; from bots.store import Store; s = Store(sys.argv[1]); "
            "print('ready', flush=True); sys.stdin.readline(); print(s.migrate(), flush=True)")
    outputs = race_processes(code, [store_url], [store_url])
    assert sorted(outputs) == [str(ALL_REVISIONS), "[]"]
    assert store_query(store_url, "SELECT version_num FROM alembic_version") == [(ALL_REVISIONS[-1],)]


# -- transactions ----------------------------------------------------------------------------------

def test_write_commits_and_rolls_back_on_error(store: Store, run: str):
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            conn.exec_driver_sql("UPDATE runs SET message = 'half done'")
            raise RuntimeError("boom")
    assert store.last_run("reconcile_payments").message is None
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE runs SET message = 'whole'")
    assert store.last_run("reconcile_payments").message == "whole"


def test_read_refuses_to_write(store: Store, run: str):
    with pytest.raises(sa_exc.DBAPIError, match="readonly|read-only"):
        with store.read() as conn:
            conn.exec_driver_sql("DELETE FROM runs")
    assert store.last_run("reconcile_payments") is not None
    with store.write() as conn:  # the pooled connection is writable again afterwards
        conn.exec_driver_sql("UPDATE runs SET message = 'after a read'")


def test_a_write_transaction_held_elsewhere_makes_writes_unavailable(db_path: Path):
    store = Store(f"sqlite:///{db_path}", busy_timeout_ms=300)
    store.migrate()
    store.start_run("reconcile_payments", "run-1", T0)
    with store.write() as conn:  # a write queues this long for the lock before it gives up
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 300
    holder = _python(
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
        "conn.execute('ROLLBACK')\n",
        str(db_path))
    try:
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
        with pytest.raises(StoreUnavailable, match=r"is locked: .* 300 ms") as caught:
            with store.write():
                pass
        assert isinstance(caught.value.__cause__, sa_exc.OperationalError)
        with pytest.raises(StoreUnavailable):
            store.record_intent("k", "reconcile_payments", "approve_ticket", {}, "run-1", T0)
        # WAL: readers are not blocked by the writer.
        assert store.last_run("reconcile_payments").run_id == "run-1"
    finally:
        holder.communicate("release\n", timeout=10)
    store.record_intent("k", "reconcile_payments", "approve_ticket", {}, "run-1", T0)
    store.dispose()


def test_an_in_memory_store_works_for_quick_tests():
    store = Store("sqlite://")
    try:
        assert store.migrate() == ALL_REVISIONS
        store.start_run("reconcile_payments", "run-1", T0)
        assert store.last_run("reconcile_payments").started_at == T0
    finally:
        store.dispose()


def test_an_unopenable_database_is_unavailable_not_a_raw_error(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path}")  # a directory, not a database file
    try:
        with pytest.raises(StoreUnavailable, match="unreachable: unable to open database file"):
            store.migrate()
    finally:
        store.dispose()


# -- runs -------------------------------------------------------------------------------------------

def test_run_round_trip_keeps_aware_datetimes(store: Store, run: str):
    started = store.last_run("reconcile_payments")
    assert started == RunRecord(run_id="run-1", bot="reconcile_payments", started_at=T0, ended_at=None,
                                outcome=None, exit_code=None, dry_run=False, counts={}, message=None,
                                pid=4242)
    assert started.started_at.utcoffset() == timedelta(0)  # stored and returned in UTC
    assert store.last_run("reconcile_payments", finished_only=True) is None

    ended = T0 + timedelta(minutes=2, microseconds=7)
    store.finish_run("run-1", ended, "ok", 0, counts={"approved": 3, "escalated": 1}, message="selesai")
    finished = store.last_run("reconcile_payments", finished_only=True)
    assert finished.ended_at == ended and finished.ended_at.tzinfo is not None
    assert (finished.outcome, finished.exit_code, finished.counts, finished.message) == (
        "ok", 0, {"approved": 3, "escalated": 1}, "selesai")
    assert store.last_run("check_pending_tx") is None


def test_last_run_orders_by_instant_not_by_offset(store: Store):
    # 10:00 in Jakarta is 03:00 UTC, earlier than 04:00 UTC although "10" > "04".
    store.start_run("reconcile_payments", "jakarta", datetime(2026, 11, 22, 10, 0, tzinfo=WIB))
    store.start_run("reconcile_payments", "utc", datetime(2026, 11, 22, 4, 0, tzinfo=timezone.utc))
    store.start_run("reconcile_payments", "earliest", datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc))
    assert store.last_run("reconcile_payments").run_id == "utc"
    assert [r.run_id for r in store.runs()] == ["utc", "jakarta", "earliest"]
    assert [r.run_id for r in store.runs("reconcile_payments", limit=2)] == ["utc", "jakarta"]
    assert store.runs("check_pending_tx") == []


def test_run_mistakes_are_refused(store: Store, run: str):
    with pytest.raises(ValueError, match="already started"):
        store.start_run("reconcile_payments", "run-1", T0)
    with pytest.raises(KeyError):
        store.finish_run("no-such-run", T0, "ok", 0)
    with pytest.raises(ValueError, match="aware"):
        store.start_run("reconcile_payments", "run-2", datetime(2026, 11, 22, 9, 0))
    store.finish_run("run-1", T0, "dry_run", 0)
    with pytest.raises(ValueError, match="already finished"):
        store.finish_run("run-1", T0, "ok", 0)
    store.start_run("reconcile_payments", "run-3", T0, dry_run=True)
    assert {r.run_id: r.dry_run for r in store.runs()} == {"run-1": False, "run-3": True}


# -- the journal --------------------------------------------------------------------------------------

def test_a_second_intent_for_the_same_key_returns_the_first(store: Store, run: str):
    payload = {"ticket": "DEP-0042", "amount": 150000, "agent": "Toko Sinar Jaya — Bekasi"}
    first, created = store.record_intent("approve:DEP-0042", "reconcile_payments", "approve_ticket",
                                         payload, run, T0)
    assert created is True
    assert first == Action(key="approve:DEP-0042", bot="reconcile_payments", kind="approve_ticket",
                           state="intent", payload=payload, result=None, run_id=run, attempts=0,
                           error=None, created_at=T0, updated_at=T0, owner_run=run,
                           owner_host=socket.gethostname(), owner_pid=os.getpid(), lease_until=None)
    second, created = store.record_intent("approve:DEP-0042", "reconcile_payments", "approve_ticket",
                                          {"ticket": "DEP-0042", "amount": 1}, run, T0 + timedelta(hours=1))
    assert created is False
    assert second == first
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM actions").scalar() == 1


def test_the_key_is_unique_in_the_database_itself(store: Store, run: str):
    store.record_intent("k", "reconcile_payments", "approve_ticket", {}, run, T0)
    with pytest.raises(StoreConflict, match="another process wrote the same row") as caught:
        with store.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO actions (key, bot, kind, state, payload, run_id, attempts, created_at,"
                " updated_at) VALUES ('k', 'b', 'approve_ticket', 'intent', '{}', 'run-1', 0,"
                " '2026-11-22T00:00:00+00:00', '2026-11-22T00:00:00+00:00')")
    assert isinstance(caught.value.__cause__, sa_exc.IntegrityError)
    assert caught.value.exit_code == 3  # tried again, never a traceback


def test_transitions_count_attempts_and_keep_results(store: Store, run: str):
    store.record_intent("k", "reconcile_payments", "approve_ticket", {"ticket": 1}, run, T0)
    t1, t2, t3, t4 = (T0 + timedelta(minutes=n) for n in (1, 2, 3, 4))
    assert store.mark_in_flight("k", t1).attempts == 1
    failed = store.mark_failed("k", "portal timeout after the click", t2)
    assert (failed.state, failed.error, failed.updated_at, failed.created_at) == (
        "failed", "portal timeout after the click", t2, T0)
    retried = store.mark_in_flight("k", t3)
    assert (retried.state, retried.attempts) == ("in_flight", 2)
    done = store.mark_done("k", {"approved_by": "bot", "balance": 150000}, t4)
    assert (done.state, done.result, done.attempts, done.updated_at) == (
        "done", {"approved_by": "bot", "balance": 150000}, 2, t4)
    assert store.get_action("k") == done


def test_refused_transitions(store: Store, run: str):
    with pytest.raises(KeyError):
        store.mark_done("unknown", {}, T0)
    with pytest.raises(KeyError):
        store.mark_in_flight("unknown", T0)
    assert store.get_action("unknown") is None
    store.record_intent("k", "reconcile_payments", "approve_ticket", {}, run, T0)
    store.mark_done("k", {"seen_in_portal": True}, T0)  # the check found it already happened
    for attempt in (lambda: store.mark_in_flight("k", T0), lambda: store.mark_failed("k", "x", T0),
                    lambda: store.mark_done("k", {}, T0)):
        with pytest.raises(ValueError, match="is done"):
            attempt()
    assert store.get_action("k").attempts == 0
    with pytest.raises(ValueError, match="never started"):
        store.record_intent("k2", "reconcile_payments", "approve_ticket", {}, "no-such-run", T0)
    with pytest.raises(ValueError, match="aware"):
        store.mark_in_flight("k", datetime(2026, 11, 22))


def test_unfinished_lists_intent_in_flight_and_failed_oldest_first(store: Store, run: str):
    store.start_run("check_pending_tx", "run-2", T0)
    record = lambda key, minutes, bot="reconcile_payments", run_id=run: store.record_intent(  # noqa: E731
        key, bot, "approve_ticket", {}, run_id, T0 + timedelta(minutes=minutes))
    record("late-intent", 5)
    record("early-in-flight", 1)
    record("done", 0)
    record("failed", 2)
    record("refused", 3)
    record("other-bot", 0, bot="check_pending_tx", run_id="run-2")
    store.mark_in_flight("early-in-flight", T0 + timedelta(minutes=6))
    store.mark_done("done", {}, T0)
    store.mark_failed("failed", "the portal shows it not done", T0)
    store.mark_refused("refused", "Agen Tidak Ditemukan", T0)
    # failed: tried again; done and refused: finished
    assert [a.key for a in store.unfinished("reconcile_payments")] == ["early-in-flight", "failed", "late-intent"]
    assert [a.key for a in store.unfinished("check_pending_tx")] == ["other-bot"]
    assert store.unfinished("esim_activation_queue") == []


@pytest.mark.store_backends("sqlite")  # on PostgreSQL in make test: tests/test_pg_concurrency.py's races
def test_processes_racing_for_the_same_key_create_exactly_one_intent(store: Store, run: str, store_url: str):
    code = ("import sys; from datetime import datetime, timezone; from bots.store import Store\n"
            "s = Store(sys.argv[1]); print('ready', flush=True); sys.stdin.readline()\n"
            "action, created = s.record_intent('approve:DEP-7', 'reconcile_payments', 'approve_ticket',"
            " {'by': sys.argv[2]}, 'run-1', datetime(2026, 11, 22, tzinfo=timezone.utc))\n"
            "print(created, action.payload['by'], flush=True)\n")
    answers = [out.split() for out in race_processes(code, *([store_url, str(n)] for n in range(3)))]
    assert sorted(created for created, _ in answers) == ["False", "False", "True"]
    assert len({by for _, by in answers}) == 1  # everyone sees the winner's row
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM actions").scalar() == 1
