"""Bot 3: Halo eSIM orders → validated, chased, refunded or closed; GraPARI activation batches.

The direct-sales juklak (DOMAIN §3), step by step:

1. finish anything a previous run left half done (a refund request, a batch being issued);
2. read the PSB Halo eSIM orders (Web Indiana) and the payments (the aggregator);
3. for a paid order whose data could be valid, ask Dukcapil (NIK with that KK) and ISMARA
   (arrears);
4. decide each order (pure, `bots/esim/rules.py`): wait for payment (in full within 3×24 h,
   or the order is closed and what came is refunded); wait for the form (the sales agent
   reminded daily); an unknown device to a person; invalid Dukcapil data or ISMARA arrears
   wait for a person to confirm the refund (`python -m bots esim confirm-refund`); or accept;
5. tell each person once what waits on them; request each refund once (closed orders, and
   confirmed ones — money that came later too); list GraPARI's failed activations; close each
   upfront deposit when the aggregator's setoran list shows it (past due: told once); put
   every accepted order not yet batched into one new activation batch workbook for GraPARI
   (an order is in one batch, ever);
6. write the day's eSIM status workbook.

`python -m bots esim import FILE` brings GraPARI's filled-in batch back (bots/esim/importer.py);
`python -m bots esim confirm-refund ORDER --note TEXT` is the person's step 10 (bots/esim/confirm.py);
`python -m bots esim reissue BATCH` writes a lost batch file again (bots/esim/batch.py).
"""

from __future__ import annotations

from datetime import date, timedelta

from loguru import logger

from bots.journal import Effect
from bots.notify import NotifyOnce, notifier_for
from bots.portals.helpdesk import inbox_reader
from bots.errors import ConfigError, InputFileError
from bots.esim import batch
from bots.esim.refunds import Refunds, reference_for, refund_held
from bots.esim.registry import Registry
from bots.esim.report import write_report
from bots.esim.people import People
from bots.esim.registry import JAKARTA
from bots.esim.rules import (CLOSED_UNPAID, CONFIRM_SUFFIX, REASONS, Citizen, money_of,
                             confirmation_due, decide, needs_lookup, refund_due)
from bots.portals.esim import AggregatorPortal, DukcapilPortal, IndianaPortal, IsmaraPortal
from bots.runner import RunContext, RunResult
from bots.settings import parse_every

NAME = "esim_activation_queue"


class BatchNameTaken(InputFileError):
    """A batch's file name is taken by a file that is not that batch: exit 2, naming it."""


def required_portals(settings) -> list[str]:
    return ["indiana", "aggregator", "dukcapil", "ismara"]


def options(settings) -> dict:
    given = settings.sections.get(NAME, {})
    known = ("lookback_days", "esim_devices", "extra_days_off", "package_bonus", "refund_after")
    for key in given:
        if key not in known:
            raise ConfigError(f"{NAME}.{key}", f"one of {', '.join(known)}", given[key])
    devices = given.get("esim_devices", [])
    if not isinstance(devices, list) or not all(isinstance(d, str) for d in devices) or not devices:
        raise ConfigError(f"{NAME}.esim_devices", "a list of device name patterns", devices)
    try:
        days_off = [date.fromisoformat(d) for d in given.get("extra_days_off", [])]
    except (TypeError, ValueError):
        raise ConfigError(f"{NAME}.extra_days_off", "a list of ISO dates", given.get("extra_days_off")) from None
    lookback = given.get("lookback_days", 10)
    if not isinstance(lookback, int) or lookback < 1:
        raise ConfigError(f"{NAME}.lookback_days", "a whole number of days ≥ 1", lookback)
    bonus = given.get("package_bonus", {})
    refund_after = given.get("refund_after", "confirmation")
    wait = None
    if refund_after != "confirmation":
        if not isinstance(refund_after, str):
            raise ConfigError(f"{NAME}.refund_after", '"confirmation" or a wait like "48h"', refund_after)
        wait = timedelta(seconds=parse_every(f"{NAME}.refund_after", refund_after))
    return {"devices": devices, "days_off": days_off, "lookback": lookback, "bonus": dict(bonus),
            "refund_wait": wait}


