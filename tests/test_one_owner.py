"""One owner per money action (issue "One owner per money action"), end to end.

Real mock worlds (WorldProcess), the real CLI as subprocesses, one real store that several
"terminals" share: each process its own VAR_DIR and reports folder, one DATABASE_URL. The races
of escalations resolve (after a reconciliation) and of the complaint run run on SQLite and on
PostgreSQL (several hosts, one database); the others on SQLite (`make test-pg`: PostgreSQL).

- two terminals resolving one escalation at once credit it once →
  `test_two_terminals_resolving_one_escalation_at_once_credit_it_once`
- two eSIM runs at once request each refund at most once → `test_two_esim_runs_at_once_refund_each_order_at_most_once`
- two complaint runs at once send each complaint once → `test_two_complaint_runs_at_once_send_each_complaint_once`
- two reconciliations at once: each ticket approved once, a credited line never escalated →
  `test_two_reconciliations_at_once_credit_each_ticket_once_and_escalate_no_credited_line`
- the store lost between runs, every escalation resolved again → still one credit per line →
  `test_a_lost_store_then_every_escalation_resolved_again_credits_each_line_once`
- a server keeping 30 characters of a note → the marker survives, the rerun adds nothing →
  `test_a_server_that_cuts_notes_still_shows_the_marker_and_the_rerun_adds_nothing`
- killed after the add, then rejected → refused naming the add →
  `test_reject_after_a_kill_after_the_add_is_refused_naming_the_add`
- a mistyped agent → exit 2 naming it, nothing recorded; the right one then credits once →
  `test_a_mistyped_agent_exits_2_and_the_right_agent_is_credited_after`
- a ticket of an agent the server no longer knows → refused, escalated, the rest credited, no retry
  forever → `test_a_ticket_of_an_unknown_agent_is_refused_once_and_the_rest_is_credited`

The marker's format is not asserted: only that it is the first token of the free text, at most
24 characters, starting with "BOT:", and the same for the same line whatever store reads it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from tests.conftest import MockWorld, run_cli
from tests.one_owner_world import (ESCALATED_AGENTS, PENDING_T0, T0, Terminals, env_file, finish, manual_adds,
                                   marker_of, start, told, write_esim_world, write_pending_world,
                                   write_unknown_agent_world, write_world)

pytestmark = pytest.mark.browser

ALLOWED_WHEN_TWO_AT_ONCE = {0, 2, 4}  # finished, refused input, or "another run holds the lock"
#: 200 characters of why, as finance writes them; the marker must survive a server that keeps 30
LONG_NOTE = ("setoran manual dari kasir cabang Balaraja, bukti transfer dikirim lewat WhatsApp ke finance, "
             "dicek bersama supervisor sore hari dan disetujui untuk dikreditkan ke agen yang benar. ").ljust(200, ".")


# -- worlds ----------------------------------------------------------------------------------------

def _reconcile_env(bot_env, world, folder) -> dict:
    return bot_env(world.url, BOTS_ENV_FILE=str(env_file(folder)), BOTS_NOW=T0.isoformat(), COLUMNS="250",
                   NOTIFY_URLS=f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages")


@pytest.fixture
def reconcile(tmp_path, bot_env, store_url):
    """tests/reconcile_world.py's world at T0, and terminals sharing one store."""
    folder = write_world(tmp_path / "world")
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    yield world, Terminals(_reconcile_env(bot_env, world, folder), tmp_path, store_url)
    world.stop()


@pytest.fixture
def unknown_agent(tmp_path, bot_env, store_url):
    folder = write_unknown_agent_world(tmp_path / "world")
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    yield world, Terminals(_reconcile_env(bot_env, world, folder), tmp_path, store_url)
    world.stop()


@pytest.fixture
def esim(tmp_path, bot_env, store_url):
    world = MockWorld(seed=write_esim_world(tmp_path / "world"))
    yield world, Terminals(bot_env(world.url), tmp_path, store_url)
    world.stop()


