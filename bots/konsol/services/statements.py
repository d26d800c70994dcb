"""Unggah Mutasi: finance uploads a bank export; a preview; **Proses** reconciles it.

    preview = preview_statement(settings, store, data, "mutasi.csv", by="ani")
        # InputFileError for a bad file (.line, .column, str() names both): nothing kept
    launch = process_statement(settings, launcher, preview.sha256, by="ani")
    status = launcher.status(launch.id)   # poll; status.error / status.problems name what was refused

The preview reads the file with the bot's own parser and checks (``statement_file`` of
bots/reconcile_payments.py: format detected from the header, the period not older than
``statement_max_age_days``, KlikBCA Bisnis' account from its file name), and marks the lines
the store does not know yet by the same identity the reconciliation uses
(``Ledger.unknown``: statement-line/v2). The company's accounts are the `accounts` setting, else
those the store has read before; an account neither knows is flagged, and "Proses" (where the
bank portals list the accounts) decides.

"Proses" runs `python -m bots run reconcile_payments --statement FILE [--account N]` as its own
process through launch.py, exactly as finance would at a terminal: the same lock, checks, exit
codes and journal, and a browser that cannot hang or crash the web app (Playwright is not
thread-safe: DESIGN §7). An unknown account or a too old period ends it with exit 2 naming
it, nothing acted on; the same file again credits nothing twice (its lines are known).

Uploads are kept as `<var>/konsol/mutasi/<sha256>.csv` (the bytes as uploaded) beside
`<sha256>.json` (the original name, who, when); the run archives its own copy under reports/.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bots.clock import clock_for
from bots.errors import InputFileError
from bots.konsol.services import resolve_inside, rupiah
from bots.konsol.services.launch import Launch, Launcher
from bots.reconcile.ledger import Ledger
from bots.reconcile.tables import statement_coverage, statement_lines
from bots.reconcile_payments import _KLIKBCA_BISNIS_NAME, configured_accounts, options, statement_file
from bots.settings import Settings
from bots.store import Store

_WIB = ZoneInfo("Asia/Jakarta")

__all__ = ["PreviewLine", "StatementPreview", "known_accounts", "preview_statement", "process_statement",
           "upload_path"]

#: The export formats as finance knows them (bots/parsers FORMATS' names).
FORMAT_LABELS = {"bca-individual": "KlikBCA Individual", "bca-bisnis": "KlikBCA Bisnis", "mandiri-mcm": "Mandiri MCM",
                 "bri-cms": "BRI CMS", "bni-csv": "BNI"}


@dataclass(frozen=True)
class PreviewLine:
    """One statement line as the preview shows it; ``new``: the store does not know it yet."""

    line: int                     # the file's line number
    posted_on: date | None        # None: a KlikBCA PEND row without a date
    posted_at: datetime | None    # WIB, when the export gives a time
    description: str              # text from outside: show it as text
    amount: int                   # rupiah
    direction: str                # CR (money in) | DB (money out)
    balance: int | None
    pending: bool
    new: bool
    fingerprint: str


@dataclass(frozen=True)
class StatementPreview:
    sha256: str
    file_name: str                # as uploaded
    format: str                   # bca-individual, bca-bisnis, mandiri-mcm, bri-cms, bni-csv
    format_label: str             # KlikBCA Individual, …
    bank: str
    account_no: str
    account_known: bool | None    # one of the company's accounts? None: only "Proses" can tell
    company_accounts: list[str]   # the bank's accounts known here
    period_start: date | None     # as the file states it, else its lines' first and last days
    period_end: date | None
    period_stated: bool           # False: the export states no period (taken from the lines)
    opening_balance: int | None
    closing_balance: int | None
    lines: list[PreviewLine]
    credits: int                  # rupiah in (CR)
    debits: int                   # rupiah out (DB)
    credit_count: int
    debit_count: int
    new_count: int
    account_hint: str | None      # the account "Proses" passes (--account), for exports naming none

    @property
    def known_count(self) -> int:
        return len(self.lines) - self.new_count


def upload_path(settings: Settings, sha256: str) -> Path:
    """The kept upload of that hash; NotFound for anything else."""
    return resolve_inside(_folder(settings), f"{sha256}.csv")


def _folder(settings: Settings) -> Path:
    return settings.var_dir / "konsol" / "mutasi"


def known_accounts(settings: Settings, store: Store) -> dict[str, set[str]] | None:
    """bank → the company's accounts: the `accounts` setting, else those read before; None if neither."""
    config = options(settings)
    if config["accounts"]:
        return configured_accounts({}, config)
    found: dict[str, set[str]] = {}
    with store.read() as conn:
        rows = conn.execute(sa.union(sa.select(statement_coverage.c.bank, statement_coverage.c.account_no),
                                     sa.select(statement_lines.c.bank, statement_lines.c.account_no))).all()
    for bank, account in rows:
        found.setdefault(bank, set()).add(account)
    return found or None


