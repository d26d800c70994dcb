"""Bot 3: Halo eSIM orders → validated, chased, refunded or closed; GraPARI activation batches.

The direct-sales juklak (DOMAIN §3), step by step:

1. finish anything a previous run left half done (a refund request, a batch being issued);
2. read the PSB Halo eSIM orders (Web Indiana) and the payments (the aggregator);
3. for a paid order whose data could be valid, ask Dukcapil (NIK with that KK) and ISMARA
   (arrears);
4. decide each order (pure, `bots/esim/rules.py`): wait for payment; close it unpaid after
   3×24 hours; request a refund with the failure's code; or accept it for activation;
5. request each refund once, and put every accepted order not yet batched into one new
   activation batch workbook for GraPARI (an order is in one batch, ever);
6. write the day's eSIM status workbook.

`python -m bots esim import FILE` brings GraPARI's filled-in batch back (bots/esim/importer.py).
"""

from __future__ import annotations

from datetime import date, timedelta

from loguru import logger

from bots.journal import Effect
from bots.notify import NotifyOnce, notifier_for
from bots.portals.helpdesk import inbox_reader
from bots.errors import ConfigError
from bots.esim import batch
from bots.esim.refunds import Refunds
from bots.esim.registry import Registry
from bots.esim.report import write_report
from bots.esim.rules import CLOSED_UNPAID, REFUNDED, WAITING_PAYMENT, Citizen, decide, needs_lookup
from bots.portals.esim import AggregatorPortal, DukcapilPortal, IndianaPortal, IsmaraPortal
from bots.runner import RunContext, RunResult

NAME = "esim_activation_queue"


def required_portals(settings) -> list[str]:
    return ["indiana", "aggregator", "dukcapil", "ismara"]


def options(settings) -> dict:
    given = settings.sections.get(NAME, {})
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
    return {"devices": devices, "days_off": days_off, "lookback": lookback, "bonus": dict(bonus)}


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

    orders = ctx.portal(IndianaPortal, "indiana").orders(since=now.date() - timedelta(days=config["lookback"]))
    payments = aggregator.payments()
    received: dict[str, int] = {}
    channels: dict[str, str] = {}
    for p in payments:
        received[p.order_id] = received.get(p.order_id, 0) + p.amount
        channels[p.order_id] = p.channel
    logger.info("{} orders read, {} payments", len(orders), len(payments))
    if not ctx.dry_run:
        registry.remember(orders, received, channels, now)
    open_orders = registry.open_orders() if not ctx.dry_run else [_as_rule_order(o) for o in orders]

    dukcapil = ismara = None
    decisions = []
    with ctx.track("checking orders", len(open_orders)) as progress:
        for order in open_orders:
            money = received.get(order.order_id, 0)
            citizen, arrears = None, None
            if needs_lookup(order, money, config["devices"]):
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

    for d in decisions:
        registry.decide(d, now, final=d.code not in (WAITING_PAYMENT,))
        if d.code == CLOSED_UNPAID:
            logger.info("{} closed: {}", d.order_id, d.reason)
        elif d.code in REFUNDED:
            refunds.request(d.order_id, registry.received(d.order_id), d.code, d.reason)
    issued = issue_batch(ctx, registry, config)
    path, note = write_report(registry.all_orders(), settings.reports_dir, ctx.clock.now())
    return RunResult(
        counts={"orders": len(orders), **counts},
        summary=[("Orders read", str(len(orders))), ("Orders decided", str(len(decisions)))]
                + [(code, str(n)) for code, n in sorted(counts.items())]
                + ([("Batch issued", f"{issued[0]} ({issued[1]} orders)")] if issued else [])
                + ([("Note", note)] if note else []),
        reports=([settings.reports_dir / "esim" / batch.file_name(issued[0])] if issued else []) + [path])


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
    batch_id = registry.open_batch(waiting, ctx.clock.now(), taken=lambda name: (folder / name).exists())
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
    is the check (a batch file is created once and never rewritten)."""
    row = registry.batch(batch_id)
    folder = ctx.settings.reports_dir / "esim"
    target = folder / batch.file_name(batch_id)
    orders = registry.batch_orders(batch_id)

    def check(fresh: bool):
        return {"how": "the file is already there (kept as it is)"} if target.exists() else None

    def act() -> dict:
        book = batch.build(batch_id, row.issued_at, orders, config["bonus"])
        path, created = batch.write_once(folder, batch_id, book)
        return {"how": "written" if created else "the file appeared meanwhile (kept as it is)", "file": path.name}

    ctx.journal.once(Effect(f"batch:{batch_id}", "batch", {"batch_id": batch_id, "orders": [o.order_id for o in orders]},
                            check, act, point="batch", act_point="after_write"))
    registry.batch_done(batch_id)


if __name__ == "__main__":
    from bots.cli import main

    raise SystemExit(main(["run", NAME]))
