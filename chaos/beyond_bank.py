"""Issue 16 in the reconcile campaign: deposits through the payment gateway, and Bon / TOP requests.

A scenario may add, from a random stream of its own (so every draw the older families make for
a seed stays as it was):

- gateway: a deposit request paid at the gateway (PAID or SETTLED: credited once); a request
  whose payment is still PENDING (never credited); a payment whose reference no request has
  (to finance); the same request paid a second time (to finance);
- Bon / TOP: a request from an agent who owes nothing, within `bon_limit` (granted once); a
  request from an agent who owes a bon the bot granted, or over the limit (waits for the
  supervisor).

`problems` says what must hold beside the world-only invariants (chaos/gateway_checks.py,
chaos/bon_checks.py): every payment that must credit is credited, and every eligible request
granted, unless its act waits for a person (refused by the server, or in doubt); no other
payment is credited by the bot, no other request granted.
"""

from __future__ import annotations

import random

from bots.reconcile.gateway import payment_marker

#: `bon_limit`'s default (bots/reconcile_payments.py): the campaign's config keeps it
BON_LIMIT = 1_000_000
CHANNELS = ("VA_BCA", "VA_BNI", "VA_MANDIRI", "ALFAMART", "INDOMARET", "QRIS")
#: what the store says of an act that waits for a person
WAITS = {"gateway": ("GATEWAY_CREDIT_REFUSED", "GATEWAY_IN_DOUBT"), "bon": ("BON_GRANT_REFUSED",)}