def run(ctx: RunContext) -> RunResult:
    settings, now = ctx.settings, ctx.clock.now()
    config = options(settings)
    registry = Registry(ctx.store)
    aggregator = ctx.portal(AggregatorPortal, "aggregator")
    notify = NotifyOnce(ctx.journal, notifier_for(settings), inbox_reader(ctx))
    refunds = Refunds(ctx.journal, registry, aggregator, notify)
    if not ctx.dry_run:
        refunds.recover()
        finish_batches(ctx, registry, config)

    # collect: orders, payments (with when they came), the aggregator's deposits
    orders = ctx.portal(IndianaPortal, "indiana").orders(since=now.date() - timedelta(days=config["lookback"]))
    payments = aggregator.payments()
    by_order: dict[str, list[tuple[int, object]]] = {}
    channels: dict[str, str] = {}
    for p in payments:
        by_order.setdefault(p.order_id, []).append((p.amount, p.paid_at))
        channels[p.order_id] = p.channel
    received = {o: sum(a for a, _ in paid) for o, paid in by_order.items()}
    logger.info("{} orders read, {} payments", len(orders), len(payments))
    if not ctx.dry_run:
        registry.remember(orders, received, channels, now)
        registry.update_money(by_order, channels)  # every order, decided or not, old or new
    open_orders = registry.open_orders() if not ctx.dry_run else [_as_rule_order(o) for o in orders]

    dukcapil = ismara = None
    decisions = []
    with ctx.track("checking orders", len(open_orders)) as progress:
        for order in open_orders:
            money = money_of(order, by_order.get(order.order_id, []))
            citizen, arrears = None, None
            if needs_lookup(order, money, config["devices"], now.date()):
                dukcapil = dukcapil or ctx.portal(DukcapilPortal, "dukcapil")
                ismara = ismara or ctx.portal(IsmaraPortal, "ismara")
                found = dukcapil.lookup(order.nik)
                citizen = Citizen(found.kk) if found else None
                arrears = ismara.outstanding(order.nik) if found else None
            decisions.append(decide(order, money, citizen, arrears, now, config["devices"]))
            progress.advance()
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.code] = counts.get(d.code, 0) + 1
    if ctx.dry_run:
        return RunResult(counts=counts, summary=[(code, str(n)) for code, n in sorted(counts.items())],
                         detail_header=["Pesanan", "Kode", "Alasan"],
                         details=[[d.order_id, d.code, d.reason] for d in decisions])

    # act: record, tell the people who wait on an order, refund what goes back, batch the valid
    people = People(notify, registry, console_url=ctx.settings.console_url)
    for d in decisions:
        registry.decide(d, now, final=d.final)
        if d.code == CLOSED_UNPAID:
            logger.info("{} closed: {}", d.order_id, d.reason)
        row = registry.order(d.order_id)
        if d.needs_confirmation and refunds.refunded(d.order_id):
            # a store that lost the person's confirmation: the aggregator shows the refund was asked
            registry.confirm_refund(d.order_id, "(refund found at the aggregator)", "store rebuilt", now)
            registry.refund_requested(d.order_id, reference_for(d.order_id), now, refunds.refunded(d.order_id))
            continue
        if d.needs_confirmation and confirmation_due(row.waiting_since, now, config["refund_wait"]) \
                and not refund_held(ctx.store, d.order_id):  # a person said no refund now: none without one
            registry.confirm_refund(d.order_id, "otomatis", f"refund_after {settings.sections[NAME]['refund_after']}",
                                    now)
            continue
        people.about(d, now)
    refunded = refund_all(registry, refunds, by_order)
    people.failed_activations()
    deposits_seen = track_deposits(registry, aggregator.deposits(), people, now)
    issued = issue_batch(ctx, registry, config)
    path, note = write_report(registry.all_orders(), settings.reports_dir, ctx.clock.now(), config["days_off"])
    counts.update({k: v for k, v in (("refunds_requested", refunded), ("deposits_seen", deposits_seen)) if v})
    return RunResult(
        counts={"orders": len(orders), **counts},
        summary=[("Orders read", str(len(orders))), ("Orders decided", str(len(decisions)))]
                + [(code, str(n)) for code, n in sorted(counts.items())]
                + ([("Batch issued", f"{issued[0]} ({issued[1]} orders)")] if issued else [])
                + ([("Note", note)] if note else []),
        reports=([settings.reports_dir / "esim" / batch.file_name(issued[0])] if issued else []) + [path])


def refund_all(registry: Registry, refunds: Refunds, by_order: dict) -> int:
    """Every closed or confirmed order gets back what the aggregator holds for it, once."""
    asked = 0
    for row in registry.to_refund():
        paid = by_order.get(row.order_id, [])
        received, back = sum(a for a, _ in paid), refunds.refunded(row.order_id)
        if received <= back:
            continue  # nothing (more) to give back: no need to look at the journal
        due = refund_due(row.order_id, received, back, len(paid), refunds.busy(row.order_id))
        if due is None:
            continue
        reason = REASONS.get(row.code, row.reason or "")
        if row.refund_confirmed_by:
            reason = f"{reason.removesuffix(CONFIRM_SUFFIX)}; dikonfirmasi {row.refund_confirmed_by}"
        state = refunds.request(row.order_id, due.amount, row.code, reason, key=due.key, reference=due.reference,
                                confirmed_by=row.refund_confirmed_by)
        asked += state == "done"
    return asked


