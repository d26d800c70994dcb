"""The supervisor (atasan) decides Bon / TOP requests; finance marks repayments.

    python -m bots bon list [--all]
    python -m bots bon decide REQ-ID --grant|--refuse --note TEXT [--by NAME]
    python -m bots bon repaid BON-ID --amount N --note TEXT [--by NAME]

A grant goes through the journal under the same key as the bot's (`bon:<request_id>`), so
the bot and a person can never both grant; the portal is checked first. A refusal clicks
"Tolak" on the server (journaled as `bon-refuse:<request_id>`). A repayment uses the server's
"Catat Pelunasan", which is not idempotent: its note starts with a marker derived from the
bon, the amount and the note (`BOT:P-<12 hex>`), searched in the server's repayment list
before and after. Every function returns a result, so the console calls the same ones.
"""

from __future__ import annotations

import getpass
import hashlib
from dataclasses import dataclass

from loguru import logger
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bots.errors import EXIT_PORTAL_DOWN, ActionRefused, BusinessError
from bots.escalations import unsettled
from bots.journal import Effect
from bots.portals.otomax_bon import OtomaxBon
from bots.reconcile.bon_act import grant_once
from bots.reconcile.bon_book import GRANTED, REFUSED, WAITING, BonBook, StoredRequest
from bots.reconcile.matching import JAKARTA, rupiah
from bots.runner import RunContext, run_scope
from bots.settings import Settings
from bots.store import Store

BOT = "reconcile_payments"  # deciding takes that bot's lock: never beside a running reconcile
STATUS_WORDS = {WAITING: "Menunggu atasan", GRANTED: "Diberikan", REFUSED: "Ditolak"}


@dataclass(frozen=True)
class BonResult:
    """How a decision or a repayment ended: the exit code and the words for the person."""

    code: int
    message: str


def repayment_marker(bon_id: str, amount: int, note: str) -> str:
    """The marker of one repayment (≤ 18 characters), from what it records: the same command
    gives the same marker on any host, in any store."""
    return "BOT:P-" + hashlib.sha256(f"{bon_id}|{amount}|{note.strip()}".encode()).hexdigest()[:12]


def requests(settings: Settings, *, show_all: bool = False) -> list[tuple[StoredRequest, str | None, list]]:
    """(request, agent's name, its open bons now [(bon_id, outstanding)]) — waiting ones unless show_all."""
    store = Store(settings.database_url, settings.busy_timeout_ms)
    try:
        store.migrate()
        book = BonBook(store)
        bons = book.bons()
        rows = book.requests(status=None if show_all else WAITING)
    finally:
        store.dispose()
    names = {b.agent_id: b.agent_name for b in bons if b.agent_name}
    owed: dict[str, list] = {}
    for b in bons:
        if b.outstanding > 0:
            owed.setdefault(b.agent_id, []).append((b.bon_id, b.outstanding))
    return [(r, names.get(r.agent_id), owed.get(r.agent_id, [])) for r in rows]


def list_command(settings: Settings, *, show_all: bool = False) -> int:
    rows = requests(settings, show_all=show_all)
    table = Table(title="Bon / TOP" + ("" if show_all else " menunggu atasan"), header_style="bold")
    for column in ("ID", "Agen", "Nama", "Nominal", "Diminta", "Kode", "Alasan", "Bon belum lunas", "Status",
                   "Diberitahu"):
        table.add_column(column)
    for r, name, owed in rows:
        table.add_row(*map(escape, (r.request_id, r.agent_id, name or "-", rupiah(r.amount),
                                    f"{r.requested_at.astimezone(JAKARTA):%d/%m/%Y %H:%M} WIB", r.code, r.reason,
                                    ", ".join(f"{b} {rupiah(o)}" for b, o in owed) or "-",
                                    STATUS_WORDS.get(r.status, r.status), "ya" if r.notified_at else "belum")))
    Console().print(table if rows else "no bon requests" + ("" if show_all else " waiting for the supervisor"))
    return 0


