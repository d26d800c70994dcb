"""Laporan: the workbooks under the reports folder, by date and kind, to download.

    rows = list_reports(settings, kind="rekonsiliasi", start=date(2026, 11, 1))   # newest first
    file = report_file(settings, "rekonsiliasi/rekonsiliasi-2026-11-23.xlsx")    # ServedFile
        # NotFound for anything that is not one of these workbooks: "../var/bots.sqlite3",
        # "artifacts/…", an absolute path, a link out of the folder

Files come from this host's reports folder and from the store's shared outputs (bots/outputs.py):
a workbook another host wrote, or one whose host is gone, is listed and served all the same.

The kinds are DESIGN §6's workbook names. An activation batch (`esim-batch`) holds NIK and KK:
``personal_data`` is set, so the view offers it to GraPARI and supervisors only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from bots.konsol.services import NotFound, ServedFile, local_or_stored, resolve_inside
from bots.settings import Settings

__all__ = ["KINDS", "Report", "list_reports", "report_file"]

#: kind → (folder, file name pattern with the date, label). The contracts of DESIGN §6.
KINDS = {
    "rekonsiliasi": ("rekonsiliasi", re.compile(r"rekonsiliasi-(\d{4})-(\d{2})-(\d{2})\.xlsx"), "Rekonsiliasi bank"),
    "komplain": ("komplain", re.compile(r"komplain-(\d{4})-(\d{2})-(\d{2})\.xlsx"), "Komplain supplier"),
    "esim-status": ("esim", re.compile(r"esim-status-(\d{4})-(\d{2})-(\d{2})\.xlsx"), "Status eSIM"),
    "esim-batch": ("esim", re.compile(r"batch-aktivasi-(\d{4})(\d{2})(\d{2})-\d{2}\.xlsx"), "Batch aktivasi eSIM"),
}


@dataclass(frozen=True)
class Report:
    kind: str
    label: str
    day: date                    # the business day (or a batch's issue day) in its name
    path: str                    # folder/name: what ``report_file`` takes
    name: str
    size: int                    # bytes
    modified_at: datetime
    personal_data: bool          # NIK/KK inside (activation batches)


def _kind_of(folder: str, name: str) -> tuple[str, date] | None:
    for kind, (where, pattern, _) in KINDS.items():
        found = pattern.fullmatch(name) if where == folder else None
        if found:
            try:
                return kind, date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                return None
    return None


def list_reports(settings: Settings, *, kind: str | None = None, start: date | None = None,
                 end: date | None = None, store=None) -> list[Report]:
    """The workbooks of ``kind`` (all kinds: None) whose day is within ``start``..``end``, newest first:
    this host's, and (given the store) those any host kept in the shared outputs."""
    found = []
    for folder in sorted({where for where, _, _ in KINDS.values()}):
        base = settings.reports_dir / folder
        if not base.is_dir():
            continue
        for path in base.iterdir():
            known = _kind_of(folder, path.name)
            if known is None or (kind and known[0] != kind):
                continue
            try:
                resolve_inside(settings.reports_dir, folder, path.name)  # a file, and no link out
            except NotFound:
                continue
            if (start and known[1] < start) or (end and known[1] > end):
                continue
            stat = path.stat()
            found.append(Report(known[0], KINDS[known[0]][2], known[1], f"{folder}/{path.name}", path.name,
                                stat.st_size, datetime.fromtimestamp(stat.st_mtime, timezone.utc),
                                known[0] == "esim-batch"))
    found += _kept_elsewhere(store, {r.path for r in found}, kind, start, end)
    return sorted(found, key=lambda r: (r.day, r.modified_at, r.name), reverse=True)


def _kept_elsewhere(store, here: set[str], kind: str | None, start: date | None, end: date | None) -> list[Report]:
    """The workbooks kept in the store that this host's folder does not have."""
    if store is None:
        return []
    from bots.outputs import newest_by_path

    found = []
    for path, kept in newest_by_path(store, ("workbook", "batch")).items():
        parts = path.split("/")
        known = _kind_of(*parts) if len(parts) == 2 and path not in here else None
        if known is None or (kind and known[0] != kind) or (start and known[1] < start) or (end and known[1] > end):
            continue
        found.append(Report(known[0], KINDS[known[0]][2], known[1], path, kept.name, kept.size, kept.created_at,
                            known[0] == "esim-batch"))
    return found


def report_file(settings: Settings, path: str, store=None) -> ServedFile:
    """One listed workbook (``Report.path``), to send: this host's copy, else the store's; NotFound
    for anything else."""
    parts = str(path).split("/")
    if len(parts) != 2 or _kind_of(*parts) is None:
        raise NotFound(f"no such report: {path!r}")
    return local_or_stored(Path(settings.reports_dir), "/".join(parts), store)
