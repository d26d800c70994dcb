"""Riwayat Run: the runs table with filters, and one run's details (log lines, counts, exit
code, failure captures).

    filters = run_filters(store)                       # the bots and outcomes to offer
    rows = list_runs(store, bot="reconcile_payments", outcome="portal_down",
                     start=date(2026, 11, 23), end=date(2026, 11, 23))   # WIB days, newest first
    detail = run_detail(settings, store, run_id)       # NotFound for an unknown run
    file = capture_file(settings, run_id, "01-bank-bca.png")   # ServedFile; NotFound for "../x"

"Jalankan ulang" is ``launch.Launcher.rerun`` (services/launch.py). Dry runs are not in the
runs table (a dry run writes nothing anywhere): their plan is on the launch's handle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bots.konsol.services import NotFound, ServedFile, local_or_stored, safe_name
from bots.logs import Masker, today_log
from bots.runner import BOTS
from bots.settings import Settings
from bots.store import RunRecord, Store
from bots.store.models import runs as runs_table

__all__ = ["CaptureGroup", "LogLine", "RunDetail", "RunFilters", "RunRow", "capture_file", "captures", "list_runs",
           "log_lines", "run_detail", "run_filters"]

JAKARTA = ZoneInfo("Asia/Jakarta")
#: What a capture's files are, by their ending (bots/portals/session.py writes them).
_KINDS = {".png": "screenshot", ".html": "html", "-trace.zip": "trace", ".txt": "reason"}


@dataclass(frozen=True)
class RunRow(RunRecord):
    """One run as the list shows it (the store's record). ``running``: no end recorded (still
    going, or killed)."""

    @property
    def running(self) -> bool:
        return self.ended_at is None

    @property
    def duration_seconds(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    @property
    def rerunnable(self) -> bool:
        """A bot's own run (not `escalations`, `esim_import`, …): "Jalankan ulang" applies."""
        return self.bot in BOTS


@dataclass(frozen=True)
class RunFilters:
    bots: list[str]
    outcomes: list[str]


@dataclass(frozen=True)
class LogLine:
    """One line of the day's JSON log, masked as the logs are (again, with this host's secrets)."""

    at: datetime
    level: str
    message: str
    where: str
    extra: dict = field(default_factory=dict)
    exception: str | None = None


@dataclass(frozen=True)
class CaptureGroup:
    """One portal failure's capture (`reports/artifacts/<run id>/NN-<portal>.*`): the file names
    to ask ``capture_file`` for (None: not kept) and the failure's words."""

    stem: str
    portal: str
    reason: str
    screenshot: str | None
    html: str | None
    trace: str | None


@dataclass(frozen=True)
class RunDetail:
    run: RunRow
    log: list[LogLine]
    captures: list[CaptureGroup]


def _row(record) -> RunRow:
    return RunRow(**{f.name: record._mapping[f.name] for f in fields(RunRecord)})


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), JAKARTA)


def list_runs(store: Store, *, bot: str | None = None, outcome: str | None = None, start: date | None = None,
              end: date | None = None, limit: int = 200) -> list[RunRow]:
    """Runs newest first, filtered by bot (as recorded: a bot, or `escalations`, `esim_import`…),
    outcome (`ok`, `bad_input`, `portal_down`, `locked`, `error`, …; `running` for no end yet),
    and the WIB days ``start``..``end`` (inclusive) the run started on."""
    c = runs_table.c
    query = sa.select(runs_table).order_by(c.started_at.desc(), c.id.desc()).limit(limit)
    if bot:
        query = query.where(c.bot == bot)
    if outcome == "running":
        query = query.where(c.ended_at.is_(None))
    elif outcome:
        query = query.where(c.outcome == outcome)
    if start is not None:
        query = query.where(c.started_at >= _day_start(start))
    if end is not None:
        query = query.where(c.started_at < _day_start(end + timedelta(days=1)))
    with store.read() as conn:
        return [_row(r) for r in conn.execute(query)]