def track_deposits(registry: Registry, deposits, people: "People", now) -> int:
    """Close each activated order's deposit item when the aggregator's deposit is seen; past due: tell once."""
    seen = 0
    by_order: dict[str, list] = {}
    for d in deposits:
        by_order.setdefault(d.order_id, []).append(d)
    for row in registry.activated_undeposited():
        found = [d for d in by_order.get(row.order_id, []) if not row.msisdn or not d.msisdn
                 or d.msisdn.lstrip("+").removeprefix("62").lstrip("0") == row.msisdn.removeprefix("62").lstrip("0")]
        if found and sum(d.amount for d in found) >= row.upfront_amount + row.esim_fee:
            registry.record_deposit(row.order_id, max(d.deposited_at for d in found),
                                    ", ".join(d.reference for d in found if d.reference)[:64])
            seen += 1
        elif _past_due(row, now):
            people.deposit_overdue(row)
    return seen


def _past_due(row, now) -> bool:
    if row.deposit_due_at is not None:
        return now > row.deposit_due_at
    return row.deposit_due is not None and now.astimezone(JAKARTA).date() > row.deposit_due


def _as_rule_order(o):
    from bots.esim.rules import Order

    return Order(o.order_id, o.submitted_at, o.nik, o.kk, o.device, o.form_completed, o.upfront_amount, o.esim_fee)


def issue_batch(ctx: RunContext, registry: Registry, config) -> tuple[str, int] | None:
    """Every accepted order not yet batched, into one new batch (none when there is none)."""
    waiting = registry.valid_unbatched()
    if not waiting:
        return None
    folder = ctx.settings.reports_dir / "esim"
    if adopt_issued_batches(registry, folder, ctx.clock.now()):
        waiting = registry.valid_unbatched()
        if not waiting:
            return None
    def taken(name: str) -> bool:
        if (folder / name).exists():  # not one of ours (those were adopted above): a person looks
            raise BatchNameTaken(name, "the next batch's file name is already taken by a file the store does "
                                 "not know as a batch: no batch issued, nothing overwritten; move it away "
                                 "and run again")
        return False

    batch_id = registry.open_batch(waiting, ctx.clock.now(), taken=taken)
    ctx.journal.crash("batch:after_intent")
    _write_batch(ctx, registry, batch_id, config)
    logger.info("activation batch {} issued: {} orders", batch_id, len(waiting))
    return batch_id, len(waiting)


def adopt_issued_batches(registry: Registry, folder, now) -> int:
    """Batch files the store does not know (it was lost or restored): their orders are batched
    already, GraPARI has them; recorded so that no order goes into a second batch."""
    known = {row.file_name for row in registry.batches()}
    adopted = 0
    for path in sorted(folder.glob("batch-aktivasi-*.xlsx")) if folder.is_dir() else []:
        if path.name in known:
            continue
        issued = batch.issued_orders(path)
        if issued is not None:
            count = registry.adopt_batch(issued[0], issued[1], now, path.name)
            if count:
                logger.warning("{} already holds {} of our orders (found on disk, not in the store): kept there",
                               path.name, count)
            adopted += count
    return adopted


def finish_batches(ctx: RunContext, registry: Registry, config) -> None:
    """A batch opened but not finished (killed while issuing): write its file, once."""
    for row in registry.batches(state="intent"):
        logger.info("finishing activation batch {} left unfinished", row.batch_id)
        _write_batch(ctx, registry, row.batch_id, config)


def _write_batch(ctx: RunContext, registry: Registry, batch_id: str, config) -> None:
    """The batch file for GraPARI, once, through the journal: the file under its final name
    is the check (a batch file is created once and never rewritten). A file of that name that
    holds other orders stops the run (exit 2, naming it): a person looks, nothing is overwritten."""
    write_batch_file(ctx.journal, registry, ctx.settings.reports_dir / "esim", batch_id, config["bonus"],
                     key=f"batch:{batch_id}")
    registry.batch_done(batch_id)


def write_batch_file(journal, registry: Registry, folder, batch_id: str, bonus: dict, key: str):
    row = registry.batch(batch_id)
    target = folder / batch.file_name(batch_id)
    orders = registry.batch_orders(batch_id)
    ours = [o.order_id for o in orders]

    def theirs() -> None:
        held = batch.issued_orders(target)
        if held is None or held[0] != batch_id or sorted(held[1]) != sorted(ours):
            raise BatchNameTaken(target.name, f"the name of batch {batch_id} is already taken by a file that "
                                 "holds other orders (or is no batch file): nothing overwritten; move it away "
                                 "and run again")

    def check(fresh: bool):
        if not target.exists():
            return None
        theirs()
        return {"how": "the file is already there (kept as it is)", "file": target.name}

    def act() -> dict:
        book = batch.build(batch_id, row.issued_at, orders, bonus)
        path, created = batch.write_once(folder, batch_id, book)
        if not created:
            theirs()
        return {"how": "written" if created else "the file appeared meanwhile (kept as it is)", "file": path.name}

    return journal.once(Effect(key, "batch", {"batch_id": batch_id, "orders": ours}, check, act, point="batch",
                               act_point="after_write"))


if __name__ == "__main__":
    from bots.cli import main

    raise SystemExit(main(["run", NAME]))
