"""Bot 2: pending transactions and agents' complaints → supplier complaints, once per step.

CS's procedure ("Transaksi" and the escalation table of the SOP), step by step:

1. finish any complaint a previous run left half sent;
2. read the transaction report (through its export: one request for thousands of rows) and
   the agents' complaints from the transaction server;
3. ask each supplier with transactions pending past the first threshold for its current
   answers (its own status words, normalised; an SN that is error text is no SN);
4. decide (pure, `bots/complaints/ladder.py`), one ladder per transaction: a final answer is a
   resolution; otherwise the next step — complaint after 2 minutes, hard complaint after 15, a
   supervisor told 30 minutes after that, then a daily reminder; "product not received":
   complaint, follow-ups each `followup_every` after the last complaint, hard after 24 h (at
   once if the transaction is already that old); wrong number on a SUKSES: recorded, nothing
   sent; a final supplier answer the server does not show: CS told once;
5. send each step once (the supplier's history is read for our reference first);
6. write the day's complaint workbook with the supplier scorecard.
"""

from __future__ import annotations

from datetime import timedelta

from loguru import logger

from bots.complaints.act import ComplaintSender
from bots.complaints.book import ComplaintBook
from bots.complaints.ladder import AgentReport, PendingTx, SupplierAnswer, Thresholds, decide
from bots.complaints.ladder import cases as build_cases
from bots.complaints.report import write_report
from bots.errors import ConfigError
from bots.notify import NotifyOnce, notifier_for
from bots.portals.helpdesk import inbox_reader
from bots.portals.otomax_reports import OtomaxReports
from bots.portals.supplier import SupplierPortal, real_sn, sn_in_reply
from bots.runner import RunContext, RunResult
from bots.settings import parse_every

NAME = "check_pending_tx"
DURATIONS = ("complaint_after", "hard_after", "supervisor_after_hard", "followup_every", "pnr_hard_after")
DEFAULTS = {"complaint_after": "2m", "hard_after": "15m", "supervisor_after_hard": "30m", "followup_every": "30m",
            "pnr_hard_after": "24h", "lookback_days": 2, "supplier_names": {}}


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
    names = given["supplier_names"]
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise ConfigError(f"{NAME}.supplier_names", "a table of supplier code = \"name\"", names)
    return Thresholds(**durations), lookback