def preview_statement(settings: Settings, store: Store, data: bytes, file_name: str, *, by: str,
                      account: str | None = None, accept_old: bool = False) -> StatementPreview:
    """Read an uploaded export as "Proses" will, without acting on anything; keep the file.

    ``account``: the account of an export that names none (KlikBCA Bisnis renamed). Raises
    InputFileError (line and column named) for a bad file, an account that differs from the
    one the file names, or a period older than `statement_max_age_days` (unless ``accept_old``)."""
    sha256 = hashlib.sha256(data).hexdigest()
    name = Path(file_name).name or "mutasi.csv"
    hint = account or _hint(name)
    config = {**options(settings), "statement_account": hint or "", "accept_old_statements": accept_old}
    today = clock_for(settings).now().date()
    folder = _folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".{sha256}.{os.getpid()}.tmp"
    scratch.write_bytes(data)
    try:
        read = statement_file(scratch, today, config, None)
    except InputFileError as exc:  # named by the file finance gave, as the terminal would
        scratch.unlink(missing_ok=True)
        raise InputFileError(name, exc.reason, exc.line, exc.column, exc.value) from None
    os.replace(scratch, folder / f"{sha256}.csv")  # a bad file is not kept: nothing to process
    (folder / f"{sha256}.json").write_text(json.dumps({"file_name": name, "by": by, "account": hint,
                                                      "at": datetime.now(timezone.utc).isoformat()},
                                                     ensure_ascii=False), encoding="utf-8")
    statement = read.statement
    unknown = {fp for _, fp in Ledger(store).unknown(statement)}
    lines = [PreviewLine(ln.source_line, ln.posted_on, ln.posted_at.replace(tzinfo=_WIB) if ln.posted_at else None,
                         ln.description, rupiah(ln.amount), ln.direction, rupiah(ln.balance), ln.pending,
                         fp in unknown, fp)
             for ln, fp in Ledger(store).fingerprints(statement)]
    accounts = known_accounts(settings, store)
    ours = sorted((accounts or {}).get(statement.bank, set()))
    days = sorted(ln.posted_on for ln in statement.lines if ln.posted_on)
    stated = statement.period_start is not None or statement.period_end is not None
    start = statement.period_start if stated else (days[0] if days else None)
    end = statement.period_end if stated else (days[-1] if days else None)
    credits = [ln.amount for ln in statement.lines if ln.direction == "CR"]
    debits = [ln.amount for ln in statement.lines if ln.direction == "DB"]
    return StatementPreview(
        sha256, name, statement.format, FORMAT_LABELS.get(statement.format, statement.format), statement.bank,
        statement.account_no, None if accounts is None else statement.account_no in ours, ours,
        start, end, stated, rupiah(statement.opening_balance),
        rupiah(statement.closing_balance), lines, rupiah(sum(credits)), rupiah(sum(debits)), len(credits),
        len(debits), sum(ln.new for ln in lines), hint)


def process_statement(settings: Settings, launcher: Launcher, sha256: str, *, by: str, account: str | None = None,
                      accept_old: bool = False) -> Launch:
    """"Proses": reconcile a previewed upload (`run reconcile_payments --statement FILE`) in its own
    process; returns the launch to poll. NotFound for a hash never uploaded; RunLocked while a
    reconciliation runs."""
    path = upload_path(settings, sha256)
    try:
        note = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        note = {}
    hint = account or note.get("account") or None
    return launcher.start("reconcile_payments", by=by, statements=[path], account=hint,
                          accept_old_statement=accept_old)


def _hint(name: str) -> str | None:
    found = _KLIKBCA_BISNIS_NAME.search(name)  # KlikBCA Bisnis names its download by account
    return found[1] if found else None

