"""`python -m bots esim reissue BATCH`: a lost batch file written again from the store.

The same batch — its number, its time, its orders, as issued — never a second batch: no order
moves, nothing is decided. Journaled like every batch file (`reissue:<batch>:<run>`, the file
under its final name the check), under esim_activation_queue's lock. A file still there is
never rewritten (exit 2, naming it).
"""

from __future__ import annotations

import re

from bots.errors import BusinessError, InputFileError
from bots.esim import batch
from bots.esim.registry import Registry
from bots.runner import run_scope
from bots.settings import Settings

BOT = "esim_activation_queue"
_BATCH = re.compile(r"^(?:batch-aktivasi-)?(\d{8}-\d{2})(?:\.xlsx)?$")


def reissue(settings: Settings, batch_name: str) -> int:
    """`esim reissue BATCH`: prints where the file was written again; returns the exit code."""
    print(reissue_batch(settings, batch_name))
    return 0


def reissue_batch(settings: Settings, batch_name: str, *, person: str | None = None) -> str:
    """The one path of every reissue, the CLI's and the console's; returns what was done, in words.
    ``person`` (the console's login) is named in the journal's events as ``person:<name>``.
    BusinessError/InputFileError (an unknown batch, a file still there): nothing written."""
    from bots.esim_activation_queue import options, write_batch_file

    found = _BATCH.match(batch_name.strip())
    if found is None:
        raise BusinessError(f"{batch_name!r} is not a batch (write 20261123-01 or batch-aktivasi-20261123-01.xlsx)")
    batch_id = found.group(1)
    config = options(settings)
    folder = settings.reports_dir / "esim"
    with run_scope(BOT, settings, record_as="esim_reissue", prefix=f"reissue-{batch_id}-",
                   actor=f"person:{person}" if person else None) as scope:
        registry = Registry(scope.store)
        if registry.batch(batch_id) is None:
            raise BusinessError(f"no batch {batch_id} in the store")
        target = folder / batch.file_name(batch_id)
        if target.exists():
            raise InputFileError(target.name, "the batch file is still there: a batch file is never rewritten "
                                 "(move it away first if it is damaged)")
        settled = write_batch_file(scope.journal, registry, folder, batch_id, config["bonus"],
                                   key=f"reissue:{batch_id}:{scope.run_id}")
        count = len(registry.batch_orders(batch_id))
        scope.counts = {"reissued": int(settled.done)}
    return f"batch {batch_id} written again: {target} ({count} orders, as issued)"
