"""Several hosts on one store: the select-then-insert races, bounded lock waits and the errors
a locked or conflicting store ends a run with — on PostgreSQL, where writers do not queue for
the whole database as they do on SQLite (and on SQLite too, where that is cheap).

Racers are processes (other pids: each a live owner another cannot take a row from) or
threads with a Store each (its own engine and connections), released together by a barrier.
"""

from __future__ import annotations

import os
import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bots.complaints.book import ComplaintBook
from bots.complaints.ladder import Step
from bots.errors import StoreUnavailable
from bots.esim.registry import Registry
from bots.esim.tables import esim_orders
from bots.reconcile.ledger import Ledger
from bots.reconcile.matching import Outcome
from bots.reconcile.tables import statement_lines
from bots.store import Owner, Store
from tests.conftest import run_cli
from tests.stores import hold_write_lock, race_processes, store_query

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
RACERS = 4


def race(store_url: str, act, racers: int = RACERS) -> list:
    """What ``act(store, n)`` returned in each of ``racers`` threads started at once, each with
    a Store of its own; an exception in any thread fails the test with it."""
    barrier = threading.Barrier(racers)
    results: list = [None] * racers
    errors: list[BaseException] = []

    def one(n: int) -> None:
        own = Store(store_url, busy_timeout_ms=20_000)
        try:
            barrier.wait(timeout=30)
            results[n] = act(own, n)
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            errors.append(error)
        finally:
            own.dispose()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


@pytest.mark.store_backends("postgresql")  # SQLite lets one writer in at a time anyway
def test_hosts_taking_over_a_dead_hosts_row_at_once_leave_it_one_owner(store, store_url):
    """A row whose owner's lease ran out on another host: three live processes claim it at once,
    one takes it over, the others see it held by that one (never two owners acting)."""
    store.start_run("reconcile_payments", "gone", T0)
    dead = Owner("gone", "host-that-died", 1)
    store.claim("manual:L1", "reconcile_payments", "manual_credit", {"amount": 1000}, dead, T0, timedelta(minutes=5))
    code = ("import sys; from datetime import datetime, timedelta; from bots.store import Owner, Store\n"
            "s = Store(sys.argv[1], busy_timeout_ms=20000); now = datetime.fromisoformat(sys.argv[2])\n"
            "s.start_run('reconcile_payments', sys.argv[3], now)\n"
            "print('ready', flush=True); sys.stdin.readline()\n"
            "c = s.claim('manual:L1', 'reconcile_payments', 'manual_credit', {}, Owner.this_process(sys.argv[3]),"
            " now, timedelta(minutes=5))\n"
            "print(c.action.owner_run, c.held_by.run_id if c.held_by else '-', flush=True)\n")
    later = (T0 + timedelta(minutes=10)).isoformat()  # the dead host's lease is over
    answers = [out.split() for out in race_processes(code, *([store_url, later, f"host-{n}"] for n in range(3)))]
    [winner] = {owner for owner, _held in answers}
    assert sorted(held for _owner, held in answers) == ["-", winner, winner]  # one took it; two were told who
    takeovers = [e for e in store.events("manual:L1") if e.note and e.note.startswith("taken over")]
    assert [e.actor for e in takeovers] == [f"run:{winner}"]


def test_threads_racing_the_same_claim_create_one_row(store, store_url):
    for n in range(RACERS):
        store.start_run("reconcile_payments", f"run-{n}", T0)
    claims = race(store_url, lambda own, n: own.claim("approve:TK1", "reconcile_payments", "approve_ticket",
                                                       {"by": n}, Owner.this_process(f"run-{n}"), T0, None))
    assert sorted(c.created for c in claims) == [False] * (RACERS - 1) + [True]
    assert len({c.action.payload["by"] for c in claims}) == 1
    assert store_query(store_url, "SELECT count(*) FROM actions") == [(1,)]
    # one row made (threads share a pid, so each takes the row over as "an earlier run of this process")
    assert store_query(store_url, "SELECT count(*) FROM action_events WHERE from_state IS NULL") == [(1,)]


