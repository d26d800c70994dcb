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
6. Bon / TOP ("Permintaan Saldo Bon"): grant each request of an agent who owes no bon, within
   the agent's limit, exactly once; every other request waits for the supervisor, told once;
7. deposits via retail / VA: read the payment gateway (when configured) and credit each paid
   payment whose reference names one open deposit request of that amount, exactly once; the
   rest to finance;
8. write the day's reconciliation workbook.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from loguru import logger

from bots.errors import BusinessError, ConfigError, InputFileError, PortalUnavailable
from bots.notify import notifier_for
from bots.parsers import Statement, parse_statement, with_occurrences
from bots.portals.bank import BankPortal
from bots.portals.helpdesk import inbox_reader
from bots.portals.gateway import GatewayPortal
from bots.portals.otomax import OtomaxAdmin
from bots.portals.otomax_bon import OtomaxBon
from bots.reconcile.act import Executor
from bots.reconcile.bon_act import BonDesk, settle_bon_requests
from bots.reconcile.bon_book import BonBook
from bots.reconcile.gateway_act import GatewayBook, GatewayCredits, GatewayRun, gateway_plan
from bots.reconcile.ledger import Added, Ledger
from bots.reconcile.matching import DEBIT_IGNORED, CreditLine, decide, rupiah, waits
from bots.reconcile.report import write_reports
from bots.reconcile.tieout import day_balances, tie
from bots.runner import RunContext, RunResult

NAME = "reconcile_payments"
#: this bot's settings (`[reconcile_payments]` in config/*.toml), each with its default and so its type
DEFAULTS: dict[str, object] = {
    "lookback_days": 2, "overlap_days": 3, "ticket_lookback_days": 3, "pending_credits": True,
    "clock_tolerance_minutes": 10, "statement_max_age_days": 35, "gap_lookback_days": 10,
    "accounts": [], "statement_account": "", "accept_old_statements": False, "gateway_lookback_days": 7,
    # Bon / TOP: the most a bon is granted automatically (rupiah; 0: never automatically), per agent
    "bon_limit": 1_000_000, "bon_limits": [],
}
_KLIKBCA_BISNIS_NAME = re.compile(r"AccountStatement_(\d{6,20})_", re.I)


class ClockDisagrees(BusinessError):
    """The run's clock and a portal's shown time are too far apart: nothing is acted on."""


def required_portals(settings) -> list[str]:
    return ["otomax"] + bank_portals(settings) + gateway_portal(settings)


def gateway_portal(settings) -> list[str]:
    """The payment gateway, read only where it is configured (GATEWAY_USERNAME set)."""
    return ["gateway"] if "gateway" in settings.configured_portals() else []


def bank_portals(settings) -> list[str]:
    return [key for key in settings.configured_portals() if key.startswith("bank_")]


def options(settings) -> dict:
    """This bot's section of config/*.toml (`[reconcile_payments]`), checked."""
    given = {**DEFAULTS, **settings.sections.get(NAME, {})}
    for key, value in given.items():
        if key not in DEFAULTS:
            raise ConfigError(f"{NAME}.{key}", f"one of {', '.join(DEFAULTS)}", value)
        default = DEFAULTS[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        elif isinstance(default, list):
            ok = isinstance(value, list) and all(isinstance(v, str) and ":" in v for v in value)
        else:
            ok = isinstance(value, str)
        if not ok:
            unit = "minutes" if key.endswith("_minutes") else "rupiah" if key == "bon_limit" else "days"
            expected = {bool: "true or false", int: f"a whole number of {unit} ≥ 0",
                        list: 'a list like ["bca:5270418836"]', str: "text"}[type(default)]
            raise ConfigError(f"{NAME}.{key}", expected, value)
    if any(not re.fullmatch(r"\s*[^:\s]+\s*:\s*\d+\s*", entry) for entry in given["bon_limits"]):
        raise ConfigError(f"{NAME}.bon_limits", 'a list like ["AG0001:2000000"] (agent:rupiah)', given["bon_limits"])
    return given


@dataclass
class Read:
    """One statement read this run: the file's hash, how far it covers, whether it shows today."""

    statement: Statement
    sha256: str
    data: bytes
    covered: date | None = None     # the account's coverage after it (downloads only)
    current: bool = False           # its period ends today: a PEND line missing from it is gone


@dataclass
class Reading:
    reads: list[Read] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)     # banks down: reconciled next run
    accounts: dict[str, set[str]] = field(default_factory=dict)  # bank -> the company's accounts
    moved: dict[tuple[str, str], set[date]] = field(default_factory=dict)  # days whose opening moved


