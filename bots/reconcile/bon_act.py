"""Bon / TOP, carried out: grant the eligible requests once, tell the supervisor the rest.

The step of `reconcile_payments` after the tickets (`settle_bon_requests`): read the server's
bon requests and every bon, decide (bots/reconcile/bon.py, pure), then

- a grant goes through the journal under the key `bon:<request_id>` (crash points `bon:*`):
  the portal is checked first (a request already GRANTED there — a lost store, another host,
  the supervisor — is recorded, never granted again), then "Tembak Saldo" once, then read back;
- anything else waits for the supervisor, told once (marker `[BON-<request_id>]`) with the
  agent, the amount asked and what is still owed.

The supervisor's grant (`python -m bots bon decide … --grant`, or the console) uses the same
key, so the bot and the person can never both grant.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from loguru import logger

from bots.errors import ActionRefused
from bots.journal import Effect, Journal, Settled
from bots.notify import NotifyOnce
from bots.reconcile.bon import BON_GRANTED, BonDecision, decide_bon, limits_for, open_amounts, open_bons_by_agent
from bots.reconcile.bon_book import GRANTED, REFUSED, WAITING, BonBook
from bots.reconcile.matching import rupiah

BON_GRANT_REFUSED = "BON_GRANT_REFUSED"  # the server refused "Tembak Saldo" (or its outcome is in doubt)
BON_REFUSED = "BON_REFUSED"              # refused on the server by a person, not through us


def bon_key(request_id: str) -> str:
    return f"bon:{request_id}"


def bon_marker(request_id: str) -> str:
    return f"BON-{request_id}"


def grant_once(journal: Journal, portal, request_id: str, agent_id: str, amount: int) -> Settled:
    """"Tembak Saldo" for one request, exactly once, through the journal (key `bon:<request_id>`)."""

    def check(fresh: bool):
        found = portal.bon_request(request_id)
        if found is None:
            raise ActionRefused("otomax", f"not_found: permintaan bon {request_id} tidak ada di server")
        if found.status == "REFUSED":
            raise ActionRefused("otomax", f"already_refused: permintaan bon {request_id} sudah ditolak di server")
        if found.status != "GRANTED":
            return None
        return {"how": "granted at the portal", "granted_at": found.granted_at.isoformat() if found.granted_at
                else None}

    def act() -> dict:
        logger.info("granting bon {} to {} ({})", request_id, agent_id, rupiah(amount))
        answer = portal.grant_bon(request_id)
        if answer.outcome == "granted":
            return {"how": "granted"}
        if answer.outcome == "already_processed":  # granted between our check and the click
            seen = check(True)
            if seen is not None:
                return seen
        raise ActionRefused("otomax", f"{answer.outcome}: {answer.message}")

    def verify(answer: dict):
        found = portal.bon_request(request_id)
        booked = any(b.bon_id == request_id for b in portal.bons(agent_id=agent_id))
        return {"verified": "request GRANTED and the bon on the books"} if (
            found is not None and found.status == "GRANTED" and booked) else None

    return journal.once(Effect(bon_key(request_id), "bon_grant",
                               {"request_id": request_id, "agent_id": agent_id, "amount": amount},
                               check, act, verify, point="bon", act_point="after_click"))


@dataclass
class BonDesk:
    """Carries out bon decisions: the grants through the journal, the rest to the supervisor."""

    book: BonBook
    journal: Journal
    portal: object
    notify: NotifyOnce
    now: Callable[[], datetime]
    notifies: bool = True
    console_url: str | None = None

    @property
    def by(self) -> str:
        return f"run:{self.journal.run_id}"

    def recover(self) -> Counter:
        """Grants an earlier run left unfinished, finished first; supervisors not yet told, told."""
        done: Counter = Counter()
        for action in self.journal.store.unfinished(self.journal.bot):
            if action.kind == "bon_grant":
                p = action.payload
                logger.info("recovering {} left {} by run {}", action.key, action.state, action.run_id)
                settled = grant_once(self.journal, self.portal, p["request_id"], p["agent_id"], p["amount"])
                if settled.done:
                    self._granted(p["request_id"], settled)
                    done[BON_GRANTED] += 1
        for stored in self.book.requests(status=WAITING):
            if stored.notified_at is None:
                self.announce(stored.request_id)
        return done

    def carry_out(self, decision: BonDecision, requested_at: datetime) -> str | None:
        """The request's code once carried out (None: another live run is granting it)."""
        if not decision.grants:
            self.book.record(decision.request_id, decision.agent_id, decision.amount, requested_at, decision.code,
                             decision.reason, WAITING, self.now(), open_bons=decision.open_bons)
            self.announce(decision.request_id)
            return decision.code
        settled = grant_once(self.journal, self.portal, decision.request_id, decision.agent_id, decision.amount)
        if settled.state == "busy":
            return None
        if settled.done:
            self.book.record(decision.request_id, decision.agent_id, decision.amount, requested_at, BON_GRANTED,
                             decision.reason + ("; sudah ditembak di server" if settled.found else ""), GRANTED,
                             self.now(), decided_by=self.by)
            return BON_GRANTED
        reason = (f"Server menolak Tembak Saldo: {settled.words}" if settled.state == "refused"
                  else f"Tembak Saldo belum pasti (python -m bots doubts list): {settled.words}")
        self.book.record(decision.request_id, decision.agent_id, decision.amount, requested_at, BON_GRANT_REFUSED,
                         reason, WAITING, self.now())
        self.announce(decision.request_id)
        return BON_GRANT_REFUSED

    def _granted(self, request_id: str, settled: Settled) -> None:
        stored = self.book.request(request_id)
        if stored is None:
            p = settled.action.payload
            found = self.portal.bon_request(request_id)
            self.book.record(request_id, p["agent_id"], p["amount"], found.requested_at if found else self.now(),
                             BON_GRANTED, "Bon ditembak (dilanjutkan setelah run terputus)", GRANTED, self.now(),
                             decided_by=self.by)
        elif stored.status != GRANTED:
            self.book.settle(request_id, GRANTED, self.by, self.now(), stored.note)

    def announce(self, request_id: str) -> None:
        """Tell the supervisor once: the agent, the amount asked, what is still owed, how to decide."""
        stored = self.book.request(request_id)
        marker = bon_marker(request_id)
        owed = ", ".join(f"{b} {rupiah(o)}" for b, o in stored.open_bons) or "tidak ada"
        title = f"[{marker}] {stored.code} agen {stored.agent_id} {rupiah(stored.amount)}"
        how = (f"Buka di konsol: {self.console_url}/bon" if self.console_url else
               f"Putuskan dengan: python -m bots bon decide {request_id} --grant|--refuse --note TEKS")
        body = (f"Permintaan Saldo Bon / TOP {request_id}: agen {stored.agent_id} minta {rupiah(stored.amount)}.\n"
                f"Bon belum lunas: {owed}.\n{stored.code}: {stored.reason}\nKonfirmasi ke atasan. {how}")
        if self.notify(f"notify:bon:{request_id}", marker, title, body) and self.notifies:
            self.book.mark_notified(request_id, self.now())


