"""The chaos harness: its short form holds every invariant, and its checks can fail."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from chaos.campaigns import EsimCampaign, PendingCampaign, ReconcileCampaign
from chaos.families import plan_for
from chaos.harness import Run
from tests.conftest import ROOT, TEST_DATABASE


class StateOnly:
    """Stands in for the world process: the checks only read `/__mock/state`."""

    def __init__(self, state: dict):
        self._state = state

    def state(self) -> dict:
        return self._state


@pytest.mark.browser
def test_short_chaos_campaign_holds_every_invariant(tmp_path):
    out = tmp_path / "chaos.json"
    # the classic family only: the new families have their own short forms below
    done = subprocess.run([sys.executable, "-m", "chaos", "--scenarios", "2", "--seed", "20261130",
                           "--family", "classic", "--no-bad-inputs", "--quiet", "--work-dir", str(tmp_path / "work"), "--json", str(out),
                           "--store", TEST_DATABASE],  # make test-pg: a database each on a cluster of its own
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    report = json.loads(out.read_text())
    assert report["violations"] == [], done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    rows = dict(report["rows"])
    assert rows["scenarios run"].startswith("6 ") and rows["invariant violations"] == "0"


def test_bank_reconciliation_families_are_reconcile_only_and_leave_the_other_draws_as_they_were():
    from chaos.families import RECONCILE_ONLY, pick_family

    shared = ["classic", "hosts", "store_lost", "note_limit", "refusals"]
    drawn = {}
    for bot in ("reconcile_payments", "check_pending_tx"):
        for number in range(400):
            before = random.Random(f"7:{bot}:{number}:family").choices(shared, [60, 10, 10, 10, 10])[0]
            now = drawn[bot, number] = pick_family(7, bot, number)
            assert now == before or (before == "classic" and now in RECONCILE_ONLY and bot == "reconcile_payments")
    mix = [drawn["reconcile_payments", n] for n in range(400)]
    assert all(mix.count(name) >= 8 for name in RECONCILE_ONLY)  # several times in a make chaos
    assert not any(drawn["check_pending_tx", n] in RECONCILE_ONLY for n in range(400))


def _store(folder, statements: str) -> None:
    import sqlite3

    (folder / "var").mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(folder / "var" / "bots.sqlite3") as db:
        db.executescript(statements)
        if "statement_lines" in statements:  # the checks leave out gateway payments kept as lines
            db.execute("alter table statement_lines add column bank text default 'bca'")


STORE = """
create table actions (key text, state text);
create table statement_lines (fingerprint text, account_no text, amount text, direction text, code text);
create table escalations (id integer, fingerprint text, status text, candidates text);
"""


def _one_open_escalation(folder, esc_id: int, amount: str, code: str, description: str) -> None:
    """A store with one BCA credit line and its open escalation of `code`."""
    _store(folder, STORE + f"""
        alter table statement_lines add column description text;
        alter table escalations add column code text;
        insert into statement_lines values ('f1', '5270418836', '{amount}', 'CR', '{code}', '{description}');
        insert into escalations values ({esc_id}, 'f1', 'OPEN', '[]', '{code}');
    """)


def test_families_plan_their_faults():
    rng = random.Random(3)
    hosts = plan_for("hosts", rng, ("otomax",), "reconcile_payments")
    assert hosts.processes in (2, 3) and hosts.resolve == "together" and not hosts.steady
    assert plan_for("store_lost", rng, ("otomax",), "check_pending_tx").forget_store
    assert plan_for("note_limit", rng, ("aggregator",), "esim_activation_queue").steady["note_limit"] in (30, 100)
    refusals = plan_for("refusals", rng, ("supplier_mitra", "supplier_sinar"), "check_pending_tx")
    assert 0.3 <= refusals.steady["refuse_rate"] <= 1 and refusals.steady["portals"] == ["supplier_mitra",
                                                                                         "supplier_sinar"]


def test_store_lost_deletes_the_database_with_its_wal_and_shm(tmp_path):
    campaign = ReconcileCampaign(tmp_path, random.Random(1))
    _store(tmp_path, STORE)
    for suffix in ("-wal", "-shm"):
        (tmp_path / "var" / f"bots.sqlite3{suffix}").write_text("x")
    assert campaign.forget_store() == 1
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == []
    assert campaign.forget_store() == 0


def test_a_campaign_on_postgresql_reads_its_store_and_loses_it_by_dropping_the_database(postgres, tmp_path):
    """`python -m chaos --store postgresql`: the checks read the campaign's database with the same
    `?` queries, and `store_lost` drops it (a fresh empty one takes its name)."""
    import sqlalchemy as sa

    from chaos.campaigns import PostgresStore

    campaign = ReconcileCampaign(tmp_path, random.Random(1))
    campaign.postgres = PostgresStore(postgres, postgres.create_database(prefix="chaos"))
    assert campaign.database_url == campaign.postgres.url and not campaign.has_store()
    assert campaign.query("select key from actions") == [] and campaign.forget_store() == 0
    engine = sa.create_engine(campaign.database_url)
    with engine.begin() as conn:
        for statement in STORE.strip().splitlines():
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("insert into actions values ('approve:CH1', 'refused'), ('approve:CH2', 'done')")
    engine.dispose()
    assert campaign.has_store() and campaign.parked() == {"approve:CH1": "refused"}
    assert campaign.query("select state from actions where key = ?", ("approve:CH2",)) == [("done",)]
    assert campaign.forget_store() == 1
    assert not campaign.has_store() and campaign.parked() == {}


def test_reconcile_invariants_catch_a_credited_line_escalated_and_a_refusal_taken_for_nothing(tmp_path):
    campaign = ReconcileCampaign(tmp_path, random.Random(1))
    account = {"bca": "5270418836", "mandiri": "1560007734218", "bri": "034201000871562", "bni": "0823417769"}
    bank = campaign.banks[0]
    campaign.credited = {"CH00001": ("AG001", 100123), "CH00002": ("AG002", 102456)}
    campaign._ticket_bank = {"CH00001": bank, "CH00002": bank}
    # CH00001 was credited and its only line is an escalation; CH00002's approval is "refused"
    # in the store, yet the world credited it
    _store(tmp_path, STORE + f"""
        insert into statement_lines values ('f1', '{account[bank]}', '100123.00', 'CR', 'TICKET_ALREADY_PROCESSED');
        insert into statement_lines values ('f2', '{account[bank]}', '102456.00', 'CR', 'AUTO_CREDITED');
        insert into escalations values (1, 'f1', 'OPEN', '["CH00001"]');
        insert into actions values ('approve:CH00002', 'refused');
    """)
    campaign.world = StateOnly({
        "tickets": [{"ticket_id": "CH00001", "status": "APPROVED"}, {"ticket_id": "CH00002", "status": "APPROVED"}],
        "balance_log": [{"ticket_id": "CH00001", "kind": "DEPOSIT"}, {"ticket_id": "CH00002", "kind": "DEPOSIT"}],
        "agents": [{"agent_id": a, "balance": b + {"AG001": 100123, "AG002": 102456}.get(a, 0)}
                   for a, b in campaign.agents.items()],
        "helpdesk_messages": [],
        "mutations": [{"account_no": account[bank], "amount": 100123, "direction": "CR"},
                      {"account_no": account[bank], "amount": 102456, "direction": "CR"}]})
    problems = " | ".join(campaign.check())
    assert "credited line escalated: every line paying ['CH00001']" in problems
    assert "the approval was refused, the world shows it credited: ['CH00002']" in problems
    assert "balances wrong" not in problems and "statement lines lost" not in problems


def test_reconcile_refused_ticket_is_excused_only_when_it_waits_for_a_person(tmp_path):
    campaign = ReconcileCampaign(tmp_path, random.Random(1))
    campaign.credited = {"CH00001": ("AG001", 100123), "CH00002": ("AG002", 102456)}
    _store(tmp_path, STORE + "insert into actions values ('approve:CH00001', 'refused');")
    campaign.world = StateOnly({
        "tickets": [{"ticket_id": "CH00001", "status": "OPEN"}, {"ticket_id": "CH00002", "status": "OPEN"}],
        "balance_log": [], "helpdesk_messages": [], "mutations": [],
        "agents": [{"agent_id": a, "balance": b} for a, b in campaign.agents.items()]})
    problems = " | ".join(campaign.check())
    assert "not credited ['CH00002']" in problems  # lost: neither done nor waiting for a person


def test_resolve_step_catches_a_double_hand_credit_and_a_process_that_crashed(tmp_path, monkeypatch):
    import chaos.campaigns as campaigns
    from collections import Counter

    campaign = ReconcileCampaign(tmp_path, random.Random(1))
    _one_open_escalation(tmp_path, 7, "2500000.00", "NO_TICKET_ROUND_AMOUNT", "TRF")
    log = [{"kind": "MANUAL", "agent_id": "AG001", "amount": 2500000}]
    campaign.world = StateOnly({"balance_log": log})
    # two "processes" at once: one crashed (exit 1), and the world shows two hand credits
    monkeypatch.setattr(campaigns, "run_at_once", lambda commands: (
        log.append({"kind": "MANUAL", "agent_id": "AG001", "amount": 2500000}) or
        log.append({"kind": "MANUAL", "agent_id": "AG001", "amount": 2500000}) or
        [Run(0, 1.0, "ok"), Run(1, 1.0, "Traceback")]))

    class Tally:
        events, kills = Counter(), Counter()

    problems = " | ".join(campaign.resolve_step(random.Random(2), {}, 0, "together", Tally()))
    assert "ESK-7: resolve 2 of 2 side by side exited 1" in problems
    assert "ESK-7 (2500000 on 5270418836) credited 2 times by hand" in problems
    assert "ESK-7 credited by hand, but the store still says OPEN" in problems


def test_pending_invariants_catch_a_refused_complaint_that_was_sent_and_excuse_one_that_waits(tmp_path):
    campaign = PendingCampaign(tmp_path, random.Random(1))
    t0 = datetime(2026, 11, 30, 8, 0).astimezone()
    at = lambda minutes: (t0 + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    campaign.last_now = at(30)
    _store(tmp_path, STORE + """
        insert into actions values ('complaint:CX00001:hard_complaint', 'refused');
        insert into actions values ('complaint:CX00002:hard_complaint', 'in_doubt');
    """)
    campaign.world = StateOnly({
        "transactions": [{"trx_id": t, "created_at": at(0), "status": "PENDING"}
                         for t in ("CX00001", "CX00002", "CX00003")],
        "complaints": [{"trx_id": "CX00001", "level": "hard", "reference": "R1", "created_at": at(20)}],
        "helpdesk_messages": []})
    problems = " | ".join(campaign.check())
    assert "complaint was refused, the supplier shows it: ['complaint:CX00001:hard_complaint']" in problems
    assert "CX00003: pending 0:30:00 and no hard complaint" in problems
    assert "CX00002" not in problems  # in doubt: a person decides, not lost


def test_esim_invariants_catch_a_refused_refund_that_was_sent_and_a_lost_one(tmp_path):
    campaign = EsimCampaign(tmp_path, random.Random(1))
    campaign.refunded = campaign.confirmed = {"CH-00001", "CH-00002", "CH-00003"}
    _store(tmp_path, STORE + """
        insert into actions values ('refund:CH-00001', 'refused');
        insert into actions values ('refund:CH-00002', 'refused');
    """)
    campaign.world = StateOnly({"refund_requests": [{"order_id": "CH-00001", "amount": 175000,
                                                     "reference": "RF-CH-00001"}],
                                "esim_payments": [{"order_id": o, "amount": 175000} for o in campaign.refunded]})
    problems = " | ".join(campaign.check())
    assert "the refund was refused, the aggregator shows it: ['CH-00001']" in problems
    assert "never refunded ['CH-00003']" in problems  # CH-00002 waits for a person: not lost


def test_reconcile_invariants_catch_a_double_credit(tmp_path):
    campaign = ReconcileCampaign(tmp_path, random.Random(1))
    campaign.credited = {"CH00001": ("AG001", 100123)}
    start = campaign.agents["AG001"]
    campaign.world = StateOnly({
        "tickets": [{"ticket_id": "CH00001", "status": "APPROVED"}, {"ticket_id": "CH00002", "status": "APPROVED"}],
        "balance_log": [{"ticket_id": "CH00001"}, {"ticket_id": "CH00001"}],
        "agents": [{"agent_id": a, "balance": b + (200246 if a == "AG001" else 0)} for a, b in campaign.agents.items()],
        "helpdesk_messages": [{"title": "[ESK-1] X"}, {"title": "[ESK-1] X"}], "mutations": []})
    problems = " | ".join(campaign.check())
    assert "credited wrongly ['CH00002']" in problems
    assert "credited more than once: ['CH00001']" in problems
    assert f"'AG001': ({start + 200246}, {start + 100123})" in problems
    assert "escalation notified twice" in problems and "no store was written" in problems


def test_pending_invariants_catch_an_early_hard_complaint_and_a_missing_one(tmp_path):
    campaign = PendingCampaign(tmp_path, random.Random(1))
    t0 = datetime(2026, 11, 30, 8, 0).astimezone()
    at = lambda minutes: (t0 + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    campaign.last_now = at(30)
    campaign.world = StateOnly({
        "transactions": [{"trx_id": "CX00001", "created_at": at(0), "status": "PENDING"},
                         {"trx_id": "CX00002", "created_at": at(0), "status": "PENDING"}],
        "complaints": [{"trx_id": "CX00001", "level": "hard", "reference": "R1", "created_at": at(5)},
                       {"trx_id": "CX00001", "level": "hard", "reference": "R1", "created_at": at(6)}],
        "helpdesk_messages": []})
    problems = " | ".join(campaign.check())
    assert "complaint sent twice (same reference)" in problems
    assert "CX00001: hard complaint at 0:05:00 old, before its threshold" in problems
    assert "CX00002: pending 0:30:00 and no hard complaint" in problems


def test_esim_invariants_catch_a_double_refund_and_a_lost_order(tmp_path):
    campaign = EsimCampaign(tmp_path, random.Random(1))
    campaign.valid, campaign.refunded, campaign.confirmed = {"CH-00001"}, {"CH-00002"}, {"CH-00002"}
    twice = {"order_id": "CH-00002", "amount": 175000, "reference": "RF-CH-00002"}
    campaign.world = StateOnly({"refund_requests": [twice, twice],
                                "esim_payments": [{"order_id": "CH-00002", "amount": 175000}]})
    problems = " | ".join(campaign.check())
    assert "never batched ['CH-00001']" in problems and "refund requested twice: ['CH-00002']" in problems
    assert "CH-00002: refunded 350000, more than the 175000 received" in problems


def test_esim_invariants_catch_a_refund_nobody_confirmed_and_a_closed_order_not_paid_back():
    from chaos.procedure_checks import esim_refunds

    state = {"esim_payments": [{"order_id": "CH-00001", "amount": 175000}, {"order_id": "CH-00002", "amount": 150000},
                               {"order_id": "CH-00003", "amount": 175000}, {"order_id": "CH-00004", "amount": 175000}],
             "refund_requests": [{"order_id": "CH-00001", "amount": 175000, "reference": "RF-CH-00001"},
                                 {"order_id": "CH-00004", "amount": 175000, "reference": "RF-CH-00004"}]}
    # CH-00001 waits for a confirmation nobody gave; CH-00002 was closed with the upfront in, never
    # paid back; CH-00003 closed too, but its refund was refused (a person has it); CH-00004 was a form
    problems = " | ".join(esim_refunds(state, {"refund:CH-00003": "refused"}, {"CH-00002", "CH-00003"},
                                       {"CH-00001"}, set()))
    assert "CH-00001: refunded 175000 without the procedure allowing it (waiting for a person's confirmation)" \
        in problems
    assert "CH-00002: received 150000, refunded only 0" in problems
    assert "CH-00004: refunded 175000 without the procedure allowing it (no Dukcapil or ISMARA reason" in problems
    assert "CH-00003" not in problems


def test_pnr_invariant_catches_a_follow_up_too_soon_and_an_early_hard_one():
    from chaos.procedure_checks import pnr_followups

    t0 = datetime(2026, 11, 30, 8, 0).astimezone()
    at = lambda minutes: (t0 + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    state = {"transactions": [{"trx_id": "CP00001", "created_at": at(-60)}, {"trx_id": "CP00002", "created_at": at(-60)}],
             "complaints": [{"trx_id": "CP00001", "level": "normal", "created_at": at(0)},
                            {"trx_id": "CP00001", "level": "normal", "created_at": at(20)},
                            {"trx_id": "CP00001", "level": "hard", "created_at": at(60)},
                            {"trx_id": "CP00002", "level": "normal", "created_at": at(0)},
                            {"trx_id": "CP00002", "level": "normal", "created_at": at(30)}]}
    problems = " | ".join(pnr_followups(state, {"CP00001", "CP00002"}))
    assert "CP00001: a follow-up 0:20:00 after the previous complaint" in problems
    assert "CP00001: hard complaint at 2:00:00 old" in problems
    assert "CP00002" not in problems


def test_resolve_step_leaves_a_pending_reversed_escalation_to_finance(tmp_path):
    """The bank never booked that money: `escalations resolve --agent` refuses it (exit 2), so the
    chaos resolve step must not pick it (it would report the refusal as a violation)."""
    from collections import Counter

    campaign = ReconcileCampaign(tmp_path, random.Random(1))
    _one_open_escalation(tmp_path, 3, "612345.00", "PENDING_REVERSED", "PEND")

    class Tally:
        events, kills = Counter(), Counter()

    assert campaign.resolve_step(random.Random(2), {}, 0, "once", Tally()) == []
    assert Tally.events["escalation resolves with none open"] == 1


def test_gateway_and_bon_work_is_judged_against_what_each_must_become():
    """chaos/beyond_bank.py: a paid payment not credited, a pending one credited, an eligible bon
    not granted and one over the limit granted are each named; an act refused by the server waits."""
    from bots.reconcile.gateway import payment_marker
    from chaos.beyond_bank import BeyondBank

    class Rows:
        def __init__(self):
            self.added = {}

        def add(self, table, rows):
            self.added.setdefault(table, []).extend(rows)

    beyond, world = BeyondBank({f"AG{n:03d}": 0 for n in range(1, 31)}, "test"), Rows()
    while not (beyond.must_credit and beyond.never and beyond.must_grant and beyond.over_limit):
        beyond.inject(world)
    paid, pending = sorted(beyond.must_credit)[0], sorted(beyond.never)[0]
    eligible, over = sorted(beyond.must_grant)[0], sorted(beyond.over_limit)[0]
    state = {"balance_log": [{"note": f"{payment_marker(p)} deposit VA", "kind": "MANUAL", "agent_id": "AG001",
                              "amount": 1} for p in sorted(beyond.must_credit)[1:] + [pending]],
             "bon_requests": [{"request_id": r, "status": "GRANTED"} for r in sorted(beyond.must_grant)[1:] + [over]]}
    problems = " | ".join(beyond.problems(state, parked={}, query=lambda sql: []))
    assert f"not credited ['{paid}']" in problems and f"must not be ['{pending}']" in problems
    assert f"eligible not granted ['{eligible}']" in problems and f"granted over the limit ['{over}']" in problems
    parked = {f"gateway:{paid}": "refused"}
    def waiting(sql):
        return [(eligible, "BON_GRANT_REFUSED")] if "bon_requests" in sql else []

    excused = " | ".join(beyond.problems(state, parked=parked, query=waiting))
    assert paid not in excused and eligible not in excused and over in excused
    assert {"deposit_requests", "gateway_payments", "bon_requests"} <= set(world.added)