def run(ctx: RunContext) -> RunResult:
    settings, now = ctx.settings, ctx.clock.now()
    today = now.date()
    config = options(settings)
    ledger = Ledger(ctx.store)
    otomax = ctx.portal(OtomaxAdmin, "otomax")
    executor = Executor(ctx.store, ledger, otomax, notifier_for(settings), ctx.run_id, ctx.clock.now,
                        inbox=inbox_reader(ctx), journal=ctx.journal, console_url=settings.console_url)
    reading, banks = Reading(), open_banks(ctx, now, config)  # the banks' clocks checked before anything acts
    reading.skipped = [f"{key}: {why}" for key, why in banks.items() if isinstance(why, str)]
    recovered = [] if ctx.dry_run else executor.recover()

    collect_statements(ctx, ledger, today, config, banks, reading)
    tickets = otomax.tickets(since=today - timedelta(days=config["ticket_lookback_days"]))
    logger.info("{} deposit tickets read ({} open)", len(tickets), sum(t.status == "OPEN" for t in tickets))

    if ctx.dry_run:
        planned = dry_run_plan(ledger, [(r.statement, r.covered) for r in reading.reads], tickets, reading.problems,
                               config, now)
        return with_gateway_plan(ctx, otomax, planned, today, config)

    ledger.save_tickets(tickets, now)
    added = Added()
    archive = settings.reports_dir / "rekonsiliasi" / "mutasi-bank"
    for read in reading.reads:
        statement = read.statement
        archived = archive_file(archive, read)
        ledger.archive(read.sha256, statement.source, archived, statement, now)
        added += ledger.add(statement, statement.source, ctx.run_id, now, read.sha256)
        moved = ledger.save_days(statement.bank, statement.account_no, day_balances(statement.lines),
                                 statement.format, read.sha256, now)
        if moved:
            logger.warning("{} {}: the opening balance of {} moved since last read (a back-dated posting?)",
                           statement.bank, statement.account_no, ", ".join(map(str, moved)))
            reading.moved.setdefault((statement.bank, statement.account_no), set()).update(moved)
        if read.current:
            reversed_lines = find_reversed(ledger, read, ctx.run_id)
            for row in reversed_lines:
                executor.reversed(row)
            added += Added(days=frozenset(row.day for row in reversed_lines))
        if read.covered:
            ledger.cover(statement.bank, statement.account_no, read.covered, now)
    gaps = tie_out(ctx, ledger, executor, banks, reading, today, config)
    undecided = [line for line in ledger.undecided() if not waits(line, config["pending_credits"])]
    plan = decide(undecided, tickets, ledger.claimed_tickets())
    outcomes = list(recovered)
    with ctx.track("reconciling", len(plan)) as progress:
        for outcome in plan:
            final = executor.carry_out(outcome)
            if final is not None:  # None: another live run is handling that ticket
                outcomes.append(final)
            progress.advance()
    open_tickets = otomax.tickets(since=today - timedelta(days=config["ticket_lookback_days"])) if plan else tickets
    ledger.save_tickets(open_tickets, ctx.clock.now())  # the server after our approvals: Tiket Terbuka
    bons = settle_bons(ctx, executor, config, reading)  # Bon / TOP: the eligible granted, the rest to the supervisor
    gateway = credit_gateway_payments(ctx, otomax, executor, today, config, reading)
    decided_days = {ledger.line_day(o.fingerprint) for o in outcomes} - {None}
    paths, notes = write_reports(ledger, settings.reports_dir, today, ctx.clock.now(),
                                 added.days | decided_days | gateway.days, notified=executor.notifies)
    for note in notes:
        logger.warning(note)
    result = summarise(outcomes, added, reading.problems, paths, notes, gaps)
    result.counts.update(bons)
    result.counts.update(_count(gateway.decisions))
    result.summary += [(code, str(n)) for code, n in _count(gateway.decisions).items()]
    result.summary += [(code, str(n)) for code, n in sorted(bons.items())]
    if reading.skipped:
        result.summary.append(("Skipped (portal down)", "; ".join(reading.skipped)))
        ctx.scope.counts = result.counts if ctx.scope else {}
        said = "; ".join(reading.skipped)
        if any(skipped.startswith("bank_") for skipped in reading.skipped):
            raise PortalUnavailable("bank", "not reconciled this run (the other banks were): " + said)
        if all(skipped.startswith("gateway:") for skipped in reading.skipped):
            raise PortalUnavailable("gateway", "VA/retail deposits not credited this run (the banks were "
                                    "reconciled): " + said)
        raise PortalUnavailable("otomax", "not done this run (the banks were reconciled): " + said)
    return result


