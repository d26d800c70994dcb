"""What must never leave the process: the demo world's passwords and tokens, its NIK and KK numbers.

`find_leaks` reads the JSON logs. `find_report_leaks` reads every file a run wrote under a
reports folder that can be read as text: the text files, every member of a zip (Playwright
traces) and every XML member of a workbook — except the activation batch workbooks, the one
place NIK and KK belong (DESIGN §6). Screenshots cannot be read as text: `capture` masks them
(bots/portals/session.py), and tests/test_zz_leaks.py checks that it does.
"""

from __future__ import annotations

import csv
import re
import zipfile
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "fixtures" / "world"
DEMO_ENV = ROOT / "config" / "demo.env"

_SECRET_SETTING = re.compile(r"^\s*[A-Z][A-Z0-9_]*_(?:PASSWORD|TOKEN)\s*=\s*(.+?)\s*$", re.M)
# Logs mask every 16-digit number, so any one left is a leak.
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")
# In failure artifacts, a 16-digit number standing alone: not a run of digits inside a hex id
# (a trace names its resources by SHA-1) nor the decimals of a fraction.
LONE_SIXTEEN_DIGITS = re.compile(r"(?<![0-9A-Fa-f.])\d{16}(?![0-9A-Fa-f])")
TEXT_SUFFIXES = {".html", ".txt", ".json", ".jsonl", ".csv"}
# Their pages and downloads carry NIK and KK: a trace of them (DOM snapshots, request bodies,
# screencast) is a leak whatever it holds (artifacts are named NN-<portal>-trace.zip).
PERSONAL_DATA_TRACES = re.compile(r"-(indiana|dukcapil|ismara)-trace\.zip$")
# the activation batch, and GraPARI's filled-in copy of it (what `esim import` reads back)
ALLOWED_WORKBOOKS = "*batch-aktivasi-*.xlsx"


def demo_passwords() -> list[str]:
    """The values of every `*_PASSWORD` and `*_TOKEN` setting in config/demo.env."""
    return _SECRET_SETTING.findall(DEMO_ENV.read_text(encoding="utf-8"))


def fixture_niks() -> set[str]:
    """Every NIK and KK of the demo world: the `nik` and `kk` columns of fixtures/world/*.csv.

    Other 16-digit values there are voucher serial numbers (SN), which a complaint workbook
    rightly shows.
    """
    found = set()
    for path in sorted(WORLD.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                found |= {(row.get(column) or "").strip() for column in ("nik", "kk")} - {""}
    return found


def _secrets() -> list[tuple[str, str]]:
    return [(p, "a demo password") for p in demo_passwords()] + [(n, "a NIK/KK") for n in sorted(fixture_niks())]


def _leaks_in(name: str, text: str, secrets, any_sixteen: re.Pattern | None) -> list[str]:
    found = [f"{name}: {what}" for value, what in secrets if value in text]
    if any_sixteen is not None and any_sixteen.search(text):
        found.append(f"{name}: a 16-digit number")
    return found


def find_leaks(folders) -> list[str]:
    """Every leak in the JSON logs under these folders, as 'file: what'."""
    found, secrets = [], _secrets()
    for folder in folders:
        for path in sorted(Path(folder).glob("*.jsonl")):
            found += _leaks_in(path.name, path.read_text(encoding="utf-8"), secrets, SIXTEEN_DIGITS)
    return found


def reports_folders(root: Path) -> list[Path]:
    """Every folder named `reports` under root (the suite's runs each write their own)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("reports") if p.is_dir())


def find_report_leaks(folders) -> list[str]:
    """Every leak in what runs wrote under these reports folders, as 'file[!member]: what'.

    Known values (demo passwords, fixture NIK/KK) are searched everywhere; any lone 16-digit
    number only in the text files of failure artifacts (`artifacts/`: HTML and notes, masked like
    the logs) — a workbook, or the trace of a supplier's page, rightly shows voucher serials (SN)
    of 16 digits.
    """
    found, secrets = [], _secrets()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = str(path.relative_to(folder.parent))
            generic = LONE_SIXTEEN_DIGITS if "artifacts" in path.relative_to(folder).parts else None
            suffix = path.suffix.lower()
            if suffix in TEXT_SUFFIXES:
                found += _leaks_in(name, path.read_text(encoding="utf-8", errors="replace"), secrets, generic)
            elif suffix == ".zip":
                if PERSONAL_DATA_TRACES.search(path.name):
                    found.append(f"{name}: a trace of a portal that shows personal data")
                for member, text in _members(path, lambda _member: True):
                    found += _leaks_in(f"{name}!{member}", text, secrets, None)
            elif suffix == ".xlsx" and not fnmatch(path.name, ALLOWED_WORKBOOKS):
                for member, text in _members(path, lambda member: member.endswith((".xml", ".rels"))):
                    found += _leaks_in(f"{name}!{member}", text, secrets, None)
    return found


def _members(path: Path, wanted):
    """(name, text) of a zip's members; bytes read as Latin-1, so binary members scan too."""
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if wanted(member):
                    yield member, archive.read(member).decode("latin-1")
    except zipfile.BadZipFile:
        yield "(not a zip)", path.read_bytes().decode("latin-1")
