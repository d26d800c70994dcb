"""The run lock on PostgreSQL: a session advisory lock per bot, every host sharing the database
sees it, the server frees it with its session, and fencing notices a lost session."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bots.errors import LockLost, RunLocked
from bots.lock import AdvisoryLock

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


@pytest.fixture(scope="module")
def pg_url(postgres):
    """The session's throwaway cluster (tests/conftest.py), its maintenance database."""
    return postgres.url("postgres")


def test_a_second_holder_is_refused_with_the_holders_name_until_the_first_lets_go(pg_url):
    first = AdvisoryLock("reconcile_payments", pg_url, now=NOW).acquire()
    try:
        with pytest.raises(RunLocked, match=r"pid \d+ on "):
            AdvisoryLock("reconcile_payments", pg_url, now=NOW).acquire()
        with AdvisoryLock("check_pending_tx", pg_url, now=NOW):  # another bot's lock is another lock
            pass
        first.fence()  # still ours
    finally:
        first.release()
    with AdvisoryLock("reconcile_payments", pg_url, now=NOW) as second:
        second.fence()


def test_a_killed_holder_frees_the_lock(pg_url):
    code = ("import sys, time; from datetime import datetime, timezone; from bots.lock import AdvisoryLock;"
            f"AdvisoryLock('esim_activation_queue', {pg_url!r}, now=datetime.now(timezone.utc)).acquire();"
            "print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked):
            AdvisoryLock("esim_activation_queue", pg_url, now=NOW).acquire()
    finally:
        holder.kill()
        holder.wait()
    # the server ends the dead process's session, and its lock with it
    AdvisoryLock("esim_activation_queue", pg_url, now=NOW).acquire(wait_seconds=30).release()


def test_fencing_notices_a_session_the_server_ended(pg_url):
    lock = AdvisoryLock("portal_check", pg_url, now=NOW).acquire()
    try:
        engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            ended = conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE starts_with(application_name, 'bots:portal_check:')").scalars().all()
        engine.dispose()
        assert ended == [True]
        with pytest.raises(LockLost):
            lock.fence()
    finally:
        lock.release()