def credit_gateway_payments(ctx: RunContext, otomax: OtomaxAdmin, executor: Executor, today: date, config,
                            reading: Reading) -> GatewayRun:
    """Deposits through VA / retail ("Deposit Via Retail/VA"): the gateway's paid payments whose
    reference names one open request of that amount are credited once; the rest go to finance.
    A gateway that stays down is named (exit 3) after the banks' part is done and reported."""
    if not gateway_portal(ctx.settings):
        return GatewayRun()
    credits = GatewayCredits(GatewayBook(ctx.store), executor.journal, otomax, executor, ctx.run_id, ctx.clock.now)
    try:
        return credits.run(ctx.portal(GatewayPortal, "gateway"), today - timedelta(days=config["gateway_lookback_days"]))
    except PortalUnavailable as exc:
        logger.error("the payment gateway is down: VA/retail deposits not credited this run ({})", exc)
        reading.skipped.append(f"gateway: {exc}")
        return GatewayRun()


def with_gateway_plan(ctx: RunContext, otomax: OtomaxAdmin, planned: RunResult, today: date, config) -> RunResult:
    """A dry run's plan with the gateway's payments in it (when configured); nothing is written."""
    if not gateway_portal(ctx.settings):
        return planned
    since = today - timedelta(days=config["gateway_lookback_days"])
    for payment, decision in gateway_plan(ctx.portal(GatewayPortal, "gateway"), otomax, GatewayBook(ctx.store), since):
        planned.counts[decision.code] = planned.counts.get(decision.code, 0) + 1
        planned.details.append(["GATEWAY", payment.channel, str(payment.paid_at or "-"), f"{payment.amount:,.0f}",
                                "CR", decision.code, decision.reason])
    planned.summary += [(code, str(n)) for code, n in sorted(planned.counts.items()) if code.startswith("GATEWAY_")]
    return planned


def settle_bons(ctx: RunContext, executor: Executor, config, reading: Reading):
    """Bon / TOP requests (bots/reconcile/bon_act.py): granted once when the agent owes nothing
    and asks within the limit; the rest waits for the supervisor, told once. Its pages down:
    the workbook is still written, and the run ends with exit 3 naming them."""
    book = BonBook(ctx.store)
    portal = ctx.portal(OtomaxBon, "otomax")
    desk = BonDesk(book, executor.journal, portal, executor.notify, ctx.clock.now, executor.notifies,
                   ctx.settings.console_url)
    try:
        return settle_bon_requests(portal, book, desk, config, ctx.clock.now())
    except PortalUnavailable as exc:
        logger.error("the Bon / TOP pages are down: bon requests not decided this run ({})", exc)
        reading.skipped.append(f"otomax bon: {exc}")
        return {}


def open_banks(ctx: RunContext, now: datetime, config) -> dict[str, object]:
    """Each bank portal's accounts (a login), its clock checked against ours; a bank that
    stays down is named instead (the others are reconciled). A clock that disagrees with a
    bank's by more than `clock_tolerance_minutes` stops the run before anything is acted on."""
    banks: dict[str, object] = {}
    tolerance = timedelta(minutes=config["clock_tolerance_minutes"])
    for key in bank_portals(ctx.settings):
        bank = ctx.portal(BankPortal, key)
        try:
            accounts = bank.accounts()
        except PortalUnavailable as exc:
            logger.error("{} is down: its accounts are not reconciled this run ({})", key, exc)
            banks[key] = str(exc)
            continue
        if bank.shown_at is not None and abs(bank.shown_at - now) > tolerance:
            raise ClockDisagrees(f"the run's clock says {now:%d/%m/%Y %H:%M} WIB, {key} shows "
                                 f"{bank.shown_at:%d/%m/%Y %H:%M} WIB (more than {config['clock_tolerance_minutes']} "
                                 "minutes apart; reconcile_payments.clock_tolerance_minutes): nothing acted on")
        banks[key] = (bank, accounts)
    return banks


def configured_accounts(banks: dict, config) -> dict[str, set[str]]:
    """bank → the company's accounts: the `accounts` setting, else what each bank portal lists."""
    found: dict[str, set[str]] = {}
    if config["accounts"]:
        for entry in config["accounts"]:
            bank, _, account = entry.partition(":")
            found.setdefault(bank.strip().lower(), set()).add(account.strip())
        return found
    for key, value in banks.items():
        if not isinstance(value, str):
            found[key[5:]] = {a.account_no for a in value[1]}
    return found