def decide_command(settings: Settings, request_id: str, *, grant: bool, note: str, by: str | None = None) -> int:
    done = decide_request(settings, request_id, grant=grant, note=note, person=by)
    print(done.message)
    return done.code


def decide_request(settings: Settings, request_id: str, *, grant: bool, note: str,
                   person: str | None = None) -> BonResult:
    """The supervisor's decision on one request (the CLI's and the console's): grant (the same
    journal key as the bot's) or refuse ("Tolak" on the server). BusinessError for bad input."""
    person = person or getpass.getuser()
    request_id = request_id.strip()
    if not note.strip():
        raise BusinessError("--note is required: say why (it goes into the store and the workbook)")
    with run_scope(BOT, settings, record_as="bon", prefix="bon-", actor=f"person:{person}") as scope:
        book = BonBook(scope.store)
        with scope.browser() as browser:
            portal = RunContext(BOT, scope.run_id, settings, scope.store, scope.clock, browser,
                                scope=scope).portal(OtomaxBon, "otomax")
            stored = book.request(request_id)
            found = portal.bon_request(request_id)
            if found is None:
                raise BusinessError(f"no bon request {request_id!r} on the transaction server "
                                    "(python -m bots bon list shows the waiting ones)")
            if stored is None:  # on the server, not decided by the bot yet: the person's is the first decision
                book.record(request_id, found.agent_id, found.amount, found.requested_at, "BON_SUPERVISOR",
                            "Diputuskan atasan sebelum bot", WAITING, scope.clock.now())
                stored = book.request(request_id)
            if stored.status != WAITING:
                same = (stored.status == GRANTED) == grant
                if same:
                    return BonResult(0, f"{request_id} was already {stored.status.lower()}: nothing done again")
                raise BusinessError(f"{request_id} is already {stored.status.lower()} "
                                    f"(by {stored.decided_by}); nothing changed")
            if grant:
                return _grant(scope, book, portal, stored, note, person)
            return _refuse(scope, book, portal, stored, note, person)


def _grant(scope, book: BonBook, portal, stored: StoredRequest, note: str, person: str) -> BonResult:
    earlier = scope.store.get_action(f"bon:{stored.request_id}")
    if earlier is not None and earlier.state == "refused":  # the server said no before: the person asks again
        scope.store.retry_refused(earlier.key, person, scope.clock.now())
    settled = grant_once(scope.journal, portal, stored.request_id, stored.agent_id, stored.amount)
    if settled.done:
        book.settle(stored.request_id, GRANTED, f"person:{person}", scope.clock.now(), note)
        scope.counts = {"BON_GRANTED": 1}
        if settled.found:
            return BonResult(0, f"{stored.request_id} had already been granted on the server; recorded, "
                                "nothing credited again")
        return BonResult(0, f"{stored.request_id} granted: {rupiah(stored.amount)} credited to {stored.agent_id}")
    code = unsettled(scope, settled)
    if settled.state == "refused":
        if settled.words.startswith("already_refused"):
            book.settle(stored.request_id, REFUSED, "portal", scope.clock.now(), note)
        return BonResult(code, f"{stored.request_id} not granted: the transaction server refused: {settled.words}")
    if settled.state == "in_doubt":
        return BonResult(code, f"{stored.request_id} is in doubt: {settled.words}. Look at the agent's "
                         f"balance, then: python -m bots doubts decide {settled.action.key} --done|--not-done")
    return BonResult(code, f"{stored.request_id} is being granted by {settled.words}; try again when it has finished")


