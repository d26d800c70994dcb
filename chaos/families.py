"""The families of chaos scenarios: what goes wrong around one scenario's runs.

Every scenario belongs to one family, drawn from its own random stream (so a `classic`
scenario is the same for a seed whatever the mix), or forced with `--family`:

- `classic` — a random fault profile (errors ≤ 30 %, latency, commit-then-drop, session
  expiry, maintenance) on the first run and, in 90 % of scenarios, a kill -9 at a named point
  of the act protocol;
- `hosts` — two or three runs of the bot at once, each with its own VAR_DIR (another host, or
  another folder) but the campaign's DATABASE_URL; for reconcile_payments then two or three
  `python -m bots escalations resolve ID --agent A` at once for one open escalation. Every
  process must exit 0 or 4 (the lock refused it; a resolve may also say 2, "already
  resolved"), never 1, and no side effect may happen twice;
- `store_lost` — the store's SQLite file (and its -wal, -shm) deleted before the scenario: the
  runs rebuild from the portals, and the world must still show nothing twice;
- `note_limit` — the server keeps only the first 30 or 100 characters of an action's free text
  (manual balance note, complaint message, refund reason), for the whole scenario; a classic
  fault profile and kill on the first run; for reconcile_payments a resolve of an open
  escalation, killed half the time after the balance add, then run again;
- `refusals` — the action portals refuse 30 %, 50 % or all of the acts with a business answer
  (`refuse_rate`), for the whole scenario: a refused act changes nothing and its item is not
  lost (done once later, or in the store as `refused` / `in_doubt`, or an open escalation).

Six more for reconcile_payments only (issue 12, chaos/reconcile_families.py says what each does
and checks): `second_format`, `pend_reversed`, `back_dated`, `bank_down`, `outside_text`,
`clock_jump`. They are drawn in place of a `classic` draw, from a stream of their own, so every
scenario the five families above drew for a seed is drawn the same. `bank_rec_all` plays the six
in one scenario (only with `--family`: the short form in `make test`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: name → (weight in the campaign mix, what the README's table calls it)
FAMILIES = {
    "classic": (60, "faults and kill -9 (the classic scenario)"),
    "hosts": (10, "two or three processes on one store, different VAR_DIRs"),
    "store_lost": (10, "the store deleted mid-campaign"),
    "note_limit": (10, "a server that truncates notes"),
    "refusals": (10, "a server that refuses actions"),
    # reconcile_payments only, each 5 % of its mix (taken from classic's 60 %)
    "second_format": (5, "the same day through a second export (KlikBCA Bisnis, or a file passed by hand)"),
    "pend_reversed": (5, "a PEND line credited, then gone from the next download"),
    "back_dated": (5, "a line posted two or more days back, after a run"),
    "bank_down": (5, "one bank in maintenance for a run"),
    "outside_text": (5, "control characters and a leading = + - @ in descriptions"),
    "clock_jump": (5, "a run whose clock is far from the banks'"),
}
#: all six in one scenario: the short form `make test` runs (never drawn in the mix)
FAMILIES["bank_rec_all"] = (0, "all six of the bank reconciliation's families in one scenario")
RECONCILE_ONLY = ("second_format", "pend_reversed", "back_dated", "bank_down", "outside_text", "clock_jump")
NOTE_LIMITS = (30, 100)
REFUSE_RATES = (0.3, 0.5, 1.0)


def pick_family(seed: int, bot: str, number: int) -> str:
    """The scenario's family: the five shared ones drawn as before; for reconcile_payments a
    `classic` draw may then become one of its own families (a second stream, so no other draw moves)."""
    shared = [name for name in FAMILIES if name not in RECONCILE_ONLY and name != "bank_rec_all"]
    rng = random.Random(f"{seed}:{bot}:{number}:family")
    family = rng.choices(shared, [FAMILIES[name][0] for name in shared])[0]
    if family != "classic" or bot != "reconcile_payments":
        return family
    own = random.Random(f"{seed}:{bot}:{number}:bank-reconciliation")
    classic = FAMILIES["classic"][0] - sum(FAMILIES[name][0] for name in RECONCILE_ONLY)
    return own.choices(["classic", *RECONCILE_ONLY], [classic] + [FAMILIES[n][0] for n in RECONCILE_ONLY])[0]


@dataclass
class Plan:
    """What a scenario does beside adding work: faults for the first run and for the reruns."""
    family: str
    first: dict = field(default_factory=dict)     # POST /__mock/faults before the first run(s)
    steady: dict = field(default_factory=dict)    # the server's lasting quirk, kept for the reruns
    processes: int = 1                            # runs started together (hosts)
    forget_store: bool = False
    resolve: str | None = None                    # reconcile only: "together" or "once"


def plan_for(family: str, rng: random.Random, action_portals: tuple[str, ...], bot: str) -> Plan:
    """The family's faults; drawn after the classic draws, so those stay as they were."""
    plan = Plan(family)
    if family == "hosts":
        plan.first = {"latency_ms": rng.choice([0, 20, 50]), "seed": rng.randrange(1 << 30)}
        plan.processes = rng.choice([2, 3])
        plan.resolve = "together" if bot == "reconcile_payments" else None
    elif family == "store_lost":
        plan.forget_store = True
    elif family == "note_limit":
        plan.steady = {"note_limit": rng.choice(NOTE_LIMITS)}
        plan.resolve = "once" if bot == "reconcile_payments" else None
    elif family == "refusals":
        plan.steady = {"refuse_rate": rng.choice(REFUSE_RATES), "portals": list(action_portals),
                       "seed": rng.randrange(1 << 30)}
        plan.resolve = "once" if bot == "reconcile_payments" and rng.random() < 0.5 else None
    if bot == "esim_activation_queue":  # a person confirms refunds after the runs (no draw: streams unchanged)
        plan.resolve = "confirm"
    return plan


def uses_classic_faults(family: str) -> bool:
    """Families whose first run also gets the classic random profile and kill."""
    return family in ("classic", "store_lost", "note_limit")
