"""Reading the store from a test, whatever the backend (SQLite or PostgreSQL).

Tests look at what the bots left in the store with plain SQL, as finance's own tools would:
`store_query(where, sql, params)` takes the store's URL, the environment a bot run was given
(its DATABASE_URL, else the SQLite file under its VAR_DIR), a `Settings`, or a test's
`tmp_path` (the store its `bot_env` runs use: `tmp_path/var/bots.sqlite3`, or in `make test-pg`
the PostgreSQL database), and `?` placeholders on both backends.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool


#: `make test-pg`: the URL of the PostgreSQL store the test's bot runs use (set by tests/conftest.py).
BOT_RUNS_STORE: list[str] = []


def store_url_of(where) -> str:
    """The SQLAlchemy URL of the store ``where`` points at (a URL, a run's env, a Settings, a tmp_path)."""
    if isinstance(where, str):
        return where
    if isinstance(where, Path):
        return BOT_RUNS_STORE[0] if BOT_RUNS_STORE else f"sqlite:///{where / 'var' / 'bots.sqlite3'}"
    if isinstance(where, Mapping):
        return where.get("DATABASE_URL") or f"sqlite:///{Path(where['VAR_DIR']) / 'bots.sqlite3'}"
    return where.database_url


def bot_runs_env() -> dict[str, str]:
    """For settings or a run's environment made by hand (not `bot_env`): in `make test-pg`, the
    test's PostgreSQL store as DATABASE_URL; in `make test`, nothing (SQLite under its VAR_DIR)."""
    return {"DATABASE_URL": BOT_RUNS_STORE[0]} if BOT_RUNS_STORE else {}


def lose_store(where) -> None:
    """The store lost (a new host, a restore gone wrong): the SQLite file with its -wal, -shm and
    -journal deleted, or every table of the PostgreSQL database dropped (its schema made again, empty)."""
    url = sa.engine.make_url(store_url_of(where))
    if url.get_backend_name() != "sqlite":
        store_query(url.render_as_string(hide_password=False), "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{url.database}{suffix}").unlink(missing_ok=True)


def store_values(where, sql: str, params: Sequence = ()) -> list[tuple]:
    """`store_query`'s rows as tuples of the values SQLite keeps, whatever the backend: a day as
    ``2026-11-21``, an instant as UTC ISO text to the microsecond, a flag as 0 or 1."""
    def as_sqlite(value):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
        if isinstance(value, date):
            return value.isoformat()
        return value

    return [tuple(as_sqlite(value) for value in row) for row in store_query(where, sql, params)]


def store_query(where, sql: str, params: Sequence = ()) -> list[sa.Row]:
    """Every row of one query (``?`` placeholders) against the store at ``where``."""
    engine = sa.create_engine(store_url_of(where), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                sql = sql.replace("%", "%%").replace("?", "%s") if params else sql
            result = conn.exec_driver_sql(sql, tuple(params)) if params else conn.exec_driver_sql(sql)
            rows = result.all() if result.returns_rows else []
            conn.commit()
            return rows
    finally:
        engine.dispose()


# Takes the store's write lock when told to (a line on stdin), and keeps it until told again:
# SQLite's BEGIN IMMEDIATE on the file; on PostgreSQL every table locked IN EXCLUSIVE MODE, which
# lets readers read and makes every writer wait, as SQLite's lock does.
_WRITE_LOCK_HOLDER = """
import sys
import sqlalchemy as sa
from bots.settings import sqlite_file
url = sys.argv[1]
print("ready", flush=True)
sys.stdin.readline()
if sqlite_file(url):
    import sqlite3
    conn = sqlite3.connect(sqlite_file(url), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
else:
    conn = sa.create_engine(url).connect()
    tables = conn.exec_driver_sql("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'").scalars()
    conn.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
print("locked", flush=True)
sys.stdin.readline()
conn.rollback()
"""


def write_lock_holder(where) -> subprocess.Popen:
    """A process that holds the store's write lock between two lines on its stdin: it prints
    "ready", takes the lock on the first line, prints "locked", lets go on the second."""
    root = Path(__file__).resolve().parents[1]
    return subprocess.Popen([sys.executable, "-c", _WRITE_LOCK_HOLDER, store_url_of(where)], cwd=root,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def hold_write_lock(where) -> subprocess.Popen:
    """`write_lock_holder`, with the lock already taken."""
    holder = write_lock_holder(where)
    for expected, say in (("ready", "lock\n"), ("locked", None)):
        line = holder.stdout.readline().strip()
        assert line == expected, f"{line} {holder.stderr.read() if not line else ''}"
        if say:
            holder.stdin.write(say)
            holder.stdin.flush()
    return holder


def race_processes(code: str, *argv: Sequence[str], timeout: float = 60) -> list[str]:
    """Start one ``python -c code`` per argument list; each prints "ready" and waits for a line,
    then all are let go at once. Returns what each printed after "ready" (asserting exit 0)."""
    root = Path(__file__).resolve().parents[1]
    processes = [subprocess.Popen([sys.executable, "-c", code, *args], cwd=root, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in argv]
    for process in processes:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, err
        outputs.append(out.strip())
    return outputs
