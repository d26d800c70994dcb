"""Finance closes the loop on escalations: list them, credit by hand, or reject.

    python -m bots escalations list [--all]
    python -m bots escalations resolve ESK-7 --agent AGENT --note TEXT [--amount N]
    python -m bots escalations resolve ESK-7 --reject --note TEXT

A resolve credits the line through the transaction server's manual balance add, which is not
idempotent. So it goes through the same journal as every side effect (`manual:<line>`), under
the run lock of reconcile_payments, and its note **starts** with a marker derived from the
statement line (`BOT:M-<line>`, 18 characters): the balance log is searched for it before the
add (a crash, a second terminal, a lost store or a note cut short never adds twice) and after
it (the add is verified). The agent is checked on the server before anything is recorded.
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from decimal import Decimal

from loguru import logger
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bots.errors import BusinessError, EXIT_PORTAL_DOWN
from bots.journal import Effect, Journal, Settled
from bots.portals.otomax import OtomaxAdmin
from bots.reconcile.act import line_marker
from bots.reconcile.ledger import Escalation, Ledger
from bots.reconcile.matching import rupiah
from bots.runner import RunContext, run_scope
from bots.settings import Settings
from bots.store import Store

BOT = "reconcile_payments"  # resolving takes that bot's lock: never beside a running reconcile
_ID = re.compile(r"(?i)^\s*(?:ESK-?)?(\d{1,9})\s*$")


def escalation_id(text: str | int) -> int:
    """`7` or `ESK-7` (any case) → 7; BusinessError naming the text otherwise."""
    found = _ID.match(str(text))
    if found is None:
        raise BusinessError(f"{text!r} is not an escalation number (write 7 or ESK-7)")
    return int(found.group(1))


def manual_key(fingerprint: str) -> str:
    return f"manual:{fingerprint}"


def list_escalations(settings: Settings, *, show_all: bool = False) -> int:
    store = Store(settings.database_url, settings.busy_timeout_ms)
    store.migrate()
    rows = Ledger(store).escalations(status=None if show_all else "OPEN")
    table = Table(title="Eskalasi" + ("" if show_all else " terbuka"), header_style="bold")
    for column in ("ID", "Tanggal", "Bank", "Rekening", "Nominal", "Kode", "Alasan", "Kandidat", "Status"):
        table.add_column(column)
    for e in rows:
        # text from the bank and the server is shown as it is, never read as rich markup
        table.add_row(*map(escape, (f"ESK-{e.id}", f"{e.day:%d/%m/%Y}", e.bank.upper(), e.account_no,
                                    rupiah(e.amount), e.code, e.reason, ", ".join(e.candidates), e.status)))
    console = Console()
    console.print(table if rows else "no escalations" + ("" if show_all else " open"))
    gaps = Ledger(store).gaps()
    if gaps:  # a day that does not tie out is open until a later read closes it: always shown
        console.print(_gap_table(gaps))
    store.dispose()
    return 0


def _gap_table(gaps) -> Table:
    """STATEMENT_GAP: account days whose opening + credits − debits is not the bank's closing balance."""
    table = Table(title="STATEMENT_GAP: saldo tidak cocok (ada mutasi yang belum terbaca)", header_style="bold")
    for column in ("Tanggal", "Bank", "Rekening", "Saldo awal", "Saldo akhir bank", "Selisih", "Diberitahu"):
        table.add_column(column)
    for g in gaps:
        gap = int(Decimal(g.gap))
        table.add_row(f"{g.day:%d/%m/%Y}", g.bank.upper(), escape(g.account_no),
                      rupiah(Decimal(g.opening_balance)) if g.opening_balance is not None else "-",
                      rupiah(Decimal(g.closing_balance)) if g.closing_balance is not None else "-",
                      rupiah(gap) if gap >= 0 else "-" + rupiah(-gap),
                      "ya" if g.gap_notified_at else "belum")
    return table


@dataclass(frozen=True)
class Resolution:
    """How a resolve ended: the exit code and the words for the person (terminal or console)."""

    code: int
    message: str


def resolve(settings: Settings, escalation: str | int, *, agent: str | None, note: str, reject: bool,
            amount: int | None = None) -> int:
    """Credit an escalated line to an agent, or reject it; prints what happened, returns the exit code."""
    done = resolve_escalation(settings, escalation, agent=agent, note=note, reject=reject, amount=amount)
    print(done.message)
    return done.code


