"""The bots' memory: their runs, and the exactly-once journal of actions (DESIGN §5).

SQLite in WAL mode by default (``sqlite:///var/bots.sqlite3``), or PostgreSQL
(``postgresql+psycopg://…``) when several hosts share one store. Every write is its own short
transaction, which on SQLite starts with ``BEGIN IMMEDIATE`` so that two writers queue (up to
``busy_timeout_ms``) instead of failing halfway through. On PostgreSQL writers do not queue
for the whole database: every transaction waits at most ``busy_timeout_ms`` for a lock
(``lock_timeout``), rows a transaction reads and then changes are locked as read (``FOR
UPDATE``), and every insert of a row another host may insert too says what to do when it is
already there (``ON CONFLICT``, through ``insert_for``). A lock wait that runs out, a deadlock
or a duplicate key becomes StoreUnavailable (exit 3, tried again), never a traceback.
Nothing here reads the clock: callers pass ``now``.

Do not call a ``Store`` method while holding ``store.write()`` in the same thread: the
method opens its own transaction and, on SQLite, waits for the one you hold.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from bots.errors import LockLost, StoreConflict, StoreUnavailable
from bots.store.models import action_events as events_table
from bots.store.models import actions as actions_table
from bots.store.models import runs as runs_table

__all__ = ["Action", "ActionEvent", "Claim", "Owner", "RunRecord", "Store", "insert_for"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The kind of BEGIN the store's "begin" hook emits, carried as a connection execution option.
_BEGIN = "bots_begin"
_READ, _WRITE = "read", "write"
_BUSY = "bots_busy_timeout_ms"
# PostgreSQL: a statement may run this long beyond its lock wait (none of ours comes close);
# a connection attempt gives up after this many seconds.
_STATEMENT_GRACE_MS = 60_000
_CONNECT_TIMEOUT_S = 10
# SQLSTATEs that mean "wait and try again": lock_timeout or statement_timeout ran out, a
# deadlock, a serialization failure.
_PG_BUSY = frozenset({"55P03", "57014", "40P01", "40001"})
_PG_UNIQUE = "23505"

# Which states each transition may start from. `in_flight` again is a retry after a crash or
# a failure, once the portal showed nothing happened; `done` from `intent` or `failed` is
# what the portal check finds when the effect happened without us recording it. Only a
# person moves a row out of `in_doubt` (done, or failed: "it did not happen, try again") or
# out of `refused` (failed: "try again", e.g. finance after the server's daily limit).
_ALLOWED_FROM = {
    "in_flight": {"intent", "in_flight", "failed"},
    "done": {"intent", "in_flight", "failed", "in_doubt"},
    "failed": {"intent", "in_flight", "in_doubt", "refused"},
    "refused": {"intent", "in_flight", "failed"},
    "in_doubt": {"intent", "in_flight", "failed"},
}

_UNFINISHED = ("intent", "in_flight", "failed")
#: States a run may still take further (an owner is needed to act on them).
_OPEN = ("intent", "in_flight", "failed")
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
class Owner:
    """Who acts on a journal row: one run of one process on one host."""

    run_id: str
    host: str
    pid: int

    @classmethod
    def this_process(cls, run_id: str) -> "Owner":
        return cls(run_id, socket.gethostname(), os.getpid())

    def __str__(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host})"


@dataclass(frozen=True)
class Action:
    """One real-world side effect in the journal: intent → in_flight → done (or failed,
    refused, in_doubt), with the run that owns it now and until when."""

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
    owner_run: str | None = None
    owner_host: str | None = None
    owner_pid: int | None = None
    lease_until: datetime | None = None
    marker: str | None = None

    @property
    def owner(self) -> Owner | None:
        if self.owner_run is None:
            return None
        return Owner(self.owner_run, self.owner_host or "?", self.owner_pid or 0)


@dataclass(frozen=True)
class Claim:
    """What ``Store.claim`` found: the row, whether it is new, and who else holds it (if alive)."""

    action: Action
    created: bool
    held_by: Owner | None = None


@dataclass(frozen=True)
class ActionEvent:
    """One change of state of a journal row, as the audit trail keeps it."""

    key: str
    at: datetime
    from_state: str | None
    to_state: str
    actor: str
    host: str | None
    pid: int | None
    note: str | None


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
        if self._sqlite:
            self._engine = sa.create_engine(parsed)
            sa.event.listen(self._engine, "connect", self._on_sqlite_connect)
            sa.event.listen(self._engine, "begin", self._on_sqlite_begin)
        else:
            # pre_ping: a pooled connection from before a server restart is replaced, not used;
            # connect_timeout: a host cut off from the server gives up instead of hanging.
            connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": _CONNECT_TIMEOUT_S}
            self._engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
            if parsed.get_backend_name() == "postgresql":
                sa.event.listen(self._engine, "begin", self._on_postgresql_begin)

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

    def _on_postgresql_begin(self, conn: sa.Connection) -> None:
        # The driver begins the transaction with this first statement. The limits are local to
        # the transaction, so a pooled connection never keeps a previous caller's (migrate's).
        options = conn.get_execution_options()
        wait_ms = int(options.get(_BUSY, self.busy_timeout_ms))
        # (read-only may be switched on at any point of a transaction, never off: only set when on)
        read_only = ", set_config('transaction_read_only', 'on', true)" if options.get(_BEGIN) == _READ else ""
        conn.exec_driver_sql(
            "SELECT set_config('lock_timeout', %(lock)s, true), set_config('statement_timeout', %(statement)s, true)"
            + read_only, {"lock": f"{wait_ms}ms", "statement": f"{wait_ms + _STATEMENT_GRACE_MS}ms"})

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
        except sa_exc.IntegrityError as error:
            if not _is_duplicate(error.orig):
                raise
            raise StoreConflict(
                f"the store {self.url} refused a duplicate: another process wrote the same row at the same "
                f"moment ({_first_line(error.orig)}); nothing of this write was kept, try again") from error
        except sa_exc.OperationalError as error:
            unavailable = self._unavailable(error, connected, busy_timeout_ms)
            if unavailable is None:
                raise
            raise unavailable from error

    def _unavailable(self, error: sa_exc.OperationalError, connected: bool,
                     waited_ms: int) -> StoreUnavailable | None:
        """Our error for a locked or unreachable database; None for anything else (a bug)."""
        if _is_busy(error.orig) and self._sqlite:
            return StoreUnavailable(
                f"the store {self.url} is locked: another process kept a write transaction "
                f"open while we waited (up to {waited_ms} ms); try again when it has finished")
        if _is_busy(error.orig):
            return StoreUnavailable(
                f"the store {self.url} is locked: another process held what we needed for longer than we "
                f"wait (lock_timeout {waited_ms} ms: {_first_line(error.orig)}); try again when it has finished")
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
        except StoreConflict as error:
            raise ValueError(f"run {run_id} was already started") from error

    def finish_run(self, run_id: str, now: datetime, outcome: str, exit_code: int,
                   counts: dict | None = None, message: str | None = None) -> None:
        """Record how a run ended; KeyError for an unknown run, ValueError if already finished."""
        _require_aware(now)
        with self.write() as conn:
            query = sa.select(runs_table.c.ended_at).where(runs_table.c.run_id == run_id).with_for_update()
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
        claim = self.claim(key, bot, kind, payload, Owner.this_process(run_id), now, None)
        return claim.action, claim.created

    def claim(self, key: str, bot: str, kind: str, payload: dict, owner: Owner, now: datetime,
              lease: timedelta | None, marker: str | None = None, actor: str | None = None) -> Claim:
        """Record the intent under ``key`` owned by ``owner`` until ``now + lease``, or take
        over an unfinished row whose owner is gone (ended, dead, or its lease run out).

        A row still owned by a run that may be alive is returned with ``held_by`` set and is
        not touched: nobody acts on it but its owner. A finished row (done, refused, in
        doubt) is returned as it is. ``owner.run_id`` must have been started (ValueError).
        No ``lease``: the owner is known alive only while its process is (this host).
        """
        _require_aware(now)
        lease_until = None if lease is None else now + lease
        with self.write() as conn:
            existing = _select_action(conn, key, lock=True)
            if existing is None:
                started = sa.select(runs_table.c.id).where(runs_table.c.run_id == owner.run_id)
                if conn.execute(started).first() is None:
                    raise ValueError(f"run {owner.run_id} was never started; call start_run() first")
                # Where writers do not queue (PostgreSQL), another host may insert the same key
                # between our read and our insert: then its row is the one, read (and locked) again.
                inserted = conn.execute(insert_for(conn, actions_table).values(
                    key=key, bot=bot, kind=kind, state="intent", payload=payload, result=None,
                    run_id=owner.run_id, attempts=0, error=None, created_at=now, updated_at=now,
                    owner_run=owner.run_id, owner_host=owner.host, owner_pid=owner.pid,
                    lease_until=lease_until, marker=marker).on_conflict_do_nothing(index_elements=["key"])
                    .returning(actions_table.c.id)).first()
                if inserted is not None:
                    _event(conn, key, now, None, "intent", owner, None, actor)
                    return Claim(_select_action(conn, key), True)
                existing = _select_action(conn, key, lock=True)
            if existing.state not in _OPEN:
                return Claim(existing, False)
            if existing.owner_run != owner.run_id:
                if _may_be_alive(conn, existing, now):
                    return Claim(existing, False, held_by=existing.owner)
                conn.execute(actions_table.update().where(actions_table.c.key == key).values(
                    owner_run=owner.run_id, owner_host=owner.host, owner_pid=owner.pid,
                    lease_until=lease_until))
                was = existing.owner
                _event(conn, key, now, existing.state, existing.state, owner,
                       f"taken over from {was}: ended, dead or lease over" if was else "taken over", actor)
            elif lease_until is not None:
                conn.execute(actions_table.update().where(actions_table.c.key == key).values(
                    lease_until=lease_until))
            return Claim(_select_action(conn, key), False)

    def mark_in_flight(self, key: str, now: datetime, owner: Owner | None = None, actor: str | None = None) -> Action:
        """We are about to act (again): counts one more attempt. With ``owner``, refused
        (LockLost) unless that owner still holds the row: the fence before every act."""
        return self._transition(key, "in_flight", now, owner, actor=actor, attempts=actions_table.c.attempts + 1)

    def mark_done(self, key: str, result: dict, now: datetime, owner: Owner | None = None,
                  actor: str | None = None, note: str | None = None) -> Action:
        """The portal confirmed the effect (or a person did); ``result`` says what it showed."""
        return self._transition(key, "done", now, owner, actor=actor, note=note, result=result)

    def mark_failed(self, key: str, error: str, now: datetime, owner: Owner | None = None,
                    actor: str | None = None) -> Action:
        """The attempt failed and the portal shows it did not happen (it may be tried again)."""
        return self._transition(key, "failed", now, owner, actor=actor, note=error, error=error)

    def mark_refused(self, key: str, words: str, now: datetime, owner: Owner | None = None,
                     actor: str | None = None) -> Action:
        """The portal said no, in ``words``; nothing happened there. A person takes it."""
        return self._transition(key, "refused", now, owner, actor=actor, note=words, error=words)

    def mark_in_doubt(self, key: str, why: str, now: datetime, owner: Owner | None = None,
                      actor: str | None = None) -> Action:
        """The outcome cannot be read back from the portal: no bot acts on it again."""
        return self._transition(key, "in_doubt", now, owner, actor=actor, note=why, error=why)

    def decide_doubt(self, key: str, *, done: bool, person: str, note: str, now: datetime) -> Action:
        """A person's decision on an action in doubt, journaled with their name and note:
        done (it happened), or not done (it did not: the bot may act again)."""
        if not note.strip():
            raise ValueError("a decision needs a note")
        current = self.get_action(key)
        if current is None:
            raise KeyError(f"no action with key {key!r} in the journal")
        if current.state != "in_doubt":
            raise ValueError(f"action {key!r} is {current.state}, not in doubt")
        actor = f"person:{person}"
        if done:
            return self.mark_done(key, {**(current.result or {}), "how": "decided done by a person", "by": person,
                                        "note": note}, now, actor=actor, note=note)
        return self.mark_failed(key, f"decided not done by {person}: {note}", now, actor=actor)

    def _transition(self, key: str, state: str, now: datetime, owner: Owner | None = None, *,
                    actor: str | None = None, note: str | None = None, **values) -> Action:
        _require_aware(now)
        with self.write() as conn:
            current = _select_action(conn, key, lock=True)
            if current is None:
                raise KeyError(f"no action with key {key!r} in the journal")
            if owner is not None and current.owner_run not in (None, owner.run_id):
                raise LockLost(f"action {key!r} is now owned by {current.owner}, not by {owner}: not acting")
            if current.state not in _ALLOWED_FROM[state]:
                raise ValueError(f"action {key!r} is {current.state}; it cannot become {state}")
            conn.execute(actions_table.update().where(actions_table.c.key == key).values(
                state=state, updated_at=now, **values))
            who = owner or Owner(current.owner_run or current.run_id, current.owner_host or socket.gethostname(),
                                 current.owner_pid or os.getpid())
            _event(conn, key, now, current.state, state, who, note, actor)
            return _select_action(conn, key)

    def retry_refused(self, key: str, person: str, now: datetime) -> Action:
        """A person asks again for an act the portal refused: the row may be tried again."""
        return self.mark_failed(key, f"tried again by {person} after the portal refused it", now,
                                actor=f"person:{person}")

    def retarget(self, key: str, payload: dict, now: datetime, owner: Owner, note: str) -> Action:
        """Change what an action that never happened will do (a person corrected the agent)."""
        _require_aware(now)
        with self.write() as conn:
            current = _select_action(conn, key, lock=True)
            if current is None or current.state not in _OPEN:
                raise ValueError(f"action {key!r} cannot be changed now")
            conn.execute(actions_table.update().where(actions_table.c.key == key).values(
                payload=payload, state="failed" if current.state == "in_flight" else current.state, updated_at=now))
            _event(conn, key, now, current.state, current.state, owner, f"payload changed: {note}")
            return _select_action(conn, key)

    def events(self, key: str | None = None) -> list[ActionEvent]:
        """The audit trail of the journal (of one key), oldest first."""
        query = sa.select(events_table).order_by(events_table.c.id)
        if key is not None:
            query = query.where(events_table.c.key == key)
        with self.read() as conn:
            return [_record(ActionEvent, row) for row in conn.execute(query)]

    def find_marker(self, marker: str) -> Action | None:
        """The journal row whose act carries ``marker`` (markers are unique by construction)."""
        with self.read() as conn:
            row = conn.execute(sa.select(actions_table).where(actions_table.c.marker == marker)
                               .order_by(actions_table.c.id).limit(1)).first()
        return None if row is None else _record(Action, row)

    def is_empty(self, bot: str) -> bool:
        """Whether the store remembers nothing of ``bot``: no run before, no journal row."""
        with self.read() as conn:
            ran = conn.execute(sa.select(sa.func.count()).select_from(runs_table).where(
                runs_table.c.bot == bot, runs_table.c.ended_at.is_not(None))).scalar()
            acted = conn.execute(sa.select(sa.func.count()).select_from(actions_table).where(
                actions_table.c.bot == bot)).scalar()
        return not ran and not acted

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
        """The bot's actions still to finish (intent, in flight, or failed: the portal showed it
        not done, so it is tried again), oldest first: a run checks these before new work."""
        query = (sa.select(actions_table)
                 .where(actions_table.c.bot == bot, actions_table.c.state.in_(_UNFINISHED))
                 .order_by(actions_table.c.created_at, actions_table.c.id))
        with self.read() as conn:
            return [_record(Action, row) for row in conn.execute(query)]


def _event(conn: sa.Connection, key: str, now: datetime, before: str | None, after: str, owner: Owner,
           note: str | None, actor: str | None = None) -> None:
    conn.execute(events_table.insert().values(key=key, at=now, from_state=before, to_state=after,
                                              actor=actor or f"run:{owner.run_id}", host=owner.host,
                                              pid=owner.pid, note=note))


def _may_be_alive(conn: sa.Connection, action: Action, now: datetime) -> bool:
    """Could the run that owns ``action`` still act on it? Only a provably gone owner is not:
    its run recorded its end, or it was a process of this host that no longer exists, or
    (on another host, where we cannot look) its lease has run out."""
    if action.owner_run is None:
        return False  # a row from before owners were kept: the run lock proves it is ours
    ended = conn.execute(sa.select(runs_table.c.ended_at).where(runs_table.c.run_id == action.owner_run)).scalar()
    if ended is not None:
        return False
    lease_over = action.lease_until is not None and action.lease_until <= now
    if action.owner_host == socket.gethostname():
        if action.owner_pid == os.getpid():
            return False  # an earlier run of this very process, which is running us now
        return _pid_alive(action.owner_pid) and not lease_over
    return not lease_over


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_busy(error: BaseException) -> bool:
    """Whether a driver error means "locked by someone else" (SQLite), a lock or statement
    timeout, a deadlock or a serialization failure (PostgreSQL): all worth trying again."""
    name = getattr(error, "sqlite_errorname", "")  # Python 3.11+
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or getattr(error, "sqlstate", None) in _PG_BUSY:
        return True
    text = str(error).lower()
    return "database is locked" in text or "lock timeout" in text


def _is_duplicate(error: BaseException) -> bool:
    """Whether a driver error is a unique-key violation (not a foreign key, not a check)."""
    return (getattr(error, "sqlstate", None) == _PG_UNIQUE
            or getattr(error, "sqlite_errorname", "") in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"))


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _is_unreachable(error: BaseException) -> bool:
    """Whether a SQLite error means the file cannot be opened, read or written."""
    name = getattr(error, "sqlite_errorname", "")
    return name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_READONLY_"))


def _require_aware(now: datetime) -> None:
    # Checked here, not only in the column type, so the caller gets a plain ValueError
    # rather than one wrapped in a SQLAlchemy StatementError.
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"expected an aware datetime for now, got {now!r}")


def _select_action(conn: sa.Connection, key: str, *, lock: bool = False) -> Action | None:
    """The journal row of ``key``; with ``lock``, locked until the transaction ends (PostgreSQL's
    ``FOR UPDATE``: a row read to be changed is changed by one transaction at a time; on SQLite
    the write transaction already holds the whole database)."""
    query = sa.select(actions_table).where(actions_table.c.key == key)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _record(Action, row)


def insert_for(conn: sa.Connection, table: sa.Table):
    """``INSERT`` into ``table`` in the connection's own dialect, so that it can say what to do
    when the row is already there (``.on_conflict_do_nothing()`` / ``.on_conflict_do_update()``,
    the same on SQLite and PostgreSQL): a select-then-insert is never race-safe on its own.
    Whether a row went in: ``.returning(<a column>)`` and ``.first()`` (psycopg's rowcount of
    such an insert is -1)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _record(cls, row: sa.Row):
    """A RunRecord or an Action from a row: the dataclasses' fields are column names."""
    return cls(**{field.name: row._mapping[field.name] for field in fields(cls)})