def supplier_names(settings) -> dict[str, str]:
    """Supplier code → the name the workbook shows (`[check_pending_tx.supplier_names]`)."""
    given = settings.sections.get(NAME, {}).get("supplier_names", {})
    return {str(code).lower(): name for code, name in given.items()}


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

    # collect: the report, every agent's complaint (of any age), the cases still open
    report_page = ctx.portal(OtomaxReports, "otomax")
    transactions = {t.trx_id: t for t in report_page.transactions(since=now.date() - timedelta(days=lookback))}
    complaints = report_page.agent_complaints()
    known, done = book.open_cases(), book.done_steps()
    still_open = {trx for trx, (resolution, _, status) in known.items()
                  if resolution is None or (status == "PENDING" and "server_fix" not in done.get(trx, {}))}
    wanted = ({c.trx_id for c in complaints} | still_open) - set(transactions)
    transactions.update(_older(report_page, wanted))
    unknown = sorted({c.trx_id for c in complaints if c.trx_id not in transactions})
    if unknown:
        logger.warning("agents reported {} transaction(s) the server does not know: {}", len(unknown),
                       ", ".join(unknown[:10]))
    complaints = [c for c in complaints if c.trx_id in transactions]
    pending = [t for t in transactions.values() if t.status == "PENDING"]
    logger.info("{} transactions read, {} pending, {} agent complaints", len(transactions), len(pending),
                len(complaints))
    if not ctx.dry_run:
        book.follow(pending + [transactions[c.trx_id] for c in complaints]
                    + [transactions[t] for t in still_open if t in transactions], now)
        book.save_reports(complaints)
        for c in complaints:  # a report newer than the case's close opens it again
            resolution, resolved_at, _ = known.get(c.trx_id, (None, None, ""))
            if resolution is not None and resolved_at and c.kind == "PRODUCT_NOT_RECEIVED" \
                    and c.reported_at > resolved_at and transactions[c.trx_id].status == "SUKSES":
                book.reopen(c.trx_id)
        known = book.open_cases()
    followed = {t.trx_id: t for t in pending}
    followed.update({c.trx_id: transactions[c.trx_id] for c in complaints})
    followed.update({t: transactions[t] for t in still_open if t in transactions})

    # ask the suppliers of the open cases: their status export, and their replies to our PNR complaints
    due = {t.supplier.lower() for t in followed.values()
           if known.get(t.trx_id, (None,))[0] is None
           and (t.status != "PENDING" or now - t.created_at > th.complaint_after)}
    answers: dict[str, SupplierAnswer] = {}
    replied: dict[str, str] = {}
    pnr_refs = book.references("pnr_")
    for code in sorted(due):
        statuses = supplier(code).statuses()
        answers.update({trx: SupplierAnswer(s.status, s.sn) for trx, s in statuses.items()})
        if any(trx in followed and followed[trx].supplier.lower() == code for trx in pnr_refs.values()):
            for ref, c in sender.history(code).items():
                sn = sn_in_reply(getattr(c, "reply", ""))
                if sn and ref in pnr_refs:
                    replied[pnr_refs[ref]] = sn

    reports = [AgentReport(c.complaint_id, c.trx_id, transactions[c.trx_id].supplier.lower(), c.kind,
                           c.reported_at, transactions[c.trx_id].created_at, transactions[c.trx_id].status)
               for c in complaints]
    resolved = {trx: (res, at) for trx, (res, at, _) in known.items() if res is not None and at is not None}
    cases = build_cases([PendingTx(t.trx_id, t.supplier.lower(), t.created_at, t.status, real_sn(t.sn))
                         for t in followed.values()], reports, answers, replied, resolved, book.done_steps())
    steps, resolutions = decide(cases, now, th)
    if ctx.dry_run:
        return RunResult(counts={"steps": len(steps), "resolutions": len(resolutions)},
                         summary=[("Pending", str(len(pending))), ("Steps due", str(len(steps))),
                                  ("Resolutions found", str(len(resolutions)))],
                         detail_header=["Transaksi", "Supplier", "Langkah", "Kode", "Alasan"],
                         details=[[s.trx_id, s.supplier, s.step, s.code, s.reason] for s in steps])

    # act: record each resolution, then send each step once
    closed = []
    for found in resolutions:
        if book.resolve(found.trx_id, found.status, found.sn, now):
            closed.append(found.trx_id)
            logger.info("{} resolved ({}): {}", found.trx_id, found.source, found.status)
    with ctx.track("complaining", len(steps)) as progress:
        for step in steps:
            t = transactions[step.trx_id]
            sender.carry_out(step, t.product, t.destination)
            progress.advance()
    for code in sorted({s.supplier for s in steps} | set(due)):
        book.save_replies({c.reference: c.reply for c in sender.history(code, fresh=True).values() if c.reply})
    day = now.date()
    path, note = write_report(book, settings.reports_dir, day, ctx.clock.now(), th, supplier_names(settings))
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.code] = counts.get(step.code, 0) + 1
    return RunResult(
        counts={"transactions": len(transactions), "pending": len(pending), "recovered": recovered,
                "resolved": len(closed), **counts},
        summary=[("Transactions read", str(len(transactions))), ("Pending", str(len(pending))),
                 ("Resolved now", str(len(closed))), ("Steps taken", str(len(steps)))]
                + [(code, str(n)) for code, n in sorted(counts.items())] + ([("Note", note)] if note else []),
        reports=[path])


def _older(report_page: OtomaxReports, trx_ids: set[str]) -> dict:
    """Transactions older than the report's window that a report or an open case needs."""
    if not trx_ids:
        return {}
    if len(trx_ids) > 20:  # many: one export of everything is cheaper than a search each
        return {t.trx_id: t for t in report_page.transactions() if t.trx_id in trx_ids}
    found = {}
    for trx_id in sorted(trx_ids):
        found.update({t.trx_id: t for t in report_page.transactions(query=trx_id) if t.trx_id == trx_id})
    return found


if __name__ == "__main__":
    from bots.cli import main

    raise SystemExit(main(["run", NAME]))