def run_filters(store: Store) -> RunFilters:
    """The bots (every bot, and every other command recorded) and the outcomes seen, for the filters."""
    with store.read() as conn:
        bots = set(conn.execute(sa.select(runs_table.c.bot).distinct()).scalars())
        outcomes = set(conn.execute(sa.select(runs_table.c.outcome).distinct()).scalars()) - {None}
    return RunFilters(sorted(set(BOTS) | bots), sorted(outcomes | {"running"}))


def run_detail(settings: Settings, store: Store, run_id: str) -> RunDetail:
    """One run: its record, its log lines and its failure captures; NotFound for an unknown run."""
    with store.read() as conn:
        record = conn.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).first()
    if record is None:
        raise NotFound(f"no run {run_id!r}")
    run = _row(record)
    until = run.ended_at or datetime.now(JAKARTA)
    return RunDetail(run, log_lines(settings, run_id, run.started_at, until), captures(settings, run_id, store))


def log_lines(settings: Settings, run_id: str, start: datetime, end: datetime) -> list[LogLine]:
    """The lines of ``run_id`` in the JSON log files of the WIB days from ``start`` to ``end``."""
    masker = Masker(settings.secrets())
    found: list[LogLine] = []
    day, last = start.astimezone(JAKARTA).date(), end.astimezone(JAKARTA).date()
    while day <= last:
        path = today_log(settings.logs_dir, _day_start(day))
        day += timedelta(days=1)
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace") as lines:
            for text in lines:
                if run_id not in text:  # most lines are other runs': skip them before parsing
                    continue
                try:
                    entry = json.loads(text)
                    at = datetime.fromisoformat(entry["time"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash
                if entry.get("run_id") != run_id:
                    continue
                found.append(LogLine(at, str(entry.get("level", "")), masker(str(entry.get("message", ""))),
                                     str(entry.get("where", "")), masker.value(entry.get("extra") or {}),
                                     masker(entry["exception"]) if entry.get("exception") else None))
    return found


def captures(settings: Settings, run_id: str, store=None) -> list[CaptureGroup]:
    """The failure captures a run kept under `reports/artifacts/<run id>/`, in the order taken:
    this host's folder, else (given the store) what the run's host kept in the shared outputs."""
    try:
        folder = settings.reports_dir / "artifacts" / safe_name(run_id)
    except NotFound:
        return []
    if folder.is_dir():
        names = [path.name for path in sorted(folder.iterdir()) if path.is_file()]
        texts = {name: _read_text(folder / name) for name in names if name.endswith(".txt")}
    else:
        texts = _kept_captures(store, run_id)
        names = sorted(texts)
    stems: dict[str, dict[str, str]] = {}
    for name in names:
        for ending, kind in _KINDS.items():
            if name.endswith(ending):
                stems.setdefault(name[: -len(ending)], {})[kind] = name
                break
    groups = []
    for stem, files in stems.items():
        reason = texts.get(files.get("reason", ""), "")
        groups.append(CaptureGroup(stem, stem.split("-", 1)[-1], reason, files.get("screenshot"), files.get("html"),
                                   files.get("trace")))
    return groups


def _kept_captures(store, run_id: str) -> dict[str, str]:
    """name → text of the run's captures kept in the store (only the small reason files are read; others: "")."""
    if store is None:
        return {}
    from bots.outputs import fetch_path, newest_by_path

    texts = {}
    for path in newest_by_path(store, ("capture",), under=f"artifacts/{run_id}"):
        found = fetch_path(store, path) if path.endswith(".txt") else None
        texts[path.rsplit("/", 1)[-1]] = found[1].decode("utf-8", errors="replace").strip() if found else ""
    return texts


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def capture_file(settings: Settings, run_id: str, name: str, store=None) -> ServedFile:
    """One file of a run's capture, to send: this host's, else the store's; NotFound for any name
    we did not write there (a path, ``..``, a link out of the folder, another run's file)."""
    return local_or_stored(settings.reports_dir, f"artifacts/{safe_name(run_id)}/{safe_name(name)}", store)

