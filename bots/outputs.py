"""Shared outputs: the workbooks, batch files and failure captures a run wrote, kept in the store.

On several hosts (queue mode) a run's files land in that host's `reports/`; kept in the
store as well, any host — and the console — can serve them, and a host that dies does not
take them along. One row per distinct content (kind, name, sha256): a day's workbook
rewritten with the same bytes is not kept twice; rewritten with a late line, the newest
version is the one served.

The runner calls `keep_run` once, as every run ends (bots/runner.py): it keeps each file
under `reports_dir` written since the run started — whichever writer wrote it — and the
run's captures (`reports/artifacts/<run id>/`). Keeping is a copy: a failure to keep is
logged and the run goes on (the file is on disk, and the next run that writes it keeps it
again; workbooks are rebuilt from the store anyway), so a store hiccup never costs the
run's real work.

    python -m bots outputs list [--kind workbook|batch|capture]
    python -m bots outputs get rekonsiliasi-2026-11-23.xlsx [--to FILE]
"""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from loguru import logger

from bots.errors import BusinessError
from bots.store.models import UtcDateTime, metadata

#: Bigger files stay on their host only (a Playwright trace can be tens of MB); logged.
MAX_BYTES = 16 * 1024 * 1024
KINDS = ("workbook", "batch", "capture")
_DAY = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")

#: Created by migration 0009_outputs; the shape here must match it.
outputs = sa.Table(
    "outputs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("day", sa.Date, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.UniqueConstraint("kind", "name", "sha256", name="uq_outputs_kind_name_sha256"),
    extend_existing=True,
)


@dataclass(frozen=True)
class Output:
    """One kept version of a file (its bytes are fetched on their own: `fetch`)."""

    id: int
    kind: str
    name: str
    path: str
    day: date | None
    sha256: str
    size: int
    created_at: datetime
    host: str
    run_id: str | None


def kind_of(relative: Path) -> str:
    """workbook, batch (an eSIM activation batch, never rewritten) or capture (a failure's)."""
    if relative.parts and relative.parts[0] == "artifacts":
        return "capture"
    return "batch" if relative.name.startswith("batch-aktivasi-") else "workbook"


def day_of(name: str) -> date | None:
    """The business day a file's name says (rekonsiliasi-2026-11-23, batch-aktivasi-20261123-01)."""
    match = _DAY.search(name)
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def keep(store, reports_dir: Path, path: Path, *, now: datetime, run_id: str | None = None,
         kind: str | None = None) -> bool:
    """Keep one file in the store; True if this content was new. Raises what the store raises."""
    from bots.store import insert_for

    path, reports_dir = Path(path), Path(reports_dir)
    content = path.read_bytes()
    try:
        relative = path.resolve().relative_to(reports_dir.resolve())
    except ValueError:
        relative = Path(path.name)
    row = {"kind": kind or kind_of(relative), "name": path.name, "path": relative.as_posix(),
           "day": day_of(path.name), "sha256": hashlib.sha256(content).hexdigest(), "size": len(content),
           "content": content, "created_at": now, "host": socket.gethostname()[:255], "run_id": run_id}
    with store.write() as conn:
        added = conn.execute(insert_for(conn, outputs).values(**row).on_conflict_do_nothing()
                             .returning(outputs.c.id)).first()
    return added is not None


def keep_run(store, reports_dir: Path, run_id: str, started: float, now: datetime) -> int:
    """Keep every file under `reports_dir` written since `started` (the host's wall clock, as
    file times are: a replayed run's clock may say another day); how many were new. Never
    raises: a file not kept is logged."""
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        return 0
    since, kept = started - 1, 0
    try:
        for path in sorted(reports_dir.rglob("*")):
            if not path.is_file() or path.name.startswith(".") or path.stat().st_mtime < since:
                continue
            relative = path.relative_to(reports_dir)
            if relative.parts[0] == "artifacts" and relative.parts[1:2] != (run_id,):
                continue  # another run's captures: that run keeps them
            if path.stat().st_size > MAX_BYTES:
                logger.info("outputs: {} is {} MB, kept on this host only", relative, path.stat().st_size >> 20)
                continue
            kept += keep(store, reports_dir, path, now=now, run_id=run_id)
    except Exception as exc:  # noqa: BLE001 - keeping is a copy: the run's work is done
        logger.warning("outputs: the run's files are not (all) kept in the store ({}: {}); they stay in {}",
                       type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", reports_dir)
    if kept:
        logger.info("outputs: {} file(s) kept in the store", kept)
    return kept


def list_outputs(store, kind: str | None = None, limit: int = 200) -> list[Output]:
    """The kept files, newest first (without their bytes)."""
    columns = [c for c in outputs.c if c.name != "content"]
    query = sa.select(*columns).order_by(outputs.c.created_at.desc(), outputs.c.id.desc()).limit(limit)
    if kind:
        query = query.where(outputs.c.kind == kind)
    with store.read() as conn:
        return [Output(**row._mapping) for row in conn.execute(query)]


def newest_by_path(store, kinds: tuple[str, ...] = KINDS, under: str | None = None) -> dict[str, Output]:
    """path → the newest kept version of each file of ``kinds`` (optionally under a folder), without bytes.
    The console lists these beside the host's own files: a workbook written on another host is there too."""
    columns = [c for c in outputs.c if c.name != "content"]
    query = sa.select(*columns).where(outputs.c.kind.in_(kinds)).order_by(outputs.c.created_at, outputs.c.id)
    if under:
        query = query.where(outputs.c.path.startswith(under.rstrip("/") + "/", autoescape=True))
    with store.read() as conn:
        return {row.path: Output(**row._mapping) for row in conn.execute(query)}


def fetch_path(store, path: str) -> tuple[Output, bytes] | None:
    """The newest kept version of the file at ``path`` (relative to reports/), with its bytes; None if none."""
    return _newest(store, outputs.c.path == path)


def fetch(store, name: str) -> tuple[Output, bytes] | None:
    """The newest kept version of the file called `name`, with its bytes; None if none."""
    return _newest(store, outputs.c.name == name)


def _newest(store, where) -> tuple[Output, bytes] | None:
    query = sa.select(outputs).where(where).order_by(outputs.c.created_at.desc(), outputs.c.id.desc()).limit(1)
    with store.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    fields = {k: v for k, v in row._mapping.items() if k != "content"}
    return Output(**fields), bytes(row.content)


# -- the CLI: python -m bots outputs list|get -------------------------------------------------

def list_command(settings, kind: str | None = None) -> int:
    from bots.store import Store

    if kind and kind not in KINDS:
        raise BusinessError(f"--kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    store = Store(settings.database_url)
    try:
        store.migrate()
        rows = list_outputs(store, kind)
    finally:
        store.dispose()
    print(f"{'kept at (' + settings.timezone + ')':<22}{'kind':<10}{'size':>10}  {'host':<16}name")
    for row in rows:
        print(f"{row.created_at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}   {row.kind:<10}{row.size:>10}  "
              f"{row.host[:15]:<16}{row.path}")
    if not rows:
        print("(nothing kept yet)")
    return 0


def get_command(settings, name: str, to: Path | None = None) -> int:
    from bots.store import Store

    store = Store(settings.database_url)
    try:
        store.migrate()
        found = fetch(store, name)
    finally:
        store.dispose()
    if found is None:
        raise BusinessError(f"no kept file named {name!r} (python -m bots outputs list shows them)")
    output, content = found
    target = Path(to) if to else Path(Path(name).name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    print(f"{target}: {output.size} bytes, kept {output.created_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC "
          f"on {output.host} (run {output.run_id or '-'})")
    return 0