class BeyondBank:
    """The gateway payments and bon requests one reconcile campaign made, and what each must become."""

    def __init__(self, agents: dict[str, int], seed: str):
        self.rng = random.Random(f"{seed}:beyond-bank")
        self.agents = sorted(agents)
        self.numbers = {"payment": 0, "request": 0, "bon": 0}
        self.must_credit: dict[str, tuple[str, int]] = {}   # payment id -> (agent, amount)
        self.never: set[str] = set()                        # payment ids the bot must not credit
        self.must_grant: dict[str, tuple[str, int]] = {}    # bon request -> (agent, amount)
        self.over_limit: set[str] = set()                   # bon requests the bot must never grant
        self.owes: set[str] = set()                         # agents a bon is granted to (never repaid here)

    def _next(self, kind: str, prefix: str) -> str:
        self.numbers[kind] += 1
        return f"{prefix}{self.numbers[kind]:05d}"

    def inject(self, world) -> int:
        """This scenario's gateway payments and bon requests, added to the running world; how many."""
        rng, requests, payments, bons = self.rng, [], [], []
        if rng.random() < 0.5:
            requests, payments = self._gateway(rng)
        if rng.random() < 0.4:
            bons = self._bons(rng)
        for table, rows in (("deposit_requests", requests), ("gateway_payments", payments), ("bon_requests", bons)):
            if rows:
                world.add(table, rows)
        return len(payments) + len(bons)

    def _request(self, rng, amount: int, channel: str) -> dict:
        return {"reference": self._next("request", "CHVR-"), "agent_id": rng.choice(self.agents), "amount": amount,
                "channel": channel, "created_at": f"-{rng.randint(10, 60)}m", "expires_at": "+1d", "status": "OPEN"}

    def _payment(self, rng, request: dict | None, amount: int, channel: str, status: str) -> dict:
        paid = status in ("PAID", "SETTLED")
        return {"payment_id": self._next("payment", "CHPG-"),
                "reference": request["reference"] if request else f"CHVR-X{rng.randrange(10**6):06d}",
                "channel": channel, "amount": amount, "fee": rng.choice([2100, 4000, 5000]), "status": status,
                "created_at": f"-{rng.randint(6, 9)}m", "paid_at": f"-{rng.randint(1, 5)}m" if paid else "",
                "settled_at": "-30s" if status == "SETTLED" else ""}

    def _gateway(self, rng) -> tuple[list[dict], list[dict]]:
        requests, payments = [], []
        for _ in range(rng.randint(1, 3)):
            channel, amount = rng.choice(CHANNELS), 1000 * rng.randint(50, 900)
            kind = rng.choices(["paid", "pending", "unknown", "twice"], [55, 20, 15, 10])[0]
            request = None if kind == "unknown" else self._request(rng, amount, channel)
            if request:
                requests.append(request)
            status = "PENDING" if kind == "pending" else rng.choice(["PAID", "SETTLED"])
            payment = self._payment(rng, request, amount, channel, status)
            payments.append(payment)
            if kind in ("paid", "twice"):
                self.must_credit[payment["payment_id"]] = (request["agent_id"], amount)
            else:
                self.never.add(payment["payment_id"])
            if kind == "twice":  # the agent paid the same request again: the second goes to finance
                again = self._payment(rng, request, amount, channel, "PAID")
                again["created_at"], again["paid_at"] = "-40s", "-20s"
                payments.append(again)
                self.never.add(again["payment_id"])
        return requests, payments

    def _bons(self, rng) -> list[dict]:
        rows = []
        for agent in rng.sample(self.agents, rng.randint(1, 2)):
            over = rng.random() < 0.2
            amount = (BON_LIMIT + 1000 * rng.randint(1, 500)) if over else 1000 * rng.randint(100, 1000)
            request = self._next("bon", "CHBR-")
            rows.append({"request_id": request, "agent_id": agent, "amount": amount,
                         "requested_at": f"-{rng.randint(1, 9)}m", "status": "PENDING"})
            if over:
                self.over_limit.add(request)
            elif agent not in self.owes:
                self.must_grant[request] = (agent, amount)
                self.owes.add(agent)
            # else: the agent owes the bon asked before; granted only if that one was not
            # (a refused grant), which chaos/bon_checks.py's "granted while open" judges
        return rows

    def granted(self, state: dict) -> dict[str, int]:
        """agent -> rupiah the world's bon grants credited (for the campaign's expected balances)."""
        out: dict[str, int] = {}
        for row in state.get("balance_log", []):
            if row.get("kind") == "bon":
                out[row["agent_id"]] = out.get(row["agent_id"], 0) + int(row["amount"])
        return out

    def problems(self, state: dict, parked: dict[str, str], query) -> list[str]:
        """What the bot did with this campaign's payments and requests, against what each must become."""
        credited = {row["note"].split(" ", 1)[0] for row in state.get("balance_log", [])
                    if (row.get("note") or "").startswith("BOT:V-")}
        requests = {r["request_id"]: r["status"] for r in state.get("bon_requests", [])}
        waiting = _waiting(query)
        problems = []
        missing = sorted(p for p in self.must_credit if payment_marker(p) not in credited
                         and f"gateway:{p}" not in parked and waiting.get(p) not in WAITS["gateway"])
        wrong = sorted(p for p in self.never if payment_marker(p) in credited)
        if missing or wrong:
            problems.append(f"gateway payments: not credited {missing}, credited though they must not be {wrong}")
        not_granted = sorted(r for r in self.must_grant if requests.get(r) != "GRANTED"
                             and f"bon:{r}" not in parked and waiting.get(r) not in WAITS["bon"])
        granted = sorted(r for r in self.over_limit if requests.get(r) == "GRANTED")
        if not_granted or granted:
            problems.append(f"bon requests: eligible not granted {not_granted}, granted over the limit {granted}")
        return problems


def _waiting(query) -> dict[str, str]:
    """payment id or bon request -> the code the store gave it (a store not made yet: nothing)."""
    found: dict[str, str] = {}
    for sql in ("select payment_id, code from gateway_payments", "select request_id, code from bon_requests"):
        try:
            found.update({key: code for key, code in query(sql)})
        except Exception:  # noqa: BLE001 - a store not migrated yet, or lost this scenario
            continue
    return found
