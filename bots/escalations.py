"""Finance closes the loop on escalations: list them, credit by hand, or reject.

    python -m bots escalations list [--all]
    python -m bots escalations resolve ID --agent AGENT --note TEXT
    python -m bots escalations resolve ID --reject --note TEXT

A resolve credits the line's amount through the transaction server's manual balance add,
which is not idempotent. So it is journaled like every side effect (`manual:escalation:ID`)
and its note carries `BOT:<key>`: the balance log is searched for that marker before the
add (a crash after the add never adds twice) and after it (the add is verified).
"""

from __future__ import annotations

import uuid

from rich.console import Console
from rich.table import Table

from bots.clock import clock_for
from bots.crashpoints import NEVER, CrashPoints
from bots.errors import BusinessError
from bots.lock import RunLock
from bots.portals.otomax import OtomaxAdmin
from bots.portals.session import PortalBrowser
from bots.reconcile.ledger import Ledger
from bots.reconcile.matching import rupiah
from bots.settings import Settings
from bots.store import Store

BOT = "reconcile_payments"  # resolving takes that bot's lock: never beside a running reconcile


def list_escalations(settings: Settings, *, show_all: bool = False) -> int:
    store = Store(settings.database_url)
    store.migrate()
    rows = Ledger(store).escalations(status=None if show_all else "OPEN")
    table = Table(title="Eskalasi" + ("" if show_all else " terbuka"), header_style="bold")
    for column in ("ID", "Tanggal", "Bank", "Rekening", "Nominal", "Kode", "Alasan", "Kandidat", "Status"):
        table.add_column(column)
    for e in rows:
        table.add_row(str(e.id), f"{e.day:%d/%m/%Y}", e.bank.upper(), e.account_no, rupiah(e.amount), e.code,
                      e.reason, ", ".join(e.candidates), e.status)
    Console().print(table if rows else "no escalations" + ("" if show_all else " open"))
    store.dispose()
    return 0


def resolve(settings: Settings, escalation_id: int, *, agent: str | None, note: str, reject: bool) -> int:
    if not note.strip():
        raise BusinessError("--note is required: say why (it goes into the balance log and the workbook)")
    if reject == bool(agent):
        raise BusinessError("give either --agent AGENT (credit the amount to that agent) or --reject")
    clock = clock_for(settings)
    with RunLock(BOT, settings.lock_dir, now=clock.now()):
        store = Store(settings.database_url)
        store.migrate()
        ledger = Ledger(store)
        found = ledger.escalations(escalation_id=escalation_id)
        if not found:
            raise BusinessError(f"no escalation ESK-{escalation_id}")
        escalation = found[0]
        if escalation.status != "OPEN":
            raise BusinessError(f"ESK-{escalation_id} is already {escalation.status.lower()}")
        if reject:
            ledger.close_escalation(escalation_id, "REJECTED", clock.now(), None, note)
            print(f"ESK-{escalation_id} rejected: nothing credited")
            return 0
        if escalation.amount != escalation.amount.to_integral():
            raise BusinessError(f"ESK-{escalation_id}: {escalation.amount} has cents; credit it by hand")
        run_id = f"resolve-{escalation_id}-{clock.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
        store.start_run("escalations", run_id, clock.now())
        try:
            with PortalBrowser(settings, run_id) as browser:
                otomax = OtomaxAdmin(browser, settings.portal("otomax"), attempts=settings.retry_attempts,
                                     backoff_seconds=settings.retry_backoff_seconds)
                balance = credit_once(store, otomax, escalation_id, agent, int(escalation.amount), note, run_id,
                                      clock.now, CrashPoints(settings.crash_at))
            ledger.close_escalation(escalation_id, "RESOLVED", clock.now(), agent, note)
            store.finish_run(run_id, clock.now(), "ok", 0, {"credited": int(escalation.amount)})
        except BaseException as exc:
            store.finish_run(run_id, clock.now(), "error", getattr(exc, "exit_code", 1), {}, str(exc))
            raise
    print(f"ESK-{escalation_id} resolved: {rupiah(escalation.amount)} credited to {agent}"
          + (f" (saldo now {rupiah(balance)})" if balance is not None else ""))
    return 0


def credit_once(store: Store, otomax, escalation_id: int, agent: str, amount: int, note: str, run_id: str,
                now, crash: CrashPoints = NEVER) -> int | None:
    """The manual balance add, exactly once: intent → check the log → add → verify → done."""
    key = f"manual:escalation:{escalation_id}"
    marker = f"BOT:{key}"
    action, _ = store.record_intent(key, BOT, "manual_credit", {"agent_id": agent, "amount": amount}, run_id, now())
    if action.state == "done":
        return None
    if action.payload["agent_id"] != agent or action.payload["amount"] != amount:
        raise BusinessError(f"ESK-{escalation_id} was being credited to {action.payload['agent_id']}; "
                            "finish that first (run the same command again)")
    if otomax.balance_log(agent_id=agent, note_contains=marker):  # already added before a crash
        store.mark_done(key, {"how": "found in the balance log"}, now())
        return None
    store.mark_in_flight(key, now())
    crash("manual:after_in_flight")
    balance = otomax.add_balance(agent, amount, f"{note} [{marker}]")
    crash("manual:after_add")
    if not otomax.balance_log(agent_id=agent, note_contains=marker):
        raise BusinessError(f"the balance add for ESK-{escalation_id} is not in the balance log; check by hand")
    store.mark_done(key, {"how": "added", "balance": balance}, now())
    return balance
