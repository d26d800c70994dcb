"""Bot 2: pending transactions and agents' complaints → supplier complaints, once per step.

CS's procedure ("Transaksi" and the escalation table of the SOP), step by step:

1. finish any complaint a previous run left half sent;
2. read the transaction report (through its export: one request for thousands of rows) and
   the agents' complaints from the transaction server;
3. ask each supplier with transactions pending past the first threshold for its current
   answers (its own status words, normalised; an SN that is error text is no SN);
4. decide (pure, `bots/complaints/ladder.py`): a final answer is a resolution; otherwise the
   next step of the ladder — complaint after 2 minutes, hard complaint after 15, a supervisor
   told 30 minutes after that; "product not received": complaint, follow-ups, hard after 24 h;
   wrong number: recorded, nothing sent;
5. send each step once (the supplier's history is read for our reference first);
6. write the day's complaint workbook with the supplier scorecard.
"""

from __future__ import annotations

from datetime import timedelta

from loguru import logger

from bots.complaints.act import ComplaintSender
from bots.complaints.book import ComplaintBook
from bots.complaints.ladder import AgentReport, PendingTx, SupplierAnswer, Thresholds, decide
from bots.complaints.report import write_report
from bots.errors import ConfigError
from bots.notify import NotifyOnce, notifier_for
from bots.portals.helpdesk import inbox_reader
from bots.portals.otomax_reports import OtomaxReports
from bots.portals.supplier import SupplierPortal
from bots.runner import RunContext, RunResult
from bots.settings import parse_every

NAME = "check_pending_tx"
DURATIONS = ("complaint_after", "hard_after", "supervisor_after_hard", "followup_every", "pnr_hard_after")
DEFAULTS = {"complaint_after": "2m", "hard_after": "15m", "supervisor_after_hard": "30m", "followup_every": "30m",
            "pnr_hard_after": "24h", "lookback_days": 2}


def required_portals(settings) -> list[str]:
    return ["otomax"]  # suppliers are checked when a transaction of theirs needs it


def options(settings) -> tuple[Thresholds, int]:
    """This bot's section of config/*.toml (`[check_pending_tx]`), checked."""
    given = {**DEFAULTS, **settings.sections.get(NAME, {})}
    for key in given:
        if key not in DEFAULTS:
            raise ConfigError(f"{NAME}.{key}", f"one of {', '.join(DEFAULTS)}", given[key])
    durations = {k: timedelta(seconds=parse_every(f"{NAME}.{k}", given[k])) for k in DURATIONS}
    if durations["hard_after"] <= durations["complaint_after"]:
        raise ConfigError(f"{NAME}.hard_after", "longer than complaint_after", given["hard_after"])
    lookback = given["lookback_days"]
    if not isinstance(lookback, int) or lookback < 1:
        raise ConfigError(f"{NAME}.lookback_days", "a whole number of days ≥ 1", lookback)
    return Thresholds(**durations), lookback


def run(ctx: RunContext) -> RunResult:
    settings, now = ctx.settings, ctx.clock.now()
    th, lookback = options(settings)
    book = ComplaintBook(ctx.store)
    suppliers: dict[str, SupplierPortal] = {}

    def supplier(code: str) -> SupplierPortal:
        if code not in suppliers:
            suppliers[code] = ctx.portal(SupplierPortal, f"supplier_{code.lower()}")
        return suppliers[code]

    notify = NotifyOnce(ctx.journal, notifier_for(settings), inbox_reader(ctx))
    sender = ComplaintSender(ctx.journal, book, supplier, notify, ctx.clock.now)
    recovered = 0 if ctx.dry_run else sender.recover()

    report_page = ctx.portal(OtomaxReports, "otomax")
    transactions = {t.trx_id: t for t in report_page.transactions(since=now.date() - timedelta(days=lookback))}
    complaints = [c for c in report_page.agent_complaints() if c.trx_id in transactions]
    pending = [t for t in transactions.values() if t.status == "PENDING"]
    logger.info("{} transactions read, {} pending, {} agent complaints", len(transactions), len(pending),
                len(complaints))
    due = {t.supplier.lower() for t in pending if now - t.created_at > th.complaint_after}
    answers = {}
    for code in sorted(due):
        statuses = supplier(code).statuses()
        answers.update({trx: SupplierAnswer(s.status, s.sn) for trx, s in statuses.items()})

    reports = [AgentReport(c.complaint_id, c.trx_id, transactions[c.trx_id].supplier.lower(), c.kind,
                           c.reported_at, transactions[c.trx_id].created_at, transactions[c.trx_id].status)
               for c in complaints]
    steps, resolutions = decide([PendingTx(t.trx_id, t.supplier.lower(), t.created_at) for t in pending], reports,
                                answers, book.done_steps(), now, th)
    if ctx.dry_run:
        return RunResult(counts={"steps": len(steps), "resolutions": len(resolutions)},
                         summary=[("Pending", str(len(pending))), ("Steps due", str(len(steps))),
                                  ("Resolutions found", str(len(resolutions)))],
                         detail_header=["Transaksi", "Supplier", "Langkah", "Kode", "Alasan"],
                         details=[[s.trx_id, s.supplier, s.step, s.code, s.reason] for s in steps])

    tracked = _tracked(book)
    followed = pending + [transactions[c.trx_id] for c in complaints]
    resolved = book.follow(followed + [t for t in transactions.values() if t.trx_id in tracked], now)
    book.save_reports(complaints)
    for found in resolutions:
        if book.resolve(found.trx_id, found.status, found.sn, now):
            resolved.append(found.trx_id)
            logger.info("{} resolved by its supplier: {}", found.trx_id, found.status)
    with ctx.track("complaining", len(steps)) as progress:
        for step in steps:
            t = transactions[step.trx_id]
            sender.carry_out(step, t.product, t.destination)
            progress.advance()
    for code in sorted({s.supplier for s in steps} | set(due)):
        book.save_replies({c.reference: c.reply for c in sender.history(code, fresh=True).values() if c.reply})
    day = now.date()
    path, note = write_report(book, settings.reports_dir, day, ctx.clock.now(), th)
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.code] = counts.get(step.code, 0) + 1
    return RunResult(
        counts={"transactions": len(transactions), "pending": len(pending), "recovered": recovered,
                "resolved": len(resolved), **counts},
        summary=[("Transactions read", str(len(transactions))), ("Pending", str(len(pending))),
                 ("Resolved now", str(len(resolved))), ("Steps taken", str(len(steps)))]
                + [(code, str(n)) for code, n in sorted(counts.items())] + ([("Note", note)] if note else []),
        reports=[path])


def _tracked(book: ComplaintBook) -> set[str]:
    """Transactions followed and not final yet (their resolution is read from the report)."""
    return {t.trx_id for t in book.transactions() if t.resolution is None}


if __name__ == "__main__":
    from bots.cli import main

    raise SystemExit(main(["run", NAME]))