def collect_statements(ctx: RunContext, ledger: Ledger, today: date, config, banks: dict, reading: Reading) -> None:
    """Statements to read: the staff's files (checked), or every account's download since last time."""
    reading.accounts = configured_accounts(banks, config)
    if ctx.statements:
        for path in ctx.statements:
            try:
                reading.reads.append(statement_file(Path(path), today, config, reading.accounts))
            except InputFileError as exc:
                reading.problems.append(str(exc))
                logger.error("statement not read, nothing from it acted on: {}", exc)
        return
    for key, value in banks.items():
        if isinstance(value, str):
            continue
        bank, accounts = value
        bank_today = bank.shown_at.date() if bank.shown_at else today
        end = min(today, bank_today)  # coverage never past the bank's own statement period
        try:
            for account in accounts:
                covered = ledger.covered_until(key[5:], account.account_no)
                start = (min(covered, end) - timedelta(days=config["overlap_days"]) if covered
                         else end - timedelta(days=config["lookback_days"]))
                reading.reads += download(bank, key, account.account_no, start, end, today, reading)
        except PortalUnavailable as exc:
            logger.error("{} went down while downloading: not reconciled this run ({})", key, exc)
            reading.skipped.append(f"{key}: {exc}")


def download(bank: BankPortal, key: str, account_no: str, start: date, end: date, today: date,
             reading: Reading) -> list[Read]:
    reads = []
    for got in bank.download_statements(account_no, start, end):
        logger.info("{} {}: statement {} to {} downloaded ({})", key, account_no, start, end, got.file_name)
        try:
            statement = parse_statement(got.data, got.file_name, today=today, account_no=account_no)
        except InputFileError as exc:
            reading.problems.append(f"{key} {account_no}: {exc}")
            logger.error("the bank's export could not be read, nothing from it acted on: {}", exc)
            continue
        if statement.period_end is None:  # the period asked for is the period it covers
            statement = replace(statement, period_start=start, period_end=end)
        reads.append(Read(statement, hashlib.sha256(got.data).hexdigest(), got.data, covered=end,
                          current=end == today))
    return reads


def statement_file(path: Path, today: date, config, accounts: dict[str, set[str]] | None) -> Read:
    """A file a staff member passes: parsed, its account one of ours, its period recent enough.
    ``accounts`` None: the account is not checked (the console's preview, where only the bank
    portals know the company's accounts; its "Proses" runs this bot, which checks it)."""
    data = path.read_bytes()
    name = str(path)
    hint = config["statement_account"] or None
    if hint is None:
        found = _KLIKBCA_BISNIS_NAME.search(path.name)  # KlikBCA Bisnis names its download by account
        hint = found[1] if found else None
    try:
        statement = parse_statement(data, name, today=today, account_no=hint)
    except InputFileError as exc:
        if "no account number in the file" not in exc.reason:
            raise
        raise InputFileError(name, "no account number in the file or its name; pass --account NUMBER") from None
    ours = set() if accounts is None else accounts.get(statement.bank, set())
    if accounts is not None and statement.account_no not in ours:
        raise InputFileError(name, f"account {statement.account_no} ({statement.bank.upper()}) is not one of the "
                             f"company's configured accounts ({', '.join(sorted(ours)) or 'none for this bank'}); "
                             "nothing from it acted on", value=statement.account_no)
    days = [ln.posted_on for ln in statement.lines if ln.posted_on] + [statement.period_end]
    latest = max((d for d in days if d is not None), default=None)
    oldest = today - timedelta(days=config["statement_max_age_days"])
    if latest is not None and latest < oldest and not config["accept_old_statements"]:
        raise InputFileError(name, f"the statement ends {latest:%d/%m/%Y}, older than "
                             f"{config['statement_max_age_days']} days (reconcile_payments.statement_max_age_days); "
                             "pass --accept-old-statement to read it on purpose", value=str(latest))
    current = statement.period_end == today
    return Read(statement, hashlib.sha256(data).hexdigest(), data, current=current)


def archive_file(folder: Path, read: Read) -> str:
    """The bank's own file, kept under reports/ by its sha256 (the Mutasi sheet names it)."""
    suffix = Path(read.statement.source).suffix or ".csv"
    target = folder / f"{read.sha256}{suffix}"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(read.data)
        os.replace(temporary, target)
    return str(Path("rekonsiliasi") / "mutasi-bank" / target.name)


