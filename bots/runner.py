"""One run of one bot: lock, store, run record, logs with the run id, browser, summary.

The CLI, the scheduler (through the CLI, one process per run) and the demo all come here,
so every run is journaled in the `runs` table and holds the bot's lock the same way.
"""

from __future__ import annotations

import importlib
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from loguru import logger

from bots.clock import Clock, clock_for
from bots.crashpoints import CrashPoints
from bots.errors import BotError, BusinessError, RunLocked, UnknownBot
from bots.journal import Journal
from bots.lock import run_lock
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
    scope: "RunScope | None" = None

    @property
    def journal(self) -> Journal:
        """The run's exactly-once executor (every side effect goes through it)."""
        if self.scope is None:
            raise RuntimeError("a RunContext without its RunScope has no journal")
        return self.scope.journal

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


@dataclass
class RunScope:
    """One run's set-up, shared by every command that acts: the lock (following the store),
    the store, the run record, the clock, the logs' run id, and the run's journal.

    The body may set ``counts``, and ``outcome``/``exit_code``/``message`` for a run that
    finished with a problem (bad input skipped) instead of raising.
    """

    bot: str
    run_id: str
    settings: Settings
    store: Store
    clock: Clock
    lock: object
    dry_run: bool = False
    rebuilding: bool = False   # the store remembered nothing of this bot: the portals tell
    counts: dict = field(default_factory=dict)
    outcome: str | None = None
    exit_code: int = 0
    message: str | None = None
    actor: str | None = None   # a person acting (`person:<login>`): named in the journal's events
    _journal: Journal | None = None

    @property
    def journal(self) -> Journal:
        """The run's exactly-once executor, fenced by the run's lock."""
        if self._journal is None:
            self._journal = Journal(self.store, self.bot, self.run_id, self.clock.now, fence=self.lock.fence,
                                    crash=CrashPoints(self.settings.crash_at), actor=self.actor)
        return self._journal

    def browser(self) -> PortalBrowser:
        return PortalBrowser(self.settings, self.run_id)


def new_run_id(clock: Clock, prefix: str = "") -> str:
    """A run id that never repeats: the time, and a random tail."""
    return f"{prefix}{clock.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


@contextmanager
def run_scope(bot: str, settings: Settings, clock: Clock | None = None, *, record_as: str | None = None,
              dry_run: bool = False, prefix: str = "", actor: str | None = None) -> Iterator[RunScope]:
    """Lock, store, run record and logs for one run of ``bot``'s work (``record_as`` names the
    command in the runs table when it is not the bot itself, e.g. ``escalations``; ``actor``
    names the person the journal's events record, e.g. ``person:ani`` from the console)."""
    clock = clock or clock_for(settings)
    run_id = new_run_id(clock, prefix)
    name = record_as or bot
    with run_lock(settings, bot, now=clock.now()) as lock:
        store = Store(settings.database_url, settings.busy_timeout_ms)
        try:
            store.migrate()
            rebuilding = store.is_empty(bot)
            if not dry_run:  # a dry run writes nothing anywhere, not even its own record
                store.start_run(name, run_id, clock.now(), dry_run=dry_run, pid=os.getpid())
            scope = RunScope(bot, run_id, settings, store, clock, lock, dry_run, rebuilding, actor=actor)
            with logger.contextualize(run_id=run_id, bot=name):
                yield from _recorded(scope)
        finally:
            store.dispose()


def _recorded(scope: RunScope) -> Iterator[RunScope]:
    """Yield the scope, then record how the run ended (an error's exit code and words)."""
    outcome, code, message = "error", 1, None
    started = time.time()
    try:
        yield scope
        outcome = scope.outcome or ("dry_run" if scope.dry_run else "ok")
        code, message = scope.exit_code, scope.message
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
        if not scope.dry_run:
            from bots.outputs import keep_run  # any host (and the console) can serve them

            keep_run(scope.store, scope.settings.reports_dir, scope.run_id, started, scope.clock.now())
            scope.store.finish_run(scope.run_id, scope.clock.now(), outcome, code, scope.counts, message)
        logger.info("run finished: {} {}", outcome, scope.counts)


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
    with run_scope(name, settings, clock, dry_run=dry_run) as scope:
        logger.info("run started{}", " (dry run: nothing will be changed)" if dry_run else "")
        if scope.rebuilding and not dry_run:
            logger.warning("the store remembers nothing of {}: what was already done is read from the portals", name)
        with scope.browser() as browser:
            ctx = RunContext(name, scope.run_id, settings, scope.store, scope.clock, browser, dry_run,
                             [Path(p) for p in statements], progress, scope)
            result = module.run(ctx)
        scope.counts = result.counts
        found = scope.journal.found if scope._journal else 0
        if found:
            result.summary.append(("Found done at the portals" + (" (store rebuilt)" if scope.rebuilding else ""),
                                   str(found)))
            result.counts["found_done_at_portal"] = found
        journal = scope._journal
        if journal and journal.refused:
            result.summary.append(("Refused by a portal (sent to a person)", str(len(journal.refused))))
            result.counts["refused"] = len(journal.refused)
        if journal and journal.doubts:
            result.summary.append(("In doubt (python -m bots doubts list)", str(len(journal.doubts))))
            result.counts["in_doubt"] = len(journal.doubts)
        if result.problems:  # bad files were skipped; the rest of the work is kept
            scope.outcome, scope.exit_code, scope.message = "bad_input", 2, "; ".join(result.problems)
        return result


__all__ = ["BOTS", "RunContext", "RunResult", "RunScope", "load_bot", "run_bot", "run_scope", "RunLocked"]