def settle_bon_requests(otomax_bon, book: BonBook, desk: BonDesk, config, now: datetime) -> Counter:
    """Bon / TOP after the deposit tickets: read, decide, carry out. Returns the count per code."""
    counts = desk.recover()
    since = now.date() - timedelta(days=config["ticket_lookback_days"])
    # every PENDING request, however old (none is left unseen), and the recent ones decided elsewhere
    pending_now = otomax_bon.bon_requests(status="PENDING")
    seen = {r.request_id for r in pending_now}
    requests = pending_now + [r for r in otomax_bon.bon_requests(since=since) if r.request_id not in seen]
    bons = otomax_bon.bons()
    stored = {r.request_id: r for r in book.requests()}
    known = set(stored)
    unfinished = {a.payload.get("request_id") for a in desk.journal.store.unfinished(desk.journal.bot)
                  if a.kind == "bon_grant"}
    for request in requests:  # decided on the server, not by us: recorded for the report
        if request.status in ("GRANTED", "REFUSED") and request.request_id not in known:
            granted = request.status == "GRANTED"
            book.record(request.request_id, request.agent_id, request.amount, request.requested_at,
                        BON_GRANTED if granted else BON_REFUSED,
                        "Sudah ditembak di server" if granted else f"Ditolak di server: {request.note}",
                        GRANTED if granted else REFUSED, now, decided_by="portal", note=request.note or None)
        elif request.status in ("GRANTED", "REFUSED") and stored[request.request_id].status == WAITING:
            # the supervisor decided on the server itself: the store follows the server
            book.settle(request.request_id, GRANTED if request.status == "GRANTED" else REFUSED, "portal", now,
                        request.note or None)
    pending = [r for r in requests if r.status == "PENDING" and r.request_id not in known | unfinished]
    names: dict[str, str] = {}
    if pending or any(b.outstanding > 0 for b in bons):
        names = {a.agent_id: a.name for a in otomax_bon.list_agents()}
    book.save_bons(bons, names, now)
    # the tickets that repaid a bon: the server's repayment list names them (the report shows them so)
    book.save_bon_tickets([p for p in otomax_bon.bon_payments() if p.ticket_id], now)
    plan = decide_bon(pending, bons, limits_for(names, config["bon_limit"], bon_limits(config)), known | unfinished)
    logger.info("{} bon requests read ({} to decide, {} agents owe a bon)", len(requests), len(plan),
                len(open_bons_by_agent(bons)))
    asked = {r.request_id: r.requested_at for r in pending}
    for decision in plan:
        code = desk.carry_out(decision, asked[decision.request_id])
        if code is not None:
            counts[code] += 1
            logger.info("bon {} ({} {}): {} — {}", decision.request_id, decision.agent_id, rupiah(decision.amount),
                        code, decision.reason if code == decision.code else "see the store")
    if counts[BON_GRANTED]:  # the bons just granted, for the Bon sheet
        book.save_bons(otomax_bon.bons(), names, now)
    return counts


def bon_limits(config) -> dict[str, int]:
    """`bon_limits` ["AG001:2000000", …] → {"AG001": 2000000} (checked by options())."""
    found = {}
    for entry in config["bon_limits"]:
        agent, _, amount = entry.partition(":")
        found[agent.strip()] = int(amount.strip())
    return found


__all__ = ["BonDesk", "grant_once", "settle_bon_requests", "bon_key", "bon_marker", "open_amounts", "REFUSED"]