def find_reversed(ledger: Ledger, read: Read, run_id: str) -> list:
    """Stored PEND lines of the account, seen before this run, that today's statement no longer
    shows, pending or posted: the bank reversed them."""
    statement = read.statement
    shown = {fp for _, fp in with_occurrences(statement.lines)}
    return [row for row in ledger.still_pending(statement.bank, statement.account_no)
            if row.run_id != run_id and row.fingerprint not in shown]


def tie_out(ctx: RunContext, ledger: Ledger, executor: Executor, banks: dict, reading: Reading, today: date,
            config) -> list[str]:
    """Every downloaded account's days tie out; a difference makes the run read a wider window
    once, and a difference that stays is escalated as STATEMENT_GAP (with its amount)."""
    accounts = {(r.statement.bank, r.statement.account_no) for r in reading.reads}
    gaps = []
    for bank, account in sorted(accounts):
        broken = sorted(set(_broken_days(ledger, bank, account)) | reading.moved.get((bank, account), set()))
        portal = banks.get(f"bank_{bank}")
        if broken and portal is not None and not isinstance(portal, str) and not ctx.statements:
            start = min(min(broken) - timedelta(days=1), today - timedelta(days=config["gap_lookback_days"]))
            logger.warning("{} {}: {} do not tie out; reading {}..{} again", bank, account,
                           ", ".join(map(str, broken)), start, today)
            try:
                for read in download(portal[0], f"bank_{bank}", account, start, today, today, reading):
                    ledger.add(read.statement, read.statement.source, ctx.run_id, ctx.clock.now(), read.sha256)
                    ledger.save_days(bank, account, day_balances(read.statement.lines), read.statement.format,
                                     read.sha256, ctx.clock.now())
            except PortalUnavailable as exc:
                reading.skipped.append(f"bank_{bank}: {exc}")
        for day, gap in _gaps(ledger, bank, account).items():
            if ledger.set_gap(bank, account, day, gap):
                gaps.append(f"{bank} {account} {day}: {rupiah(gap)}")
                executor.gap(bank, account, day, gap)
    return gaps


def _gaps(ledger: Ledger, bank: str, account: str) -> dict:
    """day → the difference that makes it not tie out (0 when it does), for every stated day:
    opening + credits − debits − closing, or else the jump from the day before's closing."""
    stated = ledger.account_days(bank, account)
    found = {day: tie(day, opening, closing, ledger.day_amounts(bank, account, day)).difference or 0
             for day, (opening, closing) in stated.items()}
    previous = None
    for day in sorted(stated):
        opening, closing = stated[day]
        if not found[day] and previous is not None and opening is not None and opening != previous:
            found[day] = opening - previous
        previous = closing if closing is not None else previous
    return found


def _broken_days(ledger: Ledger, bank: str, account: str) -> list[date]:
    return sorted(day for day, gap in _gaps(ledger, bank, account).items() if gap)


def dry_run_plan(ledger: Ledger, statements, tickets, problems, config, now: datetime) -> RunResult:
    """The plan for every line not decided yet; nothing is written anywhere."""
    pending = {line.fingerprint: line for line in ledger.undecided()}
    for statement, _ in statements:
        for line, fp in ledger.unknown(statement):
            pending.setdefault(fp, CreditLine(fp, line.bank, line.account_no, line.amount, line.direction,
                                              line.posted_on, None, now, line.pending))
    plan = decide([ln for ln in pending.values() if not waits(ln, config["pending_credits"])], tickets,
                  ledger.claimed_tickets())
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


def summarise(outcomes, added: Added, problems: list[str], paths: list[Path], notes: list[str],
              gaps: list[str]) -> RunResult:
    counts = _count(outcomes)
    credits = [o for o in outcomes if o.code != DEBIT_IGNORED]
    return RunResult(
        counts={"new_lines": added.new, "known_lines": added.known, "posted_pending": added.posted,
                "statement_gaps": len(gaps), **counts},
        summary=[("New statement lines", str(added.new)), ("Already known (overlap)", str(added.known)),
                 ("Pending lines now posted", str(added.posted)), ("Credit lines decided", str(len(credits)))]
                + [(code, str(n)) for code, n in counts.items()]
                + [("STATEMENT_GAP", gap) for gap in gaps] + [("Note", note) for note in notes],
        reports=paths, problems=problems)


if __name__ == "__main__":
    from bots.cli import main

    raise SystemExit(main(["run", NAME]))
