"""`python -m bots esim import FILE`: GraPARI's filled-in batch workbook, back into the store.

The file is checked whole before anything is recorded: an unknown batch or order, a changed
locked cell, a bad status, MSISDN or activation time stops it with exit 2 naming the cell.
Then each activation is recorded with the date the aggregator must have deposited the
upfront payment and eSIM fee into the MSISDN: 7 working days after activation (weekends and
Indonesian public holidays excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

import hashlib

from bots.errors import BusinessError
from bots.journal import Effect
from bots.esim.batch import issued_values, read_filled
from bots.esim.registry import JAKARTA, Registry
from bots.esim.report import write_report
from bots.esim.rules import deposit_due, deposit_due_at, indonesian_holidays
from bots.runner import run_scope
from bots.settings import Settings

BOT = "esim_activation_queue"


FIELDS = (("status", "activation_status", "Status Aktivasi"), ("msisdn", "msisdn", "MSISDN"),
          ("activated_at", "activated_at", "Diaktifkan Pada"), ("note", "activation_note", "Catatan GraPARI"))


def changes(registry: Registry, batch_id: str, filled: list[dict]) -> list[tuple[str, str, object, object]]:
    """(order, column, recorded, new) for every value an earlier import recorded differently."""
    recorded = {r.order_id: r for r in registry.batch_orders(batch_id)}
    found = []
    for r in filled:
        row = recorded.get(r["order_id"])
        if row is None or row.activation_status is None:
            continue
        for key, column, header in FIELDS:
            old, new = getattr(row, column), r[key]
            if key == "activated_at" and old is not None and new is not None:
                if abs(old - new).total_seconds() < 60:
                    continue
            elif (old or None) == (new or None):
                continue
            found.append((r["order_id"], header, old, new))
    return found


def _shown(value) -> str:
    if value is None:
        return "(kosong)"
    if hasattr(value, "astimezone"):
        return f"{value.astimezone(JAKARTA):%d/%m/%Y %H:%M}"
    return str(value)


@dataclass(frozen=True)
class BatchImport:
    """What an import recorded: the batch, every order row read (filled or not), the status workbook."""

    batch_id: str
    rows: list[dict]          # order_id, status, msisdn, activated_at, note, deposit_due(_at) (filled rows)
    total: int                # order rows in the file
    changed: list[tuple[str, str, str, str]]  # (order, column, old, new) recorded with --accept-changes
    report: Path


def import_batch(settings: Settings, path: Path, *, accept_changes: bool = False) -> int:
    """`esim import FILE`: record the file, print a table of what was recorded; returns the exit code."""
    done = import_filled_batch(settings, path, accept_changes=accept_changes)
    table = Table(title=f"Batch {done.batch_id}: {len(done.rows)} of {done.total} orders filled in",
                  header_style="bold")
    for column in ("Pesanan", "Status", "MSISDN", "Diaktifkan", "Setoran jatuh tempo"):
        table.add_column(column)
    for r in done.rows:
        table.add_row(r["order_id"], r["status"], r["msisdn"] or "-",
                      f"{r['activated_at']:%d/%m/%Y %H:%M}" if r["activated_at"] else "-",
                      f"{r['deposit_due']:%d/%m/%Y}" if r["deposit_due"] else "-")
    console = Console()
    console.print(table)
    console.print(f"Report: {done.report}", soft_wrap=True, highlight=False)
    return 0


def import_filled_batch(settings: Settings, path: Path, *, accept_changes: bool = False,
                        person: str | None = None) -> BatchImport:
    """The one path of every import, the CLI's and the console's: check GraPARI's filled-in batch
    whole (BusinessError/InputFileError naming the cell: nothing recorded), then record it.
    ``person`` (the console's login) is named in the journal's events as ``person:<name>``."""
    from bots.esim_activation_queue import options

    if not Path(path).is_file():
        raise BusinessError(f"no such file: {path}")
    config = options(settings)
    with run_scope(BOT, settings, record_as="esim_import", prefix="import-",
                   actor=f"person:{person}" if person else None) as scope:
        store, clock = scope.store, scope.clock
        registry = Registry(store)

        def issued(batch_id: str):
            row = registry.batch(batch_id)
            if row is None:
                return None
            return issued_values(registry.batch_orders(batch_id), row.issued_at, config["bonus"])

        batch_id, results = read_filled(Path(path), issued)
        filled = [r for r in results if r["status"]]
        years = {r["activated_at"].year for r in filled if r["activated_at"]} or {clock.now().year}
        days_off = indonesian_holidays(range(min(years), max(years) + 2), config["days_off"])
        for r in filled:
            aktif = r["status"] == "AKTIF"
            r["deposit_due"] = deposit_due(r["activated_at"].astimezone(JAKARTA).date(), days_off) if aktif else None
            r["deposit_due_at"] = deposit_due_at(r["activated_at"].astimezone(JAKARTA), days_off) if aktif else None
        changed = changes(registry, batch_id, filled)
        if changed and not accept_changes:
            listed = "; ".join(f"{o} {h}: {_shown(a)} → {_shown(b)}" for o, h, a, b in changed)
            raise BusinessError(f"{Path(path).name}: {len(changed)} value(s) differ from what an earlier import "
                                f"recorded ({listed}); nothing recorded. Run again with --accept-changes to record "
                                "them (the old values are kept in the journal)")
        for order_id, header, old, new in changed:
            _journal_change(scope.journal, batch_id, order_id, header, old, new)
        registry.record_activations(batch_id, filled, clock.now())
        report, _ = write_report(registry.all_orders(), settings.reports_dir, clock.now(), config["days_off"])
        scope.counts = {"filled": len(filled), "rows": len(results)}
    return BatchImport(batch_id, filled, len(results),
                       [(o, h, _shown(a), _shown(b)) for o, h, a, b in changed], Path(report))


def _journal_change(journal, batch_id: str, order_id: str, header: str, old, new) -> None:
    """A recorded value changed by a re-import, kept in the journal with the old value."""
    digest = hashlib.sha256(f"{_shown(old)}|{_shown(new)}".encode()).hexdigest()[:10]
    payload = {"batch_id": batch_id, "order_id": order_id, "column": header, "old": _shown(old), "new": _shown(new)}
    journal.once(Effect(f"reimport:{order_id}:{header}:{digest}", "reimport_change", payload,
                        lambda fresh: None, lambda: {"how": "recorded", **payload}))
