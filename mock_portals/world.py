"""The world's memory: seeded tables, what the portals record, the world's clock and faults.

One `World` is shared by every portal app of a mock-world process. Portals read and change
it under `world.lock`; the control API (`/__mock/`) reads it whole and moves its clock.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from mock_portals.seed import TABLES, load_world, parse_seed_row, parse_time

JAKARTA = ZoneInfo("Asia/Jakarta")

#: Tables the portals write while the world runs (beside the seeded ones).
RECORDED_TABLES = ("balance_log", "complaints", "refund_requests", "helpdesk_messages", "bon_payments")

_DURATION = re.compile(r"^([+-]?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str | int | float) -> timedelta:
    """`90`, `"90s"`, `"15m"`, `"-1d2h"` → timedelta (plain numbers are seconds)."""
    if isinstance(text, (int, float)):
        return timedelta(seconds=text)
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()[1:]):
        raise ValueError(f"not a duration like 90s, 15m, 2h or 1d: {text!r}")
    sign = -1 if match.group(1) == "-" else 1
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups()[1:])
    return sign * timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


@dataclass
class Faults:
    """What the world does wrong on purpose (set through `POST /__mock/faults`)."""

    error_rate: float = 0.0          # share of requests answered 500 before doing anything
    latency_ms: int = 0              # added to every request
    drop_rate: float = 0.0           # share of POSTs that commit, then lose the connection
    maintenance: bool = False        # every page is the maintenance page (503)
    note_limit: int = 0              # > 0: an action's free text is stored cut to this many characters
    refuse_rate: float = 0.0         # share of action POSTs refused with a business answer (4xx), nothing done
    portals: list[str] | None = None # limit the faults to these portal keys (None: all)
    seed: int | None = None

    def applies_to(self, portal: str) -> bool:
        return self.portals is None or portal in self.portals


@dataclass
class PortalSession:
    sid: str
    user: str | None
    csrf: str
    last_seen: datetime


@dataclass
class World:
    """Tables, portal sessions, clock and faults of one running mock world."""

    tables: dict[str, list[dict]]
    started_at: datetime
    session_idle: timedelta = timedelta(minutes=15)
    clock_offset: timedelta = timedelta(0)
    frozen_at: datetime | None = None  # a stopped clock: moves only when advanced (tests)
    faults: Faults = field(default_factory=Faults)
    fault_counts: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, dict[str, PortalSession]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    rng: random.Random = field(default_factory=random.Random)
    # portals whose state moves with the clock (a supplier resolving a transaction) register
    # here, so the control API's view is as current as the portals' own pages
    settlers: list = field(default_factory=list)

    def settle(self) -> None:
        for settler in self.settlers:
            settler(self)

    @classmethod
    def from_seed(cls, folder: Path, start: datetime | None = None) -> "World":
        start = start or datetime.now(JAKARTA)
        tables = load_world(Path(folder), start)
        for name in RECORDED_TABLES:
            tables.setdefault(name, [])
        return cls(tables=tables, started_at=start)

    # -- the clock -------------------------------------------------------------------------
    def now(self) -> datetime:
        if self.frozen_at is not None:
            return self.frozen_at
        return datetime.now(JAKARTA) + self.clock_offset

    def set_clock(self, moment: datetime, *, frozen: bool = False) -> None:
        """The world's time from now on; `frozen`: it stays there until advanced (a test that
        must not depend on how long the machine takes between its steps)."""
        with self.lock:
            self.clock_offset = moment - datetime.now(JAKARTA)
            self.frozen_at = moment if frozen else None

    def advance_clock(self, delta: timedelta) -> None:
        with self.lock:
            self.clock_offset += delta
            if self.frozen_at is not None:
                self.frozen_at += delta

    # -- tables ----------------------------------------------------------------------------
    def table(self, name: str) -> list[dict]:
        return self.tables.setdefault(name, [])

    def append_seed_rows(self, table: str, rows: list[dict[str, str]]) -> list[dict]:
        """Add rows given in the seed format while the world runs (a deposit arriving)."""
        if table not in TABLES:
            raise KeyError(table)
        with self.lock:
            existing = self.table(table)
            parsed = []
            for number, values in enumerate(rows, start=1):
                where = f"rows/{table}" + (f" row {number}" if len(rows) > 1 else "")
                parsed.append(parse_seed_row(table, values, self.now(), existing + parsed, where))
            existing.extend(parsed)
            return parsed

    def record(self, table: str, **row) -> dict:
        """Append a row to one of the tables the portals write (balance_log, complaints…)."""
        row.setdefault("created_at", self.now())
        with self.lock:
            self.table(table).append(row)
        return row

    def parse_time(self, text: str) -> datetime:
        return parse_time(text, self.now())

    # -- portal users and sessions ---------------------------------------------------------
    def check_password(self, portal: str, username: str, password: str) -> bool:
        return any(
            u["portal"] == portal and u["username"] == username
            and secrets.compare_digest(u["password"], password)
            for u in self.table("portal_users")
        )

    def portal_keys(self) -> list[str]:
        return sorted({u["portal"] for u in self.table("portal_users")})

    def expire_sessions(self, portals: list[str] | None = None) -> int:
        """Forced session expiry: every (or the named portals') session ends now."""
        with self.lock:
            ended = 0
            for key, by_sid in self.sessions.items():
                if portals is None or key in portals:
                    ended += sum(1 for s in by_sid.values() if s.user)
                    by_sid.clear()
            return ended

    def count_fault(self, kind: str) -> None:
        with self.lock:
            self.fault_counts[kind] = self.fault_counts.get(kind, 0) + 1

    # -- business faults, asked for by the portals' own action handlers ------------------------
    def refuses(self, portal: str) -> bool:
        """Whether this action POST is refused (fault `refuse_rate`): the portal then answers
        with its own refusal page and changes nothing. Rolled with `rng` under `lock`."""
        with self.lock:
            faults = self.faults
            if not faults.refuse_rate or not faults.applies_to(portal):
                return False
            if self.rng.random() >= faults.refuse_rate:
                return False
            self.count_fault("refused")
            return True

    def kept_note(self, portal: str, text: str) -> str:
        """The part of an action's free text the portal stores (fault `note_limit`: the first
        `note_limit` characters, as a server whose note column is that wide)."""
        with self.lock:
            limit = self.faults.note_limit
            if limit <= 0 or not self.faults.applies_to(portal) or len(text) <= limit:
                return text
            self.count_fault("note_cut")
            return text[:limit]

    # -- the control API's view --------------------------------------------------------------
    def state(self) -> dict[str, list[dict]]:
        """Every table as JSON rows, keyed by table name (the contract of `GET /__mock/state`)."""
        self.settle()
        with self.lock:
            return {name: [_jsonable_row(r) for r in rows] for name, rows in self.tables.items()}

    def fault_report(self) -> dict:
        with self.lock:
            return {"active": dict(self.faults.__dict__), "injected": dict(self.fault_counts)}


def _jsonable_row(row: dict) -> dict:
    return {k: _jsonable(v) for k, v in row.items()}


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral() else str(value)
    return value
