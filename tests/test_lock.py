"""One run per bot: a second process is refused at once and told who holds the lock."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bots.errors import EXIT_LOCKED, RunLocked
from bots.lock import RunLock

REPO = Path(__file__).resolve().parents[1]
WIB = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 22, 9, 15, 3, tzinfo=WIB)
BOT = "reconcile_payments"

# Holds the lock until it reads a line, then releases it and says so.
HOLDER = """
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from bots.lock import RunLock
lock = RunLock(sys.argv[1], Path(sys.argv[2]),
               now=datetime(2026, 11, 22, 9, 15, 3, tzinfo=timezone(timedelta(hours=7))))
lock.acquire()
print("held", flush=True)
sys.stdin.readline()
lock.release()
print("released", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def holder(tmp_path: Path):
    """A subprocess holding the lock of BOT in tmp_path/locks; cleaned up whatever happens."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, BOT, str(tmp_path / "locks")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "held", proc.stderr.read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_a_second_process_is_refused_at_once_and_told_who_holds_it(tmp_path: Path, holder, monkeypatch):
    def wait(seconds: float) -> None:  # a lock that waits for its holder polls with time.sleep
        pytest.fail(f"the refused run waited ({seconds}s) instead of being refused at once")

    monkeypatch.setattr(time, "sleep", wait)  # and one that blocks in the kernel hangs: pytest-timeout
    with pytest.raises(RunLocked) as caught:
        with RunLock(BOT, tmp_path / "locks", now=NOW):
            pytest.fail("entered a lock another process holds")
    monkeypatch.undo()
    assert str(caught.value) == (f"another run of reconcile_payments is in progress "
                                 f"(pid {holder.pid}, since 2026-11-22 09:15:03); try again when it ends")
    assert caught.value.exit_code == EXIT_LOCKED
    assert (caught.value.bot, caught.value.holder_pid) == (BOT, holder.pid)


def test_the_holder_note_says_who_and_since_when(tmp_path: Path, holder):
    note = json.loads((tmp_path / "locks" / f"{BOT}.holder.json").read_text())
    assert note["pid"] == holder.pid
    assert note["started_at"] == "2026-11-22T09:15:03+07:00"
    assert note["argv"] == ["-c", BOT, str(tmp_path / "locks")]
    assert note["hostname"] == socket.gethostname()


def test_a_killed_holder_frees_the_lock_at_once_and_its_note_is_harmless(tmp_path: Path, holder):
    note_path = tmp_path / "locks" / f"{BOT}.holder.json"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert json.loads(note_path.read_text())["pid"] == holder.pid  # the dead holder's note stays
    later = NOW + timedelta(hours=1)
    with RunLock(BOT, tmp_path / "locks", now=later, argv=["bots", "run", BOT]) as lock:
        assert lock.is_locked
        note = json.loads(note_path.read_text())
        assert (note["pid"], note["started_at"], note["argv"]) == (
            os.getpid(), later.isoformat(), ["bots", "run", BOT])
    assert not note_path.exists()
    assert not lock.is_locked


def test_a_note_that_is_stale_or_garbage_does_not_name_a_wrong_pid(tmp_path: Path, holder):
    note_path = tmp_path / "locks" / f"{BOT}.holder.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    for note in ({"pid": int(dead.stdout), "started_at": NOW.isoformat(),
                  "hostname": socket.gethostname()}, "not json {"):
        note_path.write_text(note if isinstance(note, str) else json.dumps(note))
        with pytest.raises(RunLocked, match=r"\(holder not recorded\)"):
            RunLock(BOT, tmp_path / "locks", now=NOW).acquire()


def test_acquire_can_wait_for_the_holder_to_finish(tmp_path: Path, holder):
    lock = RunLock(BOT, tmp_path / "locks", now=NOW)
    holder.stdin.write("release\n")
    holder.stdin.flush()
    lock.acquire(wait_seconds=10)
    try:
        assert holder.stdout.readline().strip() == "released"
        assert lock.is_locked
    finally:
        lock.release()


def test_one_process_cannot_hold_the_same_bot_twice_but_other_bots_are_free(tmp_path: Path):
    with RunLock(BOT, tmp_path / "locks", now=NOW):
        with pytest.raises(RunLocked, match=f"pid {os.getpid()}"):
            RunLock(BOT, tmp_path / "locks", now=NOW).acquire()
        with RunLock("check_pending_tx", tmp_path / "locks", now=NOW) as other:
            assert other.is_locked
    with RunLock(BOT, tmp_path / "locks", now=NOW) as again:  # released on exit
        assert again.is_locked


def test_lock_arguments_are_checked(tmp_path: Path):
    with pytest.raises(ValueError, match="aware"):
        RunLock(BOT, tmp_path, now=datetime(2026, 11, 22, 9, 0))
    with pytest.raises(ValueError, match="lock file"):
        RunLock("../etc/passwd", tmp_path, now=NOW)
    lock = RunLock(BOT, tmp_path / "new" / "dir", now=NOW)
    with lock:
        with pytest.raises(RuntimeError, match="already held"):
            lock.acquire()
    lock.release()  # releasing twice does nothing