@pytest.fixture
def pending(tmp_path, bot_env, store_url):
    world = MockWorld(seed=write_pending_world(tmp_path / "world"))
    world.post("/__mock/clock", {"set": PENDING_T0})
    env = bot_env(world.url, BOTS_NOW=world.now(),
                  NOTIFY_URLS=f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages")
    yield world, Terminals(env, tmp_path, store_url)
    world.stop()


def _migrated(terminals: Terminals) -> None:
    """The shared store exists already (as it does on every day but the first)."""
    listed = run_cli("escalations", "list", env=terminals.env("setup"))
    assert listed.returncode == 0, listed.stdout + listed.stderr


def _reconciled(terminals: Terminals, name: str = "A") -> None:
    done = run_cli("run", "reconcile_payments", env=terminals.env(name))
    assert done.returncode == 0, done.stdout + done.stderr


def _open_escalation(terminals: Terminals, amount: int):
    [line] = [line for line in terminals.store().escalated_lines() if line.amount == Decimal(amount)]
    return line


def _balances(world) -> dict[str, int]:
    return {a["agent_id"]: a["balance"] for a in world.state()["agents"]}


def _assert_marker_at_start(note: str) -> str:
    marker = marker_of(note)
    assert marker.startswith("BOT:"), f"the note does not start with the marker: {note!r}"
    assert len(marker) <= 24, f"marker {marker!r} is {len(marker)} characters (at most 24)"
    return marker


# -- a. two terminals, one escalation ------------------------------------------------------------------

def test_two_terminals_resolving_one_escalation_at_once_credit_it_once(reconcile):
    world, terminals = reconcile
    _reconciled(terminals)
    line = _open_escalation(terminals, 1000000)  # NO_TICKET_ROUND_AMOUNT: "Transfer Manual" from ANDI WIJAYA
    before = _balances(world)
    world.control("faults", {"latency_ms": 200, "portals": ["otomax"]})  # both are mid-way at the same time
    resolving = [start("escalations", "resolve", str(line.escalation_id), "--agent", "AG4", "--note",
                       f"transfer manual Andi (terminal {name})", env=terminals.env(name)) for name in ("A", "B")]
    done = finish(resolving)
    world.control("faults", {})

    adds = [r for r in manual_adds(world.state()) if r["agent_id"] == "AG4"]
    moved = _balances(world)["AG4"] - before["AG4"]
    assert len(adds) == 1 and moved == 1000000, (
        f"AG4 credited {moved} in {len(adds)} manual adds for one 1000000 line\n{told(done)}")
    codes = [d.returncode for d in done]
    assert set(codes) <= ALLOWED_WHEN_TWO_AT_ONCE and 0 in codes, told(done)
    [resolved] = [line for line in terminals.store().escalated_lines(status=None) if line.amount == Decimal(1000000)]
    assert (resolved.escalation_status, resolved.escalation_agent) == ("RESOLVED", "AG4")


# -- b. two eSIM runs ------------------------------------------------------------------------------------

@pytest.mark.store_backends("sqlite")
def test_two_esim_runs_at_once_refund_each_order_at_most_once(esim):
    world, terminals = esim
    _migrated(terminals)
    world.control("faults", {"latency_ms": 150, "portals": ["aggregator"]})
    done = finish([start("run", "esim_activation_queue", env=terminals.env(name)) for name in ("A", "B")])
    world.control("faults", {})

    requested = Counter(r["order_id"] for r in world.state()["refund_requests"])
    twice = {order: n for order, n in requested.items() if n > 1}
    assert not twice, f"refunds requested more than once: {twice}\n{told(done)}"
    codes = [d.returncode for d in done]
    assert set(codes) <= ALLOWED_WHEN_TWO_AT_ONCE and set(codes) & {0, 2}, told(done)
    assert requested, f"no refund requested at all: the world did not exercise refunds\n{told(done)}"


# -- c. two complaint runs ---------------------------------------------------------------------------------

def test_two_complaint_runs_at_once_send_each_complaint_once(pending):
    world, terminals = pending
    _migrated(terminals)
    world.control("faults", {"latency_ms": 150, "portals": ["supplier_mitra", "supplier_sinar"]})
    done = finish([start("run", "check_pending_tx", env=terminals.env(name)) for name in ("A", "B")])
    world.control("faults", {})

    complaints = world.state()["complaints"]
    by_reference = Counter((c["supplier"], c["reference"]) for c in complaints)
    assert not {k: n for k, n in by_reference.items() if n > 1}, (
        f"a complaint reference sent twice: {by_reference}\n{told(done)}")
    by_message = Counter((c["trx_id"], c["level"], c["message"]) for c in complaints)
    assert not {k: n for k, n in by_message.items() if n > 1}, (
        f"one complaint message sent twice: {by_message}\n{told(done)}")
    codes = [d.returncode for d in done]
    assert set(codes) <= ALLOWED_WHEN_TWO_AT_ONCE and 0 in codes, told(done)
    sent = {(c["trx_id"], c["level"]) for c in complaints}
    assert sent == {("T1", "normal"), ("T2", "hard"), ("T3", "normal"), ("T4", "normal")}, told(done)


# -- d. two reconciliations ----------------------------------------------------------------------------------

@pytest.mark.store_backends("sqlite")  # PostgreSQL: make test-pg (the resolve race above runs a reconciliation there)
def test_two_reconciliations_at_once_credit_each_ticket_once_and_escalate_no_credited_line(reconcile):
    world, terminals = reconcile
    _migrated(terminals)
    world.control("faults", {"latency_ms": 150, "portals": ["otomax"]})
    done = finish([start("run", "reconcile_payments", env=terminals.env(name)) for name in ("A", "B")])
    world.control("faults", {})

    state = world.state()
    deposits = Counter(r["ticket_id"] for r in state["balance_log"] if r["kind"] == "DEPOSIT")
    assert deposits == {"TK1": 1, "TK2": 1}, f"deposit credits per ticket: {deposits}\n{told(done)}"
    assert {t["ticket_id"] for t in state["tickets"] if t["status"] == "APPROVED"} == {"TK1", "TK2", "TK7"}
    lines = terminals.store().lines()
    credited_amounts = {Decimal(r["amount"]) for r in state["balance_log"] if r["kind"] == "DEPOSIT"}
    for line in lines:
        if line.amount in credited_amounts and line.direction == "CR":
            assert (line.code, line.escalation_id) == ("AUTO_CREDITED", None), (
                f"the line that credited {line.amount} ended {line.code}"
                f"{'' if line.escalation_id is None else f', escalated as ESK-{line.escalation_id}'}\n{told(done)}")
    assert not [fp for fp, n in terminals.store().escalation_counts().items() if n > 1]
    codes = [d.returncode for d in done]
    assert 1 not in codes and set(codes) <= ALLOWED_WHEN_TWO_AT_ONCE and 0 in codes, told(done)
    assert len(lines) == 9 and all(line.code for line in lines), [(line.amount, line.code) for line in lines]


# -- e. the store lost, every escalation resolved again ------------------------------------------------------------

@pytest.mark.store_backends("sqlite")
def test_a_lost_store_then_every_escalation_resolved_again_credits_each_line_once(reconcile):
    world, terminals = reconcile
    env = terminals.env("A")
    _reconciled(terminals)
    first = terminals.store().escalated_lines()
    assert sorted(line.amount for line in first) == sorted(ESCALATED_AGENTS), [(line.amount, line.code) for line in first]
    credited_by: dict[tuple, list[dict]] = defaultdict(list)  # line identity → the adds its resolves made
    amounts = {line.identity: line.amount for line in first}

    def resolve_all(lines, round_name):
        outcomes = []
        for line in lines:
            seen = len(world.state()["balance_log"])
            done = run_cli("escalations", "resolve", str(line.escalation_id), "--agent",
                           ESCALATED_AGENTS[line.amount], "--note", f"setoran manual {line.amount:.0f}", env=env)
            outcomes.append(done)
            credited_by[line.identity] += [r for r in world.state()["balance_log"][seen:] if r["kind"] == "MANUAL"]
            assert done.returncode == 0, f"{round_name}: ESK-{line.escalation_id} ({line.amount}): " + told([done])
        return outcomes

    resolve_all(first, "before the store was lost")
    terminals.delete_store()
    _reconciled(terminals)
    again = [line for line in terminals.store().escalated_lines() if line.identity in amounts]  # the same money, a new store
    second = resolve_all(again, "after the store was lost")

    for identity, amount in amounts.items():
        adds = credited_by[identity]
        total = sum(r["amount"] for r in adds)
        assert total == amount, (f"the line {identity[2]!r} ({amount}) was credited {total} in {len(adds)} "
                                 f"manual adds across both stores\n{told(second)}")
    adds = manual_adds(world.state())
    by_marker: dict[str, int] = defaultdict(int)
    for add in adds:
        by_marker[_assert_marker_at_start(add["note"])] += add["amount"]
    assert sorted(by_marker.values()) == sorted(int(a) for a in amounts.values()), by_marker
    for identity, made in credited_by.items():
        assert len({marker_of(r["note"]) for r in made}) == 1, (identity, made)


# -- f. a server that keeps 30 characters of a note -----------------------------------------------------------------

@pytest.mark.store_backends("sqlite")
def test_a_server_that_cuts_notes_still_shows_the_marker_and_the_rerun_adds_nothing(reconcile):
    world, terminals = reconcile
    env = terminals.env("A")
    _reconciled(terminals)
    line = _open_escalation(terminals, 1000000)
    before = _balances(world)
    world.control("faults", {"note_limit": 30, "portals": ["otomax"]})
    command = ("escalations", "resolve", str(line.escalation_id), "--agent", "AG4", "--note", LONG_NOTE)
    assert len(LONG_NOTE) == 200
    first = run_cli(*command, env=env)
    rerun = run_cli(*command, env=env)  # the same command again, nothing killed

    adds = manual_adds(world.state())
    moved = _balances(world)["AG4"] - before["AG4"]
    assert len(adds) == 1 and moved == 1000000, (
        f"{len(adds)} manual adds, AG4 moved {moved}: notes {[a['note'] for a in adds]}\n{told([first, rerun])}")
    note = adds[0]["note"]
    assert len(note) <= 30, f"the world kept {len(note)} characters: the fault did not apply"
    _assert_marker_at_start(note)
    assert (first.returncode, rerun.returncode) == (0, 0), told([first, rerun])


# -- g. killed after the add, then a reject -------------------------------------------------------------------------

@pytest.mark.store_backends("sqlite")
def test_reject_after_a_kill_after_the_add_is_refused_naming_the_add(reconcile):
    world, terminals = reconcile
    env = terminals.env("A")
    _reconciled(terminals)
    line = _open_escalation(terminals, 1000000)
    killed = run_cli("escalations", "resolve", str(line.escalation_id), "--agent", "AG4", "--note",
                     "transfer manual Andi", env={**env, "BOTS_CRASH_AT": "manual:after_add"})
    assert killed.returncode == -9, told([killed])
    assert [(a["agent_id"], a["amount"]) for a in manual_adds(world.state())] == [("AG4", 1000000)]

    rejected = run_cli("escalations", "resolve", str(line.escalation_id), "--reject", "--note", "x", env=env)
    said = rejected.stdout + rejected.stderr
    assert rejected.returncode == 2, f"a reject after the balance add was taken: {told([rejected])}"
    assert "AG4" in said or any(a in said for a in ("1.000.000", "1000000", "1,000,000")), said
    [after] = [other for other in terminals.store().escalated_lines(status=None) if other.identity == line.identity]
    assert after.escalation_status != "REJECTED"
    assert len(manual_adds(world.state())) == 1  # the reject added and took nothing


# -- h. a mistyped agent ----------------------------------------------------------------------------------------------

@pytest.mark.store_backends("sqlite")
def test_a_mistyped_agent_exits_2_and_the_right_agent_is_credited_after(reconcile):
    world, terminals = reconcile
    env = terminals.env("A")
    _reconciled(terminals)
    line = _open_escalation(terminals, 1000000)
    before = _balances(world)
    wrong = run_cli("escalations", "resolve", str(line.escalation_id), "--agent", "AG44", "--note",
                    "transfer manual Andi", env=env)
    assert wrong.returncode == 2, told([wrong])
    assert "AG44" in wrong.stdout + wrong.stderr and "Traceback" not in wrong.stderr, told([wrong])
    assert manual_adds(world.state()) == []
    [still] = [other for other in terminals.store().escalated_lines(status=None) if other.identity == line.identity]
    assert (still.escalation_status, still.escalation_agent) == ("OPEN", None)
    tied = [a for a in terminals.store().actions_mentioning("AG44") if a["state"] in ("intent", "in_flight", "done")]
    assert not tied, f"the escalation is tied to the mistyped agent: {tied}"

    right = run_cli("escalations", "resolve", str(line.escalation_id), "--agent", "AG4", "--note",
                    "transfer manual Andi", env=env)
    assert right.returncode == 0, told([right])
    adds = manual_adds(world.state())
    assert [(a["agent_id"], a["amount"]) for a in adds] == [("AG4", 1000000)]
    assert _balances(world)["AG4"] - before["AG4"] == 1000000


# -- i. a ticket whose agent the server no longer knows -----------------------------------------------------------------

def _approval_of(terminals: Terminals, ticket_id: str) -> dict | None:
    found = [a for a in terminals.store().actions() if isinstance(a.get("payload"), dict)
             and a["payload"].get("ticket_id") == ticket_id]
    return found[0] if found else None


@pytest.mark.store_backends("sqlite")
def test_a_ticket_of_an_unknown_agent_is_refused_once_and_the_rest_is_credited(unknown_agent):
    world, terminals = unknown_agent
    env = terminals.env("A")
    first = run_cli("run", "reconcile_payments", env=env)
    assert first.returncode in (0, 2), told([first])
    state = world.state()
    status = {t["ticket_id"]: t["status"] for t in state["tickets"]}
    assert (status["TK1"], status["TK2"], status["TK9"]) == ("APPROVED", "APPROVED", "OPEN"), status
    assert sorted((r["ticket_id"], r["amount"]) for r in state["balance_log"]) == [("TK1", 500123), ("TK2", 250087)]
    [refused_line] = [line for line in terminals.store().lines() if line.amount == Decimal(300045)]
    approval = _approval_of(terminals, "TK9")
    assert refused_line.escalation_id is not None or (approval and approval["state"] == "refused"), (
        f"TK9's line ended {refused_line.code}, not escalated; its approval {approval}")
    assert approval is None or approval["state"] not in ("intent", "in_flight"), approval

    second = run_cli("run", "reconcile_payments", env=env)
    assert second.returncode in (0, 2), f"the second run: {told([second])}"
    again = _approval_of(terminals, "TK9")
    assert (again or {}).get("attempts") == (approval or {}).get("attempts"), (approval, again)
    assert again is None or again["state"] not in ("intent", "in_flight"), again
    assert {t["ticket_id"]: t["status"] for t in world.state()["tickets"]}["TK9"] == "OPEN"
    assert len(world.state()["balance_log"]) == 2
