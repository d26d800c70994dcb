"""One run of one bot: lock, store, run record, logs with the run id, browser, summary.

The CLI, the scheduler (through the CLI, one process per run) and the demo all come here,
so every run is journaled in the `runs` table and holds the bot's lock the same way.
"""

from __future__ import annotations

import importlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from loguru import logger

from bots.clock import Clock, clock_for
from bots.errors import BotError, BusinessError, RunLocked, UnknownBot
from bots.lock import RunLock
from bots.portals.session import PortalBrowser
from bots.settings import Settings
from bots.store import Store

#: Every bot, and the issue that brings the ones not built yet.
BOTS = {
    "reconcile_payments": "bank statements ↔ deposit tickets (issue 3)",
    "check_pending_tx": "pending transactions and supplier complaints (issue 4)",
    "esim_activation_queue": "Halo eSIM validation and GraPARI batches (issue 5)",
    "portal_check": "every configured portal reachable and its login accepted",
}
OUTCOMES = {0: "ok", 1: "error", 2: "bad_input", 3: "portal_down", 4: "locked"}


@dataclass
class RunResult:
    """What a run did: counts for the runs table, lines for the summary, reports written."""

    counts: dict[str, int] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    details: list[list[str]] = field(default_factory=list)  # rows of the summary table
    detail_header: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # bad inputs skipped (the run ends with exit 2)


@dataclass
class RunContext:
    """What a bot gets for one run: settings, store, clock, browser, and the run's options."""

    bot: str
    run_id: str
    settings: Settings
    store: Store
    clock: Clock
    browser: PortalBrowser
    dry_run: bool = False
    statements: list[Path] = field(default_factory=list)
    progress: Callable[[str, int], "Progress"] | None = None

    def portal(self, page_class, key: str):
        """A page object for one portal, sharing the run's browser (one context per portal)."""
        return page_class(self.browser, self.settings.portal(key), attempts=self.settings.retry_attempts,
                          backoff_seconds=self.settings.retry_backoff_seconds)

    def track(self, description: str, total: int) -> "Progress":
        return (self.progress or _no_progress)(description, total)


class Progress:
    def advance(self, steps: int = 1) -> None: ...
    def __enter__(self): return self
    def __exit__(self, *exc): return None


def _no_progress(description: str, total: int) -> Progress:
    return Progress()


def load_bot(name: str):
    """The bot's module; UnknownBot for a name we do not know or a bot not built yet."""
    if name not in BOTS:
        raise UnknownBot(f"no bot named {name!r}; bots: {', '.join(BOTS)}")
    try:
        return importlib.import_module(f"bots.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"bots.{name}":
            raise
        raise UnknownBot(f"bot {name} is not built yet: {BOTS[name]}") from None


def run_bot(name: str, settings: Settings, *, dry_run: bool = False, statements=(),
            clock: Clock | None = None, progress=None) -> RunResult:
    """Run one bot once. Raises BotError subclasses (the CLI turns them into exit codes)."""
    module = load_bot(name)
    for key in module.required_portals(settings):
        settings.portal(key)  # a missing URL or credential stops here, before any browser
    if hasattr(module, "options"):
        module.options(settings)  # so does a bad key of its own section, before the store is opened
    for path in statements:
        if not Path(path).is_file():
            raise BusinessError(f"statement file not found: {path}")
    clock = clock or clock_for(settings)
    run_id = f"{clock.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    with RunLock(name, settings.lock_dir, now=clock.now()):
        store = Store(settings.database_url)
        try:
            store.migrate()
            if not dry_run:  # a dry run writes nothing anywhere, not even its own record
                store.start_run(name, run_id, clock.now(), dry_run=dry_run, pid=os.getpid())
            with logger.contextualize(run_id=run_id, bot=name):
                return _run(module, name, run_id, settings, store, clock, dry_run, statements, progress)
        finally:
            store.dispose()


def _run(module, name, run_id, settings, store, clock, dry_run, statements, progress) -> RunResult:
    logger.info("run started{}", " (dry run: nothing will be changed)" if dry_run else "")
    outcome, code, message, result = "error", 1, None, RunResult()
    try:
        with PortalBrowser(settings, run_id) as browser:
            ctx = RunContext(name, run_id, settings, store, clock, browser, dry_run,
                             [Path(p) for p in statements], progress)
            result = module.run(ctx)
        outcome, code = ("dry_run" if dry_run else "ok"), 0
        if result.problems:  # bad files were skipped; the rest of the work is kept
            outcome, code, message = "bad_input", 2, "; ".join(result.problems)
        return result
    except BotError as exc:
        code, message = exc.exit_code, str(exc)
        outcome = getattr(exc, "outcome", None) or OUTCOMES.get(code, "error")
        logger.error("run ended: {}", exc)
        raise
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        logger.exception("run failed unexpectedly")
        raise
    finally:
        if not dry_run:
            store.finish_run(run_id, clock.now(), outcome, code, result.counts, message)
        logger.info("run finished: {} {}", outcome, result.counts)


__all__ = ["BOTS", "RunContext", "RunResult", "load_bot", "run_bot", "RunLocked"]
