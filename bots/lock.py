"""One run per bot at a time, across every process that shares the store: the lock follows
the store, not a local folder.

- SQLite: ``fcntl.flock`` on ``<database file>.locks/<bot>.lock``, beside the database file,
  so two processes with different ``VAR_DIR`` but one database still exclude each other.
- PostgreSQL: a session advisory lock, on a connection of its own held for the run
  (``AdvisoryLock``); every host sharing the database sees it.

The same two kinds of lock, keyed by portal and user name, keep one login per portal user
(``login_lock``: a bank ends a user's session when the same user logs in again elsewhere).

Both offer ``fence()``: called right before every act, it raises ``LockLost`` when this run
can no longer prove it holds the lock (the lock file was replaced, the connection died).

The file lock is ``fcntl.flock`` on ``<lock_dir>/<bot>.lock`` (through ``filelock``), so the
kernel frees it the moment its holder ends, even one killed with ``kill -9``. Beside it,
``<bot>.holder.json`` says who holds it (pid, since when, command line, host) so that a
refused run can tell the staff member what to wait for. The note is diagnostics only: a note
left by a dead holder is simply overwritten by the next one; the OS lock is the truth.

    with RunLock("reconcile_payments", Path("var/locks"), now=now):
        ...  # the run
"""

from __future__ import annotations

import hashlib
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

import zlib

from filelock import FileLock, Timeout

from bots.errors import LockLost, RunLocked, StoreUnavailable

__all__ = ["AdvisoryLock", "RunLock", "lock_holder", "login_lock", "run_lock"]

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

    def fence(self) -> None:
        """Raise LockLost unless we still hold the lock on the file that is at the path now
        (a lock folder deleted and made again would let a second run take a new file)."""
        fd = getattr(getattr(self._lock, "_context", None), "lock_file_fd", None)  # filelock's own fd
        try:
            same_file = fd is None or os.fstat(fd).st_ino == os.stat(self.path).st_ino
            held = self._lock.is_locked and self.path.exists() and same_file
        except OSError:
            held = False
        if not held:
            raise LockLost(f"the run lock of {self.bot} ({self.path}) is no longer ours: stopping before acting")

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
        error.bot, error.holder_pid, error.holder_since, error.detail = self.bot, pid, since, detail
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


def run_lock(settings, bot: str, *, now: datetime, argv: Sequence[str] | None = None) -> "RunLock | AdvisoryLock":
    """The lock of ``bot``'s runs where the store is: an advisory lock on PostgreSQL, else a
    file lock beside the SQLite database (``settings.lock_dir``)."""
    if _is_postgresql(settings.database_url):
        return AdvisoryLock(bot, settings.database_url, now=now, argv=argv)
    return RunLock(bot, settings.lock_dir, now=now, argv=argv)


#: The first key of every advisory lock the bots take (the second is the bot's name's CRC).
_ADVISORY_NAMESPACE = 7337
#: The first key of the portal users' login locks (``login_lock``).
_LOGIN_NAMESPACE = 7338


def login_lock(settings, portal: str, username: str, *, now: datetime) -> "RunLock | AdvisoryLock":
    """The lock of one portal user's login, across every bot and host sharing the store: held
    while a run is logged in as that user, so that no second login ends its session.

    Named ``login-<portal>-<hash of the user name>``: the user name itself is never in a lock
    file's name, a holder note or a PostgreSQL session name. On PostgreSQL an advisory lock of
    its own namespace, else a file lock beside the SQLite database, as the run locks are."""
    digest = hashlib.sha256(f"{portal}\0{username}".encode()).hexdigest()[:16]
    name = f"login-{portal}-{digest}"
    if _is_postgresql(settings.database_url):
        return AdvisoryLock(name, settings.database_url, now=now, namespace=_LOGIN_NAMESPACE)
    return RunLock(name, settings.lock_dir, now=now)


