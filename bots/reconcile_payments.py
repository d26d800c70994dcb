"""Bot 1: bank statements (mutasi) ↔ deposit tickets — credit exact matches, escalate the rest.

Finance's procedure ("Tiket Deposit"), step by step:

1. finish anything a previous run left half done (an approval whose answer was lost);
2. read each company account's statement (mutasi) since the last one read — or the files a
   staff member downloaded by hand (`--statement`);
3. read the deposit tickets on the transaction server — after the statements, so a ticket
   opened while the statements were read is never missing beside its own transfer;
4. decide every new line: a credit of exactly a ticket's amount on the ticket's account,
   after the ticket was opened and before it expired, pays that ticket; anything else goes
   to finance with a code saying why (DESIGN §6 codes); debits are recorded, not acted on;
5. approve the paid tickets (crediting the agents' saldo) and notify finance of the rest,
   each exactly once;
6. write the day's reconciliation workbook.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from loguru import logger

from bots.errors import ConfigError, InputFileError
from bots.notify import notifier_for
from bots.parsers import parse_statement
from bots.portals.bank import BankPortal
from bots.portals.helpdesk import inbox_reader
from bots.portals.otomax import OtomaxAdmin
from bots.reconcile.act import Executor
from bots.reconcile.ledger import Added, Ledger
from bots.reconcile.matching import DEBIT_IGNORED, CreditLine, decide
from bots.reconcile.report import write_report
from bots.runner import RunContext, RunResult

NAME = "reconcile_payments"
DEFAULTS = {"lookback_days": 2, "overlap_days": 1, "ticket_lookback_days": 3}


def required_portals(settings) -> list[str]:
    return ["otomax"] + bank_portals(settings)


def bank_portals(settings) -> list[str]:
    return [key for key in settings.configured_portals() if key.startswith("bank_")]


def options(settings) -> dict[str, int]:
    """This bot's section of config/*.toml (`[reconcile_payments]`), checked."""
    given = {**DEFAULTS, **settings.sections.get(NAME, {})}
    for key, value in given.items():
        if key not in DEFAULTS or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{NAME}.{key}", "a whole number of days ≥ 0" if key in DEFAULTS else
                              f"one of {', '.join(DEFAULTS)}", value)
    return given


def run(ctx: RunContext) -> RunResult:
    settings, now = ctx.settings, ctx.clock.now()
    today = now.date()
    config = options(settings)
    ledger = Ledger(ctx.store)
    otomax = ctx.portal(OtomaxAdmin, "otomax")
    executor = Executor(ctx.store, ledger, otomax, notifier_for(settings), ctx.run_id, ctx.clock.now,
                        inbox=inbox_reader(ctx), journal=ctx.journal)
    recovered = [] if ctx.dry_run else executor.recover()

    statements, problems = collect_statements(ctx, ledger, today, config)
    tickets = otomax.tickets(since=today - timedelta(days=config["ticket_lookback_days"]))
    logger.info("{} deposit tickets read ({} open)", len(tickets), sum(t.status == "OPEN" for t in tickets))

    if ctx.dry_run:
        return dry_run_plan(ledger, statements, tickets, problems)

    ledger.save_tickets(tickets, now)
    added = Added()
    for statement, account_covered in statements:
        added += ledger.add(statement, statement.source, ctx.run_id, now)
        if account_covered:
            ledger.cover(statement.bank, statement.account_no, today, now)
    plan = decide(ledger.undecided(), tickets, ledger.claimed_tickets())
    outcomes = list(recovered)
    with ctx.track("reconciling", len(plan)) as progress:
        for outcome in plan:
            final = executor.carry_out(outcome)
            if final is not None:  # None: another live run is handling that ticket
                outcomes.append(final)
            progress.advance()
    path, note = write_report(ledger, settings.reports_dir, today, ctx.clock.now())
    if note:
        logger.warning(note)
    return summarise(outcomes, added, problems, path, note)


def collect_statements(ctx: RunContext, ledger: Ledger, today: date, config) -> tuple[list, list[str]]:
    """Statements to read: the staff's files, or every account's download since last time."""
    statements, problems = [], []
    if ctx.statements:
        for path in ctx.statements:
            try:
                statements.append((parse_statement(Path(path).read_bytes(), str(path), today=today), False))
            except InputFileError as exc:
                problems.append(str(exc))
                logger.error("statement not read, nothing from it acted on: {}", exc)
        return statements, problems
    for key in bank_portals(ctx.settings):
        bank = ctx.portal(BankPortal, key)
        for account in bank.accounts():
            covered = ledger.covered_until(key[5:], account.account_no)
            start = (covered - timedelta(days=config["overlap_days"]) if covered
                     else today - timedelta(days=config["lookback_days"]))
            for download in bank.download_statements(account.account_no, start, today):
                logger.info("{} {}: statement {} to {} downloaded ({})", key, account.account_no, start, today,
                            download.file_name)
                try:
                    statements.append((parse_statement(download.data, download.file_name, today=today,
                                                       account_no=account.account_no), True))
                except InputFileError as exc:
                    problems.append(f"{key} {account.account_no}: {exc}")
                    logger.error("the bank's export could not be read, nothing from it acted on: {}", exc)
    return statements, problems


def dry_run_plan(ledger: Ledger, statements, tickets, problems) -> RunResult:
    """The plan for every line not decided yet; nothing is written anywhere."""
    pending = {line.fingerprint: line for line in ledger.undecided()}
    for statement, _ in statements:
        for line, fp in ledger.unknown(statement):
            pending.setdefault(fp, CreditLine(fp, line.bank, line.account_no, line.amount, line.direction,
                                              line.posted_on, None, None))
    plan = decide(pending.values(), tickets, ledger.claimed_tickets())
    lines = {fp: line for fp, line in pending.items()}
    return RunResult(
        counts=_count(plan), problems=problems,
        summary=[("Lines to decide", str(len(plan)))] + [(code, str(n)) for code, n in _count(plan).items()],
        detail_header=["Bank", "Rekening", "Tanggal", "Nominal", "D/K", "Kode", "Alasan"],
        details=[[lines[o.fingerprint].bank.upper(), lines[o.fingerprint].account_no,
                  str(lines[o.fingerprint].when()), f"{lines[o.fingerprint].amount:,.0f}",
                  lines[o.fingerprint].direction, o.code, o.reason] for o in plan])


def _count(outcomes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.code] = counts.get(outcome.code, 0) + 1
    return dict(sorted(counts.items()))


def summarise(outcomes, added: Added, problems: list[str], path: Path, note: str | None) -> RunResult:
    counts = _count(outcomes)
    credits = [o for o in outcomes if o.code != DEBIT_IGNORED]
    return RunResult(
        counts={"new_lines": added.new, "known_lines": added.known, "posted_pending": added.posted, **counts},
        summary=[("New statement lines", str(added.new)), ("Already known (overlap)", str(added.known)),
                 ("Pending lines now posted", str(added.posted)), ("Credit lines decided", str(len(credits)))]
                + [(code, str(n)) for code, n in counts.items()] + ([("Note", note)] if note else []),
        reports=[path], problems=problems)


if __name__ == "__main__":
    from bots.cli import main

    raise SystemExit(main(["run", NAME]))
