"""The bots' memory: their runs, and the exactly-once journal of actions (DESIGN §5).

SQLite in WAL mode by default (``sqlite:///var/bots.sqlite3``); any other SQLAlchemy URL,
such as PostgreSQL, is used as given. Every write is its own short transaction, which on
SQLite starts with ``BEGIN IMMEDIATE`` so that two writers queue (up to ``busy_timeout_ms``)
instead of failing halfway through. Nothing here reads the clock: callers pass ``now``.

Do not call a ``Store`` method while holding ``store.write()`` in the same thread: the
method opens its own transaction and, on SQLite, waits for the one you hold.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from bots.errors import StoreUnavailable
from bots.store.models import actions as actions_table
from bots.store.models import runs as runs_table

__all__ = ["Action", "RunRecord", "Store"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The kind of BEGIN the store's "begin" hook emits, carried as a connection execution option.
_BEGIN = "bots_begin"
_READ, _WRITE = "read", "write"
_BUSY = "bots_busy_timeout_ms"

# Which states each transition may start from. `in_flight` again is a retry after a crash or
# a failure, once the portal showed nothing happened; `done` from `intent` or `failed` is
# what the portal check finds when the effect happened without us recording it.
_ALLOWED_FROM = {
    "in_flight": {"intent", "in_flight", "failed"},
    "done": {"intent", "in_flight", "failed"},
    "failed": {"intent", "in_flight"},
}

_UNFINISHED = ("intent", "in_flight")
_NEWEST_FIRST = (runs_table.c.started_at.desc(), runs_table.c.id.desc())


@dataclass(frozen=True)
class RunRecord:
    """One run of one bot, as the store remembers it."""

    run_id: str
    bot: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    exit_code: int | None
    dry_run: bool
    counts: dict
    message: str | None
    pid: int | None


@dataclass(frozen=True)
class Action:
    """One real-world side effect in the journal: intent → in_flight → done (or failed)."""

    key: str
    bot: str
    kind: str
    state: str
    payload: dict
    result: dict | None
    run_id: str
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime


class Store:
    """The runs and the journal, behind a SQLAlchemy engine built from ``url``."""

    #: How long ``migrate()`` waits for another process's migration (or write) to finish.
    MIGRATE_BUSY_TIMEOUT_MS = 60_000

    def __init__(self, url: str, busy_timeout_ms: int = 5000):
        self.busy_timeout_ms = int(busy_timeout_ms)
        parsed = sa.make_url(url)
        self.url = parsed.render_as_string(hide_password=True)
        self._sqlite = parsed.get_backend_name() == "sqlite"
        if self._sqlite:
            database = parsed.database
            if database and database != ":memory:" and not parsed.query.get("uri"):
                try:
                    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise StoreUnavailable(f"the store {self.url} is unreachable: {error}") from error
        self._engine = sa.create_engine(parsed)
        if self._sqlite:
            sa.event.listen(self._engine, "connect", self._on_sqlite_connect)
            sa.event.listen(self._engine, "begin", self._on_sqlite_begin)

    def _on_sqlite_connect(self, dbapi_connection, connection_record) -> None:
        # pysqlite's own BEGIN handling is off (isolation_level None): it begins only before
        # DML, never before DDL, and always DEFERRED, so a transaction that reads and then
        # writes can fail at once with "database is locked". The "begin" hook emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            self._enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    def _enable_wal(self, cursor) -> None:
        # WAL is a property of the file: once set it stays, so usually there is nothing to do.
        # Setting it takes an exclusive lock, and when two processes race to set it on a
        # fresh file SQLite refuses one at once, without waiting busy_timeout: so we retry.
        # (An in-memory database answers "memory" and stays so; that is fine.)
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _on_sqlite_begin(self, conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        mode = options.get(_BEGIN, _WRITE)
        # Set on every BEGIN, so a pooled connection never keeps a previous caller's settings.
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(options.get(_BUSY, self.busy_timeout_ms))}")
        conn.exec_driver_sql(f"PRAGMA query_only = {1 if mode == _READ else 0}")
        conn.exec_driver_sql("BEGIN" if mode == _READ else "BEGIN IMMEDIATE")

    @contextmanager
    def _transaction(self, mode: str, busy_timeout_ms: int | None = None) -> Iterator[sa.Connection]:
        busy_timeout_ms = busy_timeout_ms or self.busy_timeout_ms
        connected = False
        try:
            with self._engine.connect() as conn:
                connected = True
                conn.execution_options(**{_BEGIN: mode, _BUSY: busy_timeout_ms})
                with conn.begin() as transaction:
                    yield conn
                    if mode == _READ:
                        transaction.rollback()
        except sa_exc.OperationalError as error:
            unavailable = self._unavailable(error, connected, busy_timeout_ms)
            if unavailable is None:
                raise
            raise unavailable from error

    def _unavailable(self, error: sa_exc.OperationalError, connected: bool,
                     waited_ms: int) -> StoreUnavailable | None:
        """Our error for a locked or unreachable database; None for anything else (a bug)."""
        if _is_busy(error.orig):
            return StoreUnavailable(
                f"the store {self.url} is locked: another process kept a write transaction "
                f"open while we waited (up to {waited_ms} ms); try again when it has finished")
        if not connected or error.connection_invalidated or _is_unreachable(error.orig):
            return StoreUnavailable(f"the store {self.url} is unreachable: {error.orig}")
        return None

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A connection inside a write transaction (``BEGIN IMMEDIATE`` on SQLite).

        Committed when the block ends, rolled back if it raises. Raises StoreUnavailable if
        another process keeps the database locked for longer than ``busy_timeout_ms``.
        """
        with self._transaction(_WRITE) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection inside a read-only transaction (writes fail on SQLite), rolled back after."""
        with self._transaction(_READ) as conn:
            yield conn

    def migrate(self) -> list[str]:
        """Apply the pending migrations; returns the revision ids applied (none the second time)."""
        if self._at_head():
            return []  # the common case, every run: no need to load alembic at all
        from alembic import command
        from alembic.config import Config

        config = Config()
        # Config values are interpolated by configparser, so a "%" in the path must be doubled.
        config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
        applied: list[str] = []
        config.attributes["applied"] = applied
        # One write transaction for all of it: a second process migrating at the same time
        # waits for ours to commit, then finds nothing left to apply.
        with self._transaction(_WRITE, max(self.busy_timeout_ms, self.MIGRATE_BUSY_TIMEOUT_MS)) as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7337001)")  # same role as BEGIN IMMEDIATE
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return applied

    def _at_head(self) -> bool:
        """Is the database already at the newest migration in migrations/versions?"""
        head = max(p.stem for p in (_MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
        try:
            with self._transaction(_READ) as conn:
                return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
        except sa_exc.SQLAlchemyError:
            return False  # no database or no version table yet

    def dispose(self) -> None:
        """Close the pooled connections (call before the process ends or forks)."""
        self._engine.dispose()

    # -- runs -------------------------------------------------------------------------------

    def start_run(self, bot: str, run_id: str, now: datetime, dry_run: bool = False,
                  pid: int | None = None) -> None:
        """Record that a run began; a run_id already recorded is refused with ValueError."""
        _require_aware(now)
        try:
            with self.write() as conn:
                conn.execute(runs_table.insert().values(
                    run_id=run_id, bot=bot, started_at=now, dry_run=dry_run, counts={}, pid=pid))
        except sa_exc.IntegrityError as error:
            raise ValueError(f"run {run_id} was already started") from error

    def finish_run(self, run_id: str, now: datetime, outcome: str, exit_code: int,
                   counts: dict | None = None, message: str | None = None) -> None:
        """Record how a run ended; KeyError for an unknown run, ValueError if already finished."""
        _require_aware(now)
        with self.write() as conn:
            query = sa.select(runs_table.c.ended_at).where(runs_table.c.run_id == run_id)
            row = conn.execute(query).first()
            if row is None:
                raise KeyError(f"no run {run_id!r} in the store")
            if row.ended_at is not None:
                raise ValueError(f"run {run_id} already finished at {row.ended_at.isoformat()}")
            conn.execute(runs_table.update().where(runs_table.c.run_id == run_id).values(
                ended_at=now, outcome=outcome, exit_code=exit_code, counts=counts or {}, message=message))

    def last_run(self, bot: str, *, finished_only: bool = False) -> RunRecord | None:
        """The most recently started run of ``bot`` (only finished ones if asked), or None."""
        query = sa.select(runs_table).where(runs_table.c.bot == bot)
        if finished_only:
            query = query.where(runs_table.c.ended_at.is_not(None))
        with self.read() as conn:
            row = conn.execute(query.order_by(*_NEWEST_FIRST).limit(1)).first()
        return None if row is None else _record(RunRecord, row)

    def runs(self, bot: str | None = None, limit: int = 50) -> list[RunRecord]:
        """Recent runs, newest first, of one bot or of all."""
        query = sa.select(runs_table)
        if bot is not None:
            query = query.where(runs_table.c.bot == bot)
        with self.read() as conn:
            rows = conn.execute(query.order_by(*_NEWEST_FIRST).limit(limit)).all()
        return [_record(RunRecord, row) for row in rows]

    # -- the journal ----------------------------------------------------------------------------

    def record_intent(self, key: str, bot: str, kind: str, payload: dict, run_id: str,
                      now: datetime) -> tuple[Action, bool]:
        """Record the intent to act once under ``key``; returns (the action, whether it is new).

        A key already in the journal returns the existing row, whatever its state or payload,
        and False: never a second row. ``run_id`` must have been started (ValueError if not).
        """
        _require_aware(now)
        try:
            with self.write() as conn:
                existing = _select_action(conn, key)
                if existing is not None:
                    return existing, False
                started = sa.select(runs_table.c.id).where(runs_table.c.run_id == run_id)
                if conn.execute(started).first() is None:
                    raise ValueError(f"run {run_id} was never started; call start_run() first")
                conn.execute(actions_table.insert().values(
                    key=key, bot=bot, kind=kind, state="intent", payload=payload, result=None,
                    run_id=run_id, attempts=0, error=None, created_at=now, updated_at=now))
                return _select_action(conn, key), True
        except sa_exc.IntegrityError:
            # Only where writers do not queue (PostgreSQL): another process inserted the
            # same key between our read and our insert. Its row stands.
            existing = self.get_action(key)
            if existing is None:
                raise
            return existing, False

    def mark_in_flight(self, key: str, now: datetime) -> Action:
        """We are about to act (again): counts one more attempt."""
        return self._transition(key, "in_flight", now, attempts=actions_table.c.attempts + 1)

    def mark_done(self, key: str, result: dict, now: datetime) -> Action:
        """The portal confirmed the effect; ``result`` says what it showed."""
        return self._transition(key, "done", now, result=result)

    def mark_failed(self, key: str, error: str, now: datetime) -> Action:
        """The attempt failed and the portal shows it did not happen."""
        return self._transition(key, "failed", now, error=error)

    def _transition(self, key: str, state: str, now: datetime, **values) -> Action:
        _require_aware(now)
        with self.write() as conn:
            current = _select_action(conn, key)
            if current is None:
                raise KeyError(f"no action with key {key!r} in the journal")
            if current.state not in _ALLOWED_FROM[state]:
                raise ValueError(f"action {key!r} is {current.state}; it cannot become {state}")
            conn.execute(actions_table.update().where(actions_table.c.key == key).values(
                state=state, updated_at=now, **values))
            return _select_action(conn, key)

    def get_action(self, key: str) -> Action | None:
        """The journal entry for ``key``, or None."""
        with self.read() as conn:
            return _select_action(conn, key)

    def actions(self, *, kind: str | None = None, state: str | None = None) -> list[Action]:
        """The journal's actions of one kind and/or state, oldest first, in one query."""
        query = sa.select(actions_table).order_by(actions_table.c.id)
        if kind is not None:
            query = query.where(actions_table.c.kind == kind)
        if state is not None:
            query = query.where(actions_table.c.state == state)
        with self.read() as conn:
            return [_record(Action, row) for row in conn.execute(query)]

    def unfinished(self, bot: str) -> list[Action]:
        """The bot's actions still in intent or in_flight, oldest first: check these first."""
        query = (sa.select(actions_table)
                 .where(actions_table.c.bot == bot, actions_table.c.state.in_(_UNFINISHED))
                 .order_by(actions_table.c.created_at, actions_table.c.id))
        with self.read() as conn:
            return [_record(Action, row) for row in conn.execute(query)]


def _is_busy(error: BaseException) -> bool:
    """Whether a driver error means "locked by someone else" (SQLite) or a lock timeout."""
    name = getattr(error, "sqlite_errorname", "")  # Python 3.11+
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return True
    text = str(error).lower()
    return "database is locked" in text or "lock timeout" in text


def _is_unreachable(error: BaseException) -> bool:
    """Whether a SQLite error means the file cannot be opened, read or written."""
    name = getattr(error, "sqlite_errorname", "")
    return name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_READONLY_"))


def _require_aware(now: datetime) -> None:
    # Checked here, not only in the column type, so the caller gets a plain ValueError
    # rather than one wrapped in a SQLAlchemy StatementError.
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"expected an aware datetime for now, got {now!r}")


def _select_action(conn: sa.Connection, key: str) -> Action | None:
    row = conn.execute(sa.select(actions_table).where(actions_table.c.key == key)).first()
    return None if row is None else _record(Action, row)


def _record(cls, row: sa.Row):
    """A RunRecord or an Action from a row: the dataclasses' fields are column names."""
    return cls(**{field.name: row._mapping[field.name] for field in fields(cls)})