def resolve_escalation(settings: Settings, escalation: str | int, *, agent: str | None, note: str, reject: bool,
                       amount: int | None = None, person: str | None = None) -> Resolution:
    """The one path of every resolve, the CLI's and the console's: credit an escalated line to an
    agent, or reject it. ``person`` (the console's login; the OS user at the terminal) is named
    in the journal's events as ``person:<name>``. BusinessError for bad input, nothing done."""
    person = person or getpass.getuser()
    if not note.strip():
        raise BusinessError("--note is required: say why (it goes into the balance log and the workbook)")
    if reject == bool(agent):
        raise BusinessError("give either --agent AGENT (credit the amount to that agent) or --reject")
    if reject and amount is not None:
        raise BusinessError("--amount goes with --agent, not with --reject")
    number = escalation_id(escalation)
    with run_scope(BOT, settings, record_as="escalations", prefix=f"resolve-{number}-",
                   actor=f"person:{person}") as scope:
        ledger = Ledger(scope.store)
        found = ledger.escalations(escalation_id=number)
        if not found:
            raise BusinessError(f"no escalation ESK-{number}")
        esk = found[0]
        credit = _amount(esk, amount)
        if esk.status != "OPEN":
            return _already_closed(esk, agent, credit, reject)
        if esk.code == "PENDING_REVERSED" and not reject:  # the bank took the money back: never credit it
            raise BusinessError(f"ESK-{esk.id} is PENDING_REVERSED: the bank never booked this money, so it "
                                "cannot be credited; take back any credit named in it, then close it with --reject")
        with scope.browser() as browser:
            otomax = RunContext(BOT, scope.run_id, settings, scope.store, scope.clock, browser,
                                scope=scope).portal(OtomaxAdmin, "otomax")
            added = _added(otomax, esk)
            if reject:
                return _reject(scope, ledger, esk, added, note)
            if added is None and otomax.agent(agent) is None:
                raise BusinessError(f"agent {agent!r} is not known to the transaction server: nothing credited, "
                                    f"ESK-{number} unchanged (check the agent ID and run the command again)")
            settled = credit_once(scope.journal, otomax, esk.fingerprint, agent, credit, note, person)
        scope.counts = {"credited": credit if settled.done else 0}
        return _closed_by(scope, ledger, esk, settled, agent, credit, note)


def _amount(esk: Escalation, amount: int | None) -> int:
    line = esk.amount
    if amount is None:
        if line != line.to_integral():
            raise BusinessError(f"ESK-{esk.id}: {line} has cents; give --amount in whole rupiah")
        return int(line)
    if amount <= 0:
        raise BusinessError(f"--amount must be more than Rp 0, got {amount}")
    if amount > line:
        raise BusinessError(f"--amount {rupiah(amount)} is more than the bank received on ESK-{esk.id} "
                            f"({rupiah(line)}): never credit money that did not arrive")
    return amount


def _added(otomax, esk: Escalation):
    """The manual add already made for this line (found by its marker), or None."""
    entries = otomax.balance_log(note_contains=line_marker(esk.fingerprint))
    return entries[0] if entries else None


def _already_closed(esk: Escalation, agent: str | None, credit: int, reject: bool) -> Resolution:
    same = (esk.status == "RESOLVED" and not reject and esk.agent_id == agent) or (esk.status == "REJECTED" and reject)
    if same:  # a double click, a second terminal: what was asked is already so
        return Resolution(0, f"ESK-{esk.id} was already {esk.status.lower()}"
                          + (f" to {esk.agent_id}" if esk.agent_id else "") + ": nothing done again")
    raise BusinessError(f"ESK-{esk.id} is already {esk.status.lower()}"
                        + (f" (credited to {esk.agent_id})" if esk.agent_id else "") + "; nothing changed")


