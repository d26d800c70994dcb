"""Laporan: the workbooks under the reports folder, by date and kind, to download.

    rows = list_reports(settings, kind="rekonsiliasi", start=date(2026, 11, 1))   # newest first
    file = report_file(settings, "rekonsiliasi/rekonsiliasi-2026-11-23.xlsx")    # ServedFile
        # NotFound for anything that is not one of these workbooks: "../var/bots.sqlite3",
        # "artifacts/…", an absolute path, a link out of the folder

The kinds are DESIGN §6's workbook names. An activation batch (`esim-batch`) holds NIK and KK:
``personal_data`` is set, so the view offers it to GraPARI and supervisors only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from bots.konsol.services import NotFound, ServedFile, resolve_inside, served
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
                 end: date | None = None) -> list[Report]:
    """The workbooks of ``kind`` (all kinds: None) whose day is within ``start``..``end``, newest first."""
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
    return sorted(found, key=lambda r: (r.day, r.modified_at, r.name), reverse=True)


def report_file(settings: Settings, path: str) -> ServedFile:
    """One listed workbook (``Report.path``), to send; NotFound for anything else."""
    parts = str(path).split("/")
    if len(parts) != 2 or _kind_of(*parts) is None:
        raise NotFound(f"no such report: {path!r}")
    return served(resolve_inside(Path(settings.reports_dir), *parts))
