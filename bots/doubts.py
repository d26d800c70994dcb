"""Actions in doubt: the portal could not show whether an act happened, so a person decides.

    python -m bots doubts list
    python -m bots doubts decide KEY --done|--not-done --note TEXT

No bot acts on an action in doubt again. A person looks at the portal (the marker the act
carries is shown), then records what they saw: `--done` (it happened: nothing is redone) or
`--not-done` (it did not: the bot may act again on its next run). The decision is journaled
with the person's name, host and note, like every step a bot takes.
"""

from __future__ import annotations

import getpass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bots.clock import clock_for
from bots.errors import BusinessError
from bots.settings import Settings
from bots.store import Store


def list_doubts(settings: Settings) -> int:
    store = Store(settings.database_url, settings.busy_timeout_ms)
    store.migrate()
    rows = store.actions(state="in_doubt")
    table = Table(title="Tindakan ragu (in doubt)", header_style="bold")
    for column in ("Key", "Bot", "Jenis", "Penanda", "Sejak", "Mengapa", "Isi"):
        table.add_column(column)
    for a in rows:
        shown = {k: v for k, v in a.payload.items() if k not in ("message", "line")}
        # markers like [SPV-T1] and the portals' words are shown as they are, never read as rich markup
        table.add_row(*map(escape, (a.key, a.bot, a.kind, a.marker or "-", f"{a.updated_at:%d/%m/%Y %H:%M} UTC",
                                    a.error or "", ", ".join(f"{k}={v}" for k, v in sorted(shown.items())))))
    Console().print(table if rows else "no actions in doubt")
    store.dispose()
    return 0


def decide(settings: Settings, key: str, *, done: bool, note: str, person: str | None = None) -> int:
    print(decide_doubt(settings, key, done=done, note=note, person=person))
    return 0


def decide_doubt(settings: Settings, key: str, *, done: bool, note: str, person: str | None = None) -> str:
    """The one path of every decision, the CLI's and the console's: record a person's verdict on
    an action in doubt (journaled as ``person:<name>``); returns what was recorded, in words.
    BusinessError for an unknown key, one not in doubt, or no note: nothing recorded."""
    if not note.strip():
        raise BusinessError("--note is required: say what you saw at the portal")
    store = Store(settings.database_url, settings.busy_timeout_ms)
    try:
        store.migrate()
        action = store.get_action(key)
        if action is None:
            raise BusinessError(f"no action {key!r} in the journal (python -m bots doubts list shows them)")
        if action.state != "in_doubt":
            raise BusinessError(f"action {key!r} is {action.state}, not in doubt: nothing to decide")
        who = person or getpass.getuser()
        store.decide_doubt(key, done=done, person=who, note=note, now=clock_for(settings).now())
    finally:
        store.dispose()
    return (f"{key}: recorded as {'done' if done else 'not done'} by {who}"
            + ("" if done else " (the bot may act on it again next run)"))
