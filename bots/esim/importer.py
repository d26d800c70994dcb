"""`python -m bots esim import FILE`: GraPARI's filled-in batch workbook, back into the store.

The file is checked whole before anything is recorded: an unknown batch or order, a changed
locked cell, a bad status, MSISDN or activation time stops it with exit 2 naming the cell.
Then each activation is recorded with the date the aggregator must have deposited the
upfront payment and eSIM fee into the MSISDN: 7 working days after activation (weekends and
Indonesian public holidays excluded).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from bots.errors import BusinessError
from bots.esim.batch import issued_values, read_filled
from bots.esim.registry import JAKARTA, Registry
from bots.esim.report import write_report
from bots.esim.rules import deposit_due, indonesian_holidays
from bots.runner import run_scope
from bots.settings import Settings

BOT = "esim_activation_queue"


def import_batch(settings: Settings, path: Path) -> int:
    from bots.esim_activation_queue import options

    if not Path(path).is_file():
        raise BusinessError(f"no such file: {path}")
    config = options(settings)
    with run_scope(BOT, settings, record_as="esim_import", prefix="import-") as scope:
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
            r["deposit_due"] = (deposit_due(r["activated_at"].astimezone(JAKARTA).date(), days_off)
                                if r["status"] == "AKTIF" else None)
        registry.record_activations(batch_id, filled, clock.now())
        report, _ = write_report(registry.all_orders(), settings.reports_dir, clock.now())
        scope.counts = {"filled": len(filled), "rows": len(results)}
    table = Table(title=f"Batch {batch_id}: {len(filled)} of {len(results)} orders filled in", header_style="bold")
    for column in ("Pesanan", "Status", "MSISDN", "Diaktifkan", "Setoran jatuh tempo"):
        table.add_column(column)
    for r in filled:
        table.add_row(r["order_id"], r["status"], r["msisdn"] or "-",
                      f"{r['activated_at']:%d/%m/%Y %H:%M}" if r["activated_at"] else "-",
                      f"{r['deposit_due']:%d/%m/%Y}" if r["deposit_due"] else "-")
    console = Console()
    console.print(table)
    console.print(f"Report: {report}", soft_wrap=True, highlight=False)
    return 0