def _refuse(scope, book: BonBook, portal, stored: StoredRequest, note: str, person: str) -> BonResult:
    granting = scope.store.get_action(f"bon:{stored.request_id}")
    if granting is not None and granting.state not in ("failed", "refused"):
        raise BusinessError(f"{stored.request_id} is being granted or was granted ({granting.state}); "
                            "it cannot be refused now (python -m bots doubts list)")
    request_id = stored.request_id

    def check(fresh: bool):
        found = portal.bon_request(request_id)
        if found is not None and found.status == "GRANTED":
            raise ActionRefused("otomax", f"already_granted: {request_id} sudah ditembak di server")
        return {"how": "refused at the portal"} if found is not None and found.status == "REFUSED" else None

    def act() -> dict:
        answer = portal.refuse_bon(request_id, note)
        if answer.outcome != "refused_by_person":
            raise ActionRefused("otomax", f"{answer.outcome}: {answer.message}")
        return {"how": "refused"}

    settled = scope.journal.once(Effect(f"bon-refuse:{request_id}", "bon_refuse", {"request_id": request_id,
                                        "note": note}, check, act))
    if settled.done:
        book.settle(request_id, REFUSED, f"person:{person}", scope.clock.now(), note)
        return BonResult(0, f"{request_id} refused: nothing credited")
    if settled.words.startswith("already_granted"):
        book.settle(request_id, GRANTED, "portal", scope.clock.now(), stored.note)
    scope.outcome, scope.exit_code, scope.message = "bad_input", 2, settled.words
    return BonResult(2, f"{request_id} not refused: {settled.words}")


def repaid_command(settings: Settings, bon_id: str, *, amount: int, note: str, by: str | None = None) -> int:
    done = record_repaid(settings, bon_id, amount=amount, note=note, person=by)
    print(done.message)
    return done.code


def record_repaid(settings: Settings, bon_id: str, *, amount: int, note: str, person: str | None = None) -> BonResult:
    """Finance marks a repayment of one bon on the server ("Catat Pelunasan"), exactly once."""
    person = person or getpass.getuser()
    bon_id = bon_id.strip()
    if not note.strip():
        raise BusinessError("--note is required: say how it was repaid (it goes into the server's note)")
    if amount <= 0:
        raise BusinessError(f"--amount must be more than Rp 0, got {amount}")
    marker = repayment_marker(bon_id, amount, note)
    with run_scope(BOT, settings, record_as="bon", prefix="bon-repaid-", actor=f"person:{person}") as scope:
        with scope.browser() as browser:
            portal = RunContext(BOT, scope.run_id, settings, scope.store, scope.clock, browser,
                                scope=scope).portal(OtomaxBon, "otomax")
            bon = next((b for b in portal.bons() if b.bon_id == bon_id), None)
            if bon is None:
                raise BusinessError(f"no bon {bon_id!r} on the transaction server (python -m bots bon list --all)")

            def check(fresh: bool):
                seen = portal.bon_payments(bon_id=bon_id, note_contains=marker)
                return {"how": "found in the repayment list", "amount": seen[0].amount} if seen else None

            def act() -> dict:
                logger.info("recording a repayment of {} for {} ({})", rupiah(amount), bon_id, marker)
                return {"how": "recorded", "amount": amount,
                        "portal": portal.record_repayment(bon_id, amount, f"{marker} {note.strip()}")}

            settled = scope.journal.once(Effect(f"bon_repaid:{marker}", "bon_repayment",
                                                {"bon_id": bon_id, "amount": amount, "note": note}, check, act,
                                                lambda answer: check(True), marker=marker))
    if settled.done:
        if settled.found or settled.action.run_id != scope.run_id:  # found at the portal, or by an earlier command
            return BonResult(0, f"{bon_id}: this repayment ({marker}) was already recorded; nothing added again")
        return BonResult(0, f"{bon_id}: repayment of {rupiah(amount)} recorded ({marker})")
    if settled.state == "refused":
        return BonResult(2, f"{bon_id}: the transaction server refused the repayment: {settled.words}")
    if settled.state == "in_doubt":
        return BonResult(EXIT_PORTAL_DOWN, f"{bon_id}: the repayment is in doubt: {settled.words}")
    return BonResult(4, f"{bon_id}: being recorded by {settled.words}; try again when it has finished")