def _is_postgresql(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


class AdvisoryLock:
    """A PostgreSQL session advisory lock per bot, on its own connection for the whole run.

    The holder is named in the connection's ``application_name`` (``bots:<bot>:<host>:<pid>``),
    so a refused run can say who holds it; the server frees the lock when that session ends,
    a killed process included.
    """

    def __init__(self, bot: str, url: str, *, now: datetime, argv: Sequence[str] | None = None,
                 namespace: int = _ADVISORY_NAMESPACE):
        if not _BOT_NAME.fullmatch(bot):
            raise ValueError(f"bot name {bot!r} cannot name a lock")
        self.bot, self.url, self.now, self.namespace = bot, url, now, namespace
        self.argv = list(sys.argv if argv is None else argv)
        self.key = zlib.crc32(bot.encode()) & 0x7FFFFFFF
        self._conn = None
        self._engine = None

    @property
    def is_locked(self) -> bool:
        return self._conn is not None

    def acquire(self, wait_seconds: float = 0) -> "AdvisoryLock":
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        name = f"bots:{self.bot}:{socket.gethostname()}:{os.getpid()}"[:63]
        self._engine = sa.create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                        connect_args={"application_name": name})
        try:
            conn = self._engine.connect()
        except sa.exc.OperationalError as error:
            raise StoreUnavailable(f"the store is unreachable for the run lock: {error.orig}") from error
        deadline = time.monotonic() + wait_seconds
        while True:
            got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({self.namespace}, {self.key})").scalar()
            if got or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        if not got:
            holder = self.holder(conn)
            conn.close()
            detail = holder or "holder not recorded"
            error = RunLocked(f"another run of {self.bot} is in progress ({detail}); try again when it ends")
            error.bot, error.holder_pid, error.holder_since, error.detail = self.bot, None, None, detail
            raise error
        self._conn = conn
        return self

    def holder(self, conn=None) -> str | None:
        """Who holds the lock, as its session named itself (pid and host), or None."""
        parts = self.holder_parts(conn)
        return None if parts is None else f"pid {parts[0] or '?'} on {parts[1]}, since {parts[2]}"

    def holder_parts(self, conn=None) -> tuple[int | None, str, str] | None:
        """(pid, host, since) of the lock's holder, as its session named itself, or None."""
        conn = conn or self._conn
        row = conn.exec_driver_sql(
            "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            f"WHERE l.locktype = 'advisory' AND l.classid = {self.namespace} AND l.objid = {self.key} "
            "AND l.granted LIMIT 1").first()
        if row is None or not str(row[0]).startswith("bots:"):
            return None
        _, _bot, host, pid = (str(row[0]).split(":") + ["?", "?", "?"])[:4]
        return (int(pid) if pid.isdigit() else None), host, f"{row[1]:%Y-%m-%d %H:%M:%S}"

    def fence(self) -> None:
        """Raise LockLost unless this session is alive and still holds the lock."""
        try:
            held = self._conn is not None and bool(self._conn.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                f"AND classid = {self.namespace} AND objid = {self.key} AND granted").scalar())
        except Exception:  # noqa: BLE001 - a dead connection in any of its forms: the lock is gone
            held = False
        if not held:
            raise LockLost(f"the run lock of {self.bot} (PostgreSQL session) is lost: stopping before acting")

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.exec_driver_sql(f"SELECT pg_advisory_unlock({self.namespace}, {self.key})")
        except Exception:  # noqa: BLE001 - the session is gone, and the lock with it
            pass
        finally:
            self._conn.close()
            self._conn = None
            self._engine.dispose()

    def __enter__(self) -> "AdvisoryLock":
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


def lock_holder(settings, bot: str) -> dict | None:
    """Who holds ``bot``'s run lock now, without taking it (read only): None when it is free.

    SQLite store: the kernel's list of flock locks (``/proc/locks``) says whether the lock
    file is locked; the holder note beside it names the holder (pid, since, command, host).
    Where ``/proc/locks`` cannot be read, a note whose process is alive counts as held.
    PostgreSQL: the advisory lock's session, from ``pg_locks``. Returns a dict with
    ``pid`` (int or None), ``since`` (text), ``host``, ``argv`` and ``detail`` (for people).
    """
    if not _BOT_NAME.fullmatch(bot):
        raise ValueError(f"bot name {bot!r} cannot name a lock")
    if _is_postgresql(settings.database_url):
        return _advisory_holder(settings.database_url, bot)
    path = Path(settings.lock_dir) / f"{bot}.lock"
    note_path = path.with_name(f"{bot}.holder.json")
    try:
        note = json.loads(note_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        note = None
    note = note if isinstance(note, dict) else {}
    held = _flocked(path)
    if held is None:  # no /proc/locks: trust a note whose process exists
        held = isinstance(note.get("pid"), int) and (note.get("hostname") not in (None, socket.gethostname())
                                                     or _alive(note["pid"]))
    if not held:
        return None
    pid, since, where = _describe(note or None)
    detail = f"pid {pid}{where}" + (f", since {since}" if since else "") if pid is not None else "holder not recorded"
    return {"pid": pid, "since": since, "host": note.get("hostname"), "argv": note.get("argv") or [],
            "detail": detail}


def _flocked(path: Path) -> bool | None:
    """Whether a flock lock is held on ``path`` (None: the kernel's list cannot be read)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return False
    try:
        table = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    return any(len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == device
               for fields in (line.split() for line in table.splitlines()))


def _advisory_holder(url: str, bot: str) -> dict | None:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    probe = AdvisoryLock(bot, url, now=datetime.now().astimezone())
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            granted = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                f"AND classid = {_ADVISORY_NAMESPACE} AND objid = {probe.key} AND granted").scalar()
            if not granted:
                return None
            parts = probe.holder_parts(conn)
    except sa.exc.OperationalError as error:
        raise StoreUnavailable(f"the store is unreachable to read the run lock: {error.orig}") from error
    finally:
        engine.dispose()
    if parts is None:
        return {"pid": None, "since": None, "host": None, "argv": [], "detail": "holder not recorded"}
    # the holder's own session names its pid and host: a console refusing a run names them, as on SQLite
    pid, host, since = parts
    return {"pid": pid, "since": since, "host": host, "argv": [], "detail": f"pid {pid or '?'} on {host}, since {since}"}

