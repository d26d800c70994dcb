"""One run per bot at a time, across processes: an OS file lock, and a note of who holds it.

The lock is ``fcntl.flock`` on ``<lock_dir>/<bot>.lock`` (through ``filelock``), so the
kernel frees it the moment its holder ends, even one killed with ``kill -9``. Beside it,
``<bot>.holder.json`` says who holds it (pid, since when, command line, host) so that a
refused run can tell the staff member what to wait for. The note is diagnostics only: a note
left by a dead holder is simply overwritten by the next one; the OS lock is the truth.

    with RunLock("reconcile_payments", Path("var/locks"), now=now):
        ...  # the run
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from bots.errors import RunLocked

__all__ = ["RunLock"]

# The bot name becomes a file name: keep it to one harmless path component.
_BOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# How long a refused run waits for the holder's note to name it.
_NOTE_GRACE_SECONDS = 0.5


class RunLock:
    """The lock of one bot's runs; ``with`` it, or ``acquire()`` / ``release()`` it."""

    def __init__(self, bot: str, lock_dir: Path, *, now: datetime,
                 argv: Sequence[str] | None = None):
        """Args: ``now`` (aware) is written to the holder note as "since"; ``argv`` defaults
        to this process's command line."""
        if not _BOT_NAME.fullmatch(bot):
            raise ValueError(f"bot name {bot!r} cannot name a lock file")
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"expected an aware datetime for now, got {now!r}")
        self.bot = bot
        self.now = now
        self.argv = list(sys.argv if argv is None else argv)
        self.lock_dir = Path(lock_dir)
        self.path = self.lock_dir / f"{bot}.lock"
        self.holder_path = self.lock_dir / f"{bot}.holder.json"
        # FileLock is the flock-based UnixFileLock here. thread_local=False: a scheduler may
        # release from another thread than the one that acquired.
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False)

    @property
    def is_locked(self) -> bool:
        """Whether this object holds the lock now."""
        return self._lock.is_locked

    def acquire(self, wait_seconds: float = 0) -> RunLock:
        """Take the lock, waiting up to ``wait_seconds``; raises RunLocked if another run holds it."""
        if self._lock.is_locked:
            raise RuntimeError(f"the run lock of {self.bot} is already held by this object")
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=wait_seconds)
        except Timeout:
            raise self._refusal() from None
        try:
            self._write_holder()
        except BaseException:
            self._lock.release()
            raise
        return self

    def release(self) -> None:
        """Let the next run in; releasing a lock not held does nothing."""
        if not self._lock.is_locked:
            return
        # The note goes first, while we still hold the lock, so it never describes a next holder.
        with suppress(FileNotFoundError):
            self.holder_path.unlink()
        self._lock.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()

    def holder(self) -> dict | None:
        """The holder note as written (pid, started_at, argv, hostname), or None if unreadable."""
        try:
            note = json.loads(self.holder_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return note if isinstance(note, dict) else None

    def _write_holder(self) -> None:
        note = {
            "pid": os.getpid(),
            "started_at": self.now.isoformat(),
            "argv": self.argv,
            "hostname": socket.gethostname(),
        }
        # Written aside then renamed, so a refused run never reads half a note.
        scratch = self.holder_path.with_name(f"{self.holder_path.name}.{os.getpid()}.tmp")
        scratch.write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")
        os.replace(scratch, self.holder_path)

    def _refusal(self) -> RunLocked:
        pid, since, where = _describe(self.holder())
        # A holder that has only just taken the lock writes its note a moment later (and a dead
        # one's note is still there until then): look again briefly before giving up on a name.
        deadline = time.monotonic() + _NOTE_GRACE_SECONDS
        while pid is None and time.monotonic() < deadline:
            time.sleep(0.05)
            pid, since, where = _describe(self.holder())
        if pid is None:
            # The lock is held but the note is missing, unreadable, or left by a dead process:
            # the holder has only just started, or could not write it.
            detail = "holder not recorded"
        else:
            detail = f"pid {pid}{where}" + (f", since {since}" if since else "")
        error = RunLocked(f"another run of {self.bot} is in progress ({detail}); try again when it ends")
        error.bot, error.holder_pid, error.holder_since = self.bot, pid, since
        return error


def _describe(note: dict | None) -> tuple[int | None, str | None, str]:
    """(pid, "since" for people, " on <host>" if elsewhere) from a holder note; pid None if stale."""
    if note is None or not isinstance(note.get("pid"), int):
        return None, None, ""
    pid, host = note["pid"], note.get("hostname")
    here = host in (None, socket.gethostname())
    if here and not _alive(pid):
        return None, None, ""
    try:
        since = datetime.fromisoformat(note["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
    except (KeyError, TypeError, ValueError):
        since = None
    return pid, since, "" if here else f" on {host}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, under another user
    return True