def test_hosts_racing_the_records_that_must_be_once_write_each_once(store, store_url):
    """An escalation, a complaint step, an archived statement, a day's balances, a batch: every
    insert another host may make at the same moment says what to do when the row is there."""
    with store.write() as conn:
        conn.execute(statement_lines.insert().values(
            fingerprint="fp-1", bank="bca", account_no="123", day=date(2026, 12, 1), description="TRSF CR 150033",
            amount="150033.00", direction="CR", pending=False, source="bca.csv", first_seen_at=T0, run_id="run-1"))
        conn.execute(esim_orders.insert(), [dict(
            order_id=f"PSB-{n}", submitted_at=T0, sales_agent="S1", customer_name="Budi", nik="", kk="", phone="",
            email="", device="", package="", upfront_amount=0, esim_fee=0, payment_method="VA", form_completed=True,
            first_seen_at=T0, final=False, received=0, received_in_time=0, code="VALID") for n in range(RACERS)])

    def act(own: Store, n: int):
        ledger, book = Ledger(own), ComplaintBook(own)
        step = Step("TRX-1", "pnr_normal", "mitra", "normal", "PNR", "pending 2 h", timedelta(hours=2))
        return (ledger.escalate(Outcome("fp-1", "NO_TICKET", "no ticket"), T0),
                book.record_step(step, f"REF-{n}", T0),
                ledger.cover("bca", "123", date(2026, 11, 30 - n), T0),
                Registry(own).open_batch([f"PSB-{n}"], T0))

    results = race(store_url, act)
    assert len({escalation for escalation, *_ in results}) == 1
    assert sorted(recorded for _, recorded, *_ in results) == [False] * (RACERS - 1) + [True]
    assert len({batch for *_, batch in results}) == RACERS  # each its own number, none refused
    for table, rows in (("escalations", 1), ("complaint_steps", 1), ("statement_coverage", 1),
                        ("activation_batches", RACERS)):
        assert store_query(store_url, f"SELECT count(*) FROM {table}") == [(rows,)], table
    assert store_query(store_url, "SELECT id FROM escalations") == [(1,)]  # people type these ids: no gaps


# -- a store locked by another host ------------------------------------------------------------------



@pytest.mark.store_backends("postgresql")
def test_a_lock_held_elsewhere_is_waited_for_up_to_busy_timeout_then_unavailable(store, store_url):
    store.start_run("reconcile_payments", "run-1", T0)
    short = Store(store_url, busy_timeout_ms=300)
    with short.write() as conn:  # every transaction carries the limits, from the same setting
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "300ms"
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "60300ms"
    with short.read() as conn:
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
    holder = hold_write_lock(store_url)
    try:
        with pytest.raises(StoreUnavailable, match=r"is locked: another process held what we needed for longer "
                                                    r"than we wait \(lock_timeout 300 ms: .*lock timeout\)") as caught:
            short.record_intent("k", "reconcile_payments", "approve_ticket", {}, "run-1", T0)
        assert caught.value.exit_code == 3
        assert short.last_run("reconcile_payments").run_id == "run-1"  # readers are not blocked
    finally:
        holder.communicate("release\n", timeout=10)
        short.dispose()
    assert store.record_intent("k", "reconcile_payments", "approve_ticket", {}, "run-1", T0)[1] is True


@pytest.mark.store_backends("postgresql")
def test_a_command_on_a_locked_store_exits_3_with_the_reason_not_a_traceback(store, store_url, tmp_path):
    store.start_run("reconcile_payments", "run-1", T0)
    store.record_intent("manual:L1", "reconcile_payments", "manual_credit", {}, "run-1", T0)
    store.mark_in_doubt("manual:L1", "the answer was lost", T0)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("BOTS_", "DATABASE_URL"))},
           "DATABASE_URL": store_url, "VAR_DIR": str(tmp_path / "var"), "LOGS_DIR": str(tmp_path / "logs"),
           "BOTS_BUSY_TIMEOUT_MS": "300"}
    holder = hold_write_lock(store_url)
    try:
        decided = run_cli("doubts", "decide", "manual:L1", "--done", "--note", "ada di riwayat", env=env)
    finally:
        holder.communicate("release\n", timeout=10)
    assert decided.returncode == 3, decided.stdout + decided.stderr
    assert "lock_timeout 300 ms" in decided.stderr and "Traceback" not in decided.stderr
    assert store.get_action("manual:L1").state == "in_doubt"  # nothing half done
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sa.table("action_events"))).scalar() == 2


def test_timestamps_come_back_aware_in_utc_and_compare_in_time_order(store):
    jakarta, utc = T0, T0.astimezone(timezone.utc) + timedelta(microseconds=1)
    store.start_run("reconcile_payments", "wib", jakarta)
    store.start_run("reconcile_payments", "utc", utc)
    assert [(r.run_id, r.started_at) for r in store.runs()] == [("utc", utc), ("wib", jakarta)]
    assert all(r.started_at.utcoffset() == timedelta(0) and r.dry_run is False for r in store.runs())
