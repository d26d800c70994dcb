"""One exactly-once path for every side effect (DESIGN §5): key, portal check, act, verify.

Approving a ticket, a manual balance add, a complaint, a refund request, a notification and
an activation batch all go through `Journal.once`, and nothing else acts on a portal:

    claim the key (intent, owned by this run with a lease; a row a live run owns is left alone)
      → check the portal: already there?            yes → done (found: a rebuild, another host)
      → fence: do we still hold the run lock and the row?   no → LockLost, nothing acted on
      → in flight → act ──────── refused by the portal → refused (a person takes the item)
                         └────── answer lost → check again: there → done; not there → failed
      → verify at the portal    not shown → in doubt (never acted on again by a bot)
      → done

A row whose outcome cannot be read back (a check that cannot see, after an act whose answer
was lost) is **in doubt**: `python -m bots doubts list|decide` puts a person on it, and their
decision is journaled like a bot's step. The portal, not our memory, says what happened:
every new intent is checked there first, so a new, restored or lost store, or a second host,
finds the earlier act and does not repeat it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loguru import logger

from bots.crashpoints import NEVER, CrashPoints
from bots.errors import ActionRefused, PortalUnavailable, SessionExpired
from bots.store import Action, Owner, Store

__all__ = ["Effect", "Journal", "Settled", "Unreadable"]

#: How long a run owns a row it claimed without renewing it (a run acts in seconds).
DEFAULT_LEASE = timedelta(minutes=10)
#: A session that ends just before the form is taken: check again and retry, this many times.
_SESSION_RETRIES = 3


@dataclass(frozen=True)
class Unreadable:
    """The portal cannot tell whether the act happened (no inbox to read, a log that hides it)."""

    why: str


#: What a check returns: the portal shows the act (a dict saying how), it does not (None), or
#: it cannot tell (Unreadable).
Seen = dict[str, Any] | None | Unreadable


@dataclass
class Effect:
    """One side effect, as the journal needs it.

    `check(fresh)` reads the portal (fresh: no cached read, after an unknown outcome);
    `act()` does it once and returns what the portal answered, raising ActionRefused when
    the portal says no and PortalUnavailable when the answer is lost; `verify(answer)` reads
    it back after the act (None: the act's own confirmation page is the proof). `point`
    names the crash points (`<point>:after_in_flight`, …) the kill tests use.
    """

    key: str
    kind: str
    payload: dict[str, Any]
    check: Callable[[bool], Seen]
    act: Callable[[], dict[str, Any]]
    verify: Callable[[dict[str, Any]], Seen] | None = None
    marker: str | None = None
    point: str = ""
    act_point: str = "after_act"


@dataclass(frozen=True)
class Settled:
    """How one effect ended for this run: done, refused, in_doubt, or busy (a live run owns it)."""

    state: str
    action: Action
    how: str = ""
    found: bool = False  # done because the portal already showed it (not acted on by us)
    words: str = ""      # the portal's refusal, or why it is in doubt, or who holds it

    @property
    def done(self) -> bool:
        return self.state == "done"


@dataclass
class Journal:
    """The exactly-once executor of one run."""

    store: Store
    bot: str
    run_id: str
    now: Callable[[], datetime]
    fence: Callable[[], None] = lambda: None
    crash: CrashPoints = NEVER
    lease: timedelta = DEFAULT_LEASE
    actor: str | None = None   # who the audit trail names (`person:<login>` for a person's act); None: the run
    found: int = 0        # effects found already done at the portal (a rebuild says how many)
    refused: list[Settled] = field(default_factory=list)
    doubts: list[Settled] = field(default_factory=list)

    @property
    def owner(self) -> Owner:
        return Owner.this_process(self.run_id)

    def once(self, effect: Effect) -> Settled:
        """Carry `effect` out exactly once; see the module's docstring for the protocol."""
        claim = self.store.claim(effect.key, self.bot, effect.kind, effect.payload, self.owner, self.now(),
                                 self.lease, effect.marker, actor=self.actor)
        action = claim.action
        if claim.held_by is not None:
            logger.warning("{} is being handled by {}; leaving it to that run", effect.key, claim.held_by)
            return Settled("busy", action, words=f"owned by {claim.held_by}")
        if action.state in ("done", "refused", "in_doubt"):
            return Settled(action.state, action, how=(action.result or {}).get("how", ""), words=action.error or "")
        self._point(effect, "after_intent")
        for _attempt in range(_SESSION_RETRIES):
            try:
                seen = effect.check(action.state in ("in_flight", "failed"))
            except ActionRefused as refusal:  # what the portal shows rules the act out
                return self._refuse(effect, refusal.words)
            if isinstance(seen, dict):
                return self._found(effect, action, seen)
            if isinstance(seen, Unreadable) and action.state == "in_flight":
                return self._doubt(effect, f"an earlier attempt's outcome cannot be read back: {seen.why}")
            self.fence()
            action = self.store.mark_in_flight(effect.key, self.now(), self.owner, actor=self.actor)
            self._point(effect, "after_in_flight")
            try:
                answer = effect.act()
            except ActionRefused as refusal:
                return self._refuse(effect, refusal.words)
            except SessionExpired:
                logger.info("session ended before {} was sent; checking again", effect.key)
                continue
            except PortalUnavailable as lost:
                return self._after_lost_answer(effect, lost)
            self._point(effect, effect.act_point)
            if effect.verify is not None:
                shown = effect.verify(answer)
                if not isinstance(shown, dict):
                    why = shown.why if isinstance(shown, Unreadable) else "the portal does not show it"
                    return self._doubt(effect, f"the portal accepted it but {why}")
                answer = {**answer, **shown}
            done = self.store.mark_done(effect.key, answer, self.now(), self.owner, actor=self.actor)
            self._point(effect, "after_done")
            return Settled("done", done, how=answer.get("how", "done"))
        raise PortalUnavailable(effect.kind, f"{effect.key}: the session kept ending before the form was taken")

    # -- endings ----------------------------------------------------------------------------------
    def _found(self, effect: Effect, action: Action | None, seen: dict[str, Any]) -> Settled:
        how = seen.get("how", "found at the portal")
        done = self.store.mark_done(effect.key, {**seen, "how": how}, self.now(), self.owner, actor=self.actor)
        self._point(effect, "after_done")
        if action is not None and action.state == "intent" and action.attempts == 0:
            self.found += 1
            logger.info("{} was already done at the portal ({}): recorded, not repeated", effect.key, how)
        return Settled("done", done, how=how, found=True)

    def _refuse(self, effect: Effect, words: str) -> Settled:
        logger.warning("{} refused by the portal: {}", effect.key, words)
        settled = Settled("refused", self.store.mark_refused(effect.key, words, self.now(), self.owner, actor=self.actor),
                          words=words)
        self.refused.append(settled)
        return settled

    def _doubt(self, effect: Effect, why: str) -> Settled:
        logger.error("{} is in doubt: {} (a person decides: python -m bots doubts list)", effect.key, why)
        settled = Settled("in_doubt", self.store.mark_in_doubt(effect.key, why, self.now(), self.owner, actor=self.actor),
                          words=why)
        self.doubts.append(settled)
        return settled

    def _after_lost_answer(self, effect: Effect, lost: PortalUnavailable) -> Settled:
        logger.warning("{} has an unknown outcome ({}); reading the portal", effect.key, lost)
        seen = effect.check(True)  # if this read fails too, the row stays in flight: the next run checks
        if isinstance(seen, dict):
            return self._found(effect, self.store.get_action(effect.key), {**seen, "how": "verified after a lost answer"})
        if isinstance(seen, Unreadable):
            return self._doubt(effect, f"the answer was lost and {seen.why}")
        self.store.mark_failed(effect.key, f"not done (the portal shows nothing): {lost}", self.now(), self.owner,
                               actor=self.actor)
        raise lost

    def _point(self, effect: Effect, name: str) -> None:
        if effect.point:
            self.crash(f"{effect.point}:{name}")