def _reject(scope, ledger: Ledger, esk: Escalation, added, note: str) -> Resolution:
    key = manual_key(esk.fingerprint)
    action = scope.store.get_action(key)
    if added is not None:
        if action is not None and action.state in ("intent", "in_flight", "failed", "in_doubt"):
            scope.store.mark_done(key, {"how": "found in the balance log", "agent_id": added.agent_id,
                                        "amount": added.amount}, scope.clock.now(), actor=f"run:{scope.run_id}")
        raise BusinessError(
            f"ESK-{esk.id} cannot be rejected: {rupiah(added.amount)} was already added to {added.agent_id} "
            f"at {added.created_at:%d/%m/%Y %H:%M} (balance log, {line_marker(esk.fingerprint)}). "
            f"Close it as credited: python -m bots escalations resolve ESK-{esk.id} --agent {added.agent_id} "
            "--note TEXT")
    if action is not None and action.state in ("intent", "in_flight", "failed"):
        # the balance log shows no add with the line's marker: the add never happened
        scope.store.mark_failed(key, f"rejected by finance: {note}", scope.clock.now(), actor=f"run:{scope.run_id}")
    ledger.close_escalation(esk.id, "REJECTED", scope.clock.now(), None, note)
    return Resolution(0, f"ESK-{esk.id} rejected: nothing credited")


def _closed_by(scope, ledger: Ledger, esk: Escalation, settled: Settled, agent: str, credit: int,
               note: str) -> Resolution:
    result = settled.action.result or {}
    if settled.done:
        credited_to = result.get("agent_id", agent)
        ledger.close_escalation(esk.id, "RESOLVED", scope.clock.now(), credited_to, note)
        if settled.found:
            return Resolution(0, f"ESK-{esk.id} resolved: {rupiah(result.get('amount', credit))} had already been "
                                 f"added to {credited_to} (found in the balance log); nothing added again")
        return Resolution(0, f"ESK-{esk.id} resolved: {rupiah(credit)} credited to {agent}"
                          + (f" (saldo now {rupiah(result['balance'])})" if result.get("balance") is not None else ""))
    code = unsettled(scope, settled)
    if settled.state == "refused":
        return Resolution(code, f"ESK-{esk.id} not resolved: the transaction server refused the add: {settled.words}")
    if settled.state == "in_doubt":
        return Resolution(code, f"ESK-{esk.id} is in doubt: {settled.words}. Look at the agent's balance "
                          f"log, then: python -m bots doubts decide {settled.action.key} --done|--not-done --note TEXT")
    return Resolution(code, f"ESK-{esk.id} is being credited by {settled.words}; try again when it has finished")


def unsettled(scope, settled: Settled) -> int:
    """A person's journaled act that did not finish: the run records why, and the command exits
    2 (the server refused: bad input), 3 (in doubt: a person looks first) or 4 (another run holds it)."""
    if settled.state == "refused":
        scope.outcome, scope.exit_code, scope.message = "bad_input", 2, settled.words
        return 2
    if settled.state == "in_doubt":
        scope.outcome, scope.exit_code, scope.message = "in_doubt", EXIT_PORTAL_DOWN, settled.words
        return EXIT_PORTAL_DOWN
    return 4


def credit_once(journal: Journal, otomax, fingerprint: str, agent: str, amount: int, note: str,
                person: str | None = None) -> Settled:
    """The manual balance add for one statement line, exactly once, through the journal."""
    marker = line_marker(fingerprint)
    key = manual_key(fingerprint)

    def check(fresh: bool):
        entries = otomax.balance_log(note_contains=marker)
        if not entries:
            return None
        e = entries[0]
        return {"how": "found in the balance log", "agent_id": e.agent_id, "amount": e.amount}

    def act() -> dict:
        logger.info("adding {} to {} by hand ({})", rupiah(amount), agent, marker)
        return {"how": "added", "agent_id": agent, "amount": amount,
                "balance": otomax.add_balance(agent, amount, f"{marker} {note}")}

    def verify(answer: dict):
        return {"verified": "in the balance log"} if otomax.balance_log(note_contains=marker) else None

    existing = journal.store.get_action(key)
    payload = {"agent_id": agent, "amount": amount, "note": note}
    if existing is not None and existing.state == "refused":
        # finance asks again (the server refused before: a daily limit, an agent blocked then)
        existing = journal.store.retry_refused(key, person or getpass.getuser(), journal.now())
    if existing is not None and existing.state in ("intent", "in_flight", "failed") and \
            (existing.payload.get("agent_id"), existing.payload.get("amount")) != (agent, amount) and \
            check(True) is None:
        # never added (the balance log shows no add with this line's marker): a person may
        # correct the agent or the amount; the journal keeps the change
        journal.store.retarget(key, payload, journal.now(), journal.owner,
                               f"was {existing.payload.get('agent_id')} {existing.payload.get('amount')}")
    return journal.once(Effect(key, "manual_credit", payload, check, act, verify, marker=marker,
                               point="manual", act_point="after_add"))
