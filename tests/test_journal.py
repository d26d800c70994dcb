"""The one exactly-once primitive (bots/journal.py): owners and leases, the portal check,
fencing, refusals, doubts, and a person's decision — against a real store, SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bots.errors import ActionRefused, LockLost, PortalUnavailable, SessionExpired
from bots.journal import Effect, Journal, Unreadable
from bots.settings import sqlite_file
from bots.store import Owner, Store
from bots.store.models import actions as actions_table

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


class Portal:
    """A portal whose act is not idempotent: it counts what was done; `script` says what goes wrong."""

    def __init__(self):
        self.done: list[str] = []
        self.script: list[str] = []
        self.readable = True

    def check(self, key):
        def check(fresh: bool):
            if not self.readable:
                return Unreadable("nothing to read back")
            return {"how": "found at the portal"} if key in self.done else None
        return check

    def act(self, key):
        def act() -> dict:
            step = self.script.pop(0) if self.script else "ok"
            if step == "refuse":
                raise ActionRefused("otomax", "Agen Tidak Ditemukan: AG9")
            if step == "session":
                raise SessionExpired("otomax", "form refused")
            if step == "lost_before":
                raise PortalUnavailable("otomax", "timeout before the act")
            self.done.append(key)
            if step == "lost_after":
                raise PortalUnavailable("otomax", "connection dropped after the act")
            return {"how": "done now"}
        return act

    def effect(self, key="manual:L1", verify=None) -> Effect:
        return Effect(key, "manual_credit", {"agent_id": "AG1", "amount": 1000}, self.check(key), self.act(key),
                      verify=verify, marker="BOT:M-abc", point="manual", act_point="after_add")


def journal(store: Store, run_id: str = "run-1", **kw) -> Journal:
    store.start_run("reconcile_payments", run_id, T0)
    return Journal(store, "reconcile_payments", run_id, lambda: T0, **kw)


def test_acts_once_then_finds_it_done(store):
    portal = Portal()
    first = journal(store).once(portal.effect())
    again = journal(store, "run-2").once(portal.effect())
    assert (first.state, first.found, again.state) == ("done", False, "done")
    assert portal.done == ["manual:L1"]
    steps = [(e.from_state, e.to_state) for e in store.events("manual:L1")]
    assert steps == [(None, "intent"), ("intent", "in_flight"), ("in_flight", "done")]


def test_a_new_store_finds_the_act_at_the_portal_and_does_not_repeat_it(tmp_path, store, request):
    portal = Portal()
    journal(store).once(portal.effect())
    fresh_url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"  # the store was lost: a new one, on the same backend
    if not sqlite_file(store.url):
        cluster = request.getfixturevalue("postgres")
        name = cluster.create_database(prefix="restored")
        request.addfinalizer(lambda: cluster.drop_database(name))
        fresh_url = cluster.url(name)
    fresh = Store(fresh_url)
    fresh.migrate()
    rebuilt = journal(fresh, "run-9")
    settled = rebuilt.once(portal.effect())
    assert (settled.state, settled.found, rebuilt.found) == ("done", True, 1)
    assert portal.done == ["manual:L1"]
    fresh.dispose()


def test_a_row_owned_by_a_live_run_is_left_alone(store):
    portal = Portal()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.start_run("reconcile_payments", "other", T0)
        store.claim("manual:L1", "reconcile_payments", "manual_credit", {}, Owner("other", Owner.this_process("x").host,
                    sleeper.pid), T0, timedelta(minutes=10))
        settled = journal(store).once(portal.effect())
        assert settled.state == "busy" and "other" in settled.words and portal.done == []
    finally:
        sleeper.kill()
        sleeper.wait()
    # its process is gone now: the row is taken over, checked at the portal, and acted on once
    settled = journal(store, "run-2").once(portal.effect())
    assert settled.state == "done" and portal.done == ["manual:L1"]
    assert any("taken over" in (e.note or "") for e in store.events("manual:L1"))


def test_another_hosts_row_waits_for_its_lease(store):
    portal = Portal()
    store.start_run("reconcile_payments", "far", T0)
    store.claim("manual:L1", "reconcile_payments", "manual_credit", {}, Owner("far", "other-host", 4242), T0,
                timedelta(minutes=10))
    assert journal(store).once(portal.effect()).state == "busy"
    later = Journal(store, "reconcile_payments", "run-1", lambda: T0 + timedelta(minutes=11))
    assert later.once(portal.effect()).state == "done" and portal.done == ["manual:L1"]


def test_a_run_that_lost_its_lock_acts_on_nothing(store):
    portal = Portal()

    def lost():
        raise LockLost("the run lock is no longer ours")

    with pytest.raises(LockLost):
        journal(store, fence=lost).once(portal.effect())
    assert portal.done == [] and store.get_action("manual:L1").state == "intent"


def test_a_row_taken_over_by_another_owner_cannot_be_marked_by_the_old_one(store):
    portal = Portal()
    j = journal(store)
    j.once(Effect("k", "manual_credit", {}, portal.check("k"), portal.act("k")))
    store.start_run("reconcile_payments", "run-2", T0)
    with store.write() as conn:  # as a takeover would: another run owns it now
        conn.execute(actions_table.update().where(actions_table.c.key == "k").values(owner_run="run-2",
                                                                                      state="in_flight"))
    with pytest.raises(LockLost):
        store.mark_done("k", {}, T0, owner=j.owner)


def test_a_refusal_is_an_outcome_and_never_retried(store):
    portal = Portal()
    portal.script = ["refuse"]
    j = journal(store)
    settled = j.once(portal.effect())
    assert settled.state == "refused" and "Agen Tidak Ditemukan" in settled.words and j.refused == [settled]
    assert journal(store, "run-2").once(portal.effect()).state == "refused" and portal.done == []


def test_a_lost_answer_is_read_back(store):
    portal = Portal()
    portal.script = ["lost_after"]
    settled = journal(store).once(portal.effect())
    assert (settled.state, settled.how) == ("done", "verified after a lost answer") and portal.done == ["manual:L1"]


def test_a_lost_answer_the_portal_does_not_show_is_tried_again_next_run(store):
    portal = Portal()
    portal.script = ["lost_before"]
    with pytest.raises(PortalUnavailable):
        journal(store).once(portal.effect())
    assert store.get_action("manual:L1").state == "failed" and portal.done == []
    assert journal(store, "run-2").once(portal.effect()).state == "done" and portal.done == ["manual:L1"]


def test_a_session_that_ended_before_the_form_is_checked_again_and_retried(store):
    portal = Portal()
    portal.script = ["session"]
    assert journal(store).once(portal.effect()).state == "done" and portal.done == ["manual:L1"]


def test_an_unreadable_outcome_is_in_doubt_and_a_person_decides(store):
    portal = Portal()
    portal.readable = False
    portal.script = ["lost_after"]
    j = journal(store)
    settled = j.once(portal.effect())
    assert settled.state == "in_doubt" and j.doubts == [settled]
    assert journal(store, "run-2").once(portal.effect()).state == "in_doubt"  # never acted on again
    assert portal.done == ["manual:L1"]
    with pytest.raises(ValueError, match="note"):
        store.decide_doubt("manual:L1", done=True, person="siti", note=" ", now=T0)
    decided = store.decide_doubt("manual:L1", done=True, person="siti", note="seen in the balance log", now=T0)
    assert decided.state == "done" and decided.result["by"] == "siti"
    last = store.events("manual:L1")[-1]
    assert (last.from_state, last.to_state, last.actor, last.note) == ("in_doubt", "done", "person:siti",
                                                                       "seen in the balance log")


def test_not_done_by_a_person_lets_the_bot_act_again(store):
    portal = Portal()
    portal.readable = False
    portal.script = ["lost_before"]
    journal(store).once(portal.effect())
    assert store.get_action("manual:L1").state == "in_doubt" and portal.done == []
    store.decide_doubt("manual:L1", done=False, person="siti", note="not in the log", now=T0)
    portal.readable = True
    assert journal(store, "run-2").once(portal.effect()).state == "done" and portal.done == ["manual:L1"]


def test_an_act_the_portal_accepts_but_does_not_show_is_in_doubt(store):
    portal = Portal()
    settled = journal(store).once(portal.effect(verify=lambda answer: None))
    assert settled.state == "in_doubt" and "does not show it" in settled.words


def test_a_person_may_ask_again_after_a_refusal_and_it_is_journaled(store):
    portal = Portal()
    portal.script = ["refuse"]
    assert journal(store).once(portal.effect()).state == "refused"
    store.retry_refused("manual:L1", "siti", T0)
    assert journal(store, "run-2").once(portal.effect()).state == "done" and portal.done == ["manual:L1"]
    assert ("refused", "failed", "person:siti") in [(e.from_state, e.to_state, e.actor) for e in store.events("manual:L1")]


@pytest.mark.store_backends("sqlite")  # the CLI on PostgreSQL: tests/test_pg_concurrency.py (and make test-pg)
def test_doubts_list_and_decide_from_the_command_line(tmp_path, store_url):
    """A person's place that is not Python: the listing shows markers and outside text as they
    are (never as rich markup), and a decision through the CLI is journaled with the login name."""
    import os

    from tests.conftest import run_cli

    url = store_url
    store = Store(url)
    store.migrate()
    portal = Portal()
    portal.readable = False
    portal.script = ["lost_after"]
    effect = portal.effect()
    effect.marker = "[SPV-T1]"
    effect.payload = {**effect.payload, "note": "[bold]Budi[/bold]"}  # text from outside, not markup
    journal(store).once(effect)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("BOTS_", "DATABASE_URL"))},
           "DATABASE_URL": url, "VAR_DIR": str(tmp_path / "var"), "LOGS_DIR": str(tmp_path / "logs"),
           "COLUMNS": "200"}
    listing = run_cli("doubts", "list", env=env)
    assert listing.returncode == 0 and "[SPV-T1]" in listing.stdout and "manual:L1" in listing.stdout
    assert "[bold]Budi[/bold]" in listing.stdout
    missing_note = run_cli("doubts", "decide", "manual:L1", "--done", "--note", " ", env=env)
    assert missing_note.returncode == 2
    decided = run_cli("doubts", "decide", "manual:L1", "--not-done", "--note", "tidak ada di riwayat", env=env)
    assert decided.returncode == 0, decided.stderr
    action = store.get_action("manual:L1")
    assert action.state == "failed" and store.events("manual:L1")[-1].actor.startswith("person:")
    assert run_cli("doubts", "decide", "manual:L1", "--done", "--note", "x", env=env).returncode == 2  # not in doubt
    store.dispose()
