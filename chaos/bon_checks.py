"""Bon / TOP invariants, from the world's own state (GET /__mock/state) after a campaign.

- no request granted twice: one `bon` credit in the balance log and one bon on the books per
  request, however often a run was killed or its store lost;
- no bon granted while another of the agent's was open: at the moment a bon was granted, every
  earlier bon of the agent was repaid (its repaid then = its repaid now minus the repayments
  recorded after that moment). Requests a person granted (`by_person`) are left out: the
  supervisor may grant over an open bon on purpose.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime


def _at(text) -> datetime:
    return datetime.fromisoformat(str(text))


def granted_twice(state: dict) -> list[str]:
    credits = Counter(r.get("ticket_id") for r in state.get("balance_log", []) if r.get("kind") == "bon")
    booked = Counter(b["bon_id"] for b in state.get("bons", []))
    problems = [f"bon request {request} credited {n} times" for request, n in sorted(credits.items()) if n > 1]
    problems += [f"bon {bon} booked {n} times" for bon, n in sorted(booked.items()) if n > 1]
    granted = {r["request_id"] for r in state.get("bon_requests", []) if r.get("status") == "GRANTED"}
    problems += [f"bon request {request} credited but not GRANTED on the server"
                 for request in sorted(set(credits) - granted)]
    return problems


def granted_while_open(state: dict, by_person: set[str] = frozenset()) -> list[str]:
    bons = state.get("bons", [])
    payments = state.get("bon_payments", [])
    granted = {r["request_id"] for r in state.get("bon_requests", []) if r.get("status") == "GRANTED"} - set(by_person)
    problems = []
    for new in (b for b in bons if b["bon_id"] in granted):
        moment = _at(new["granted_at"])
        for old in bons:
            if old["agent_id"] != new["agent_id"] or old["bon_id"] == new["bon_id"] or _at(old["granted_at"]) > moment:
                continue
            later = sum(int(p["amount"]) for p in payments if p["bon_id"] == old["bon_id"] and _at(p["created_at"]) > moment)
            owed = int(old["amount"]) - (int(old.get("repaid") or 0) - later)
            if owed > 0:
                problems.append(f"bon {new['bon_id']} granted to {new['agent_id']} while {old['bon_id']} still owed "
                                f"Rp {owed}")
    return problems


def checks(state: dict, by_person: set[str] = frozenset()) -> list[str]:
    """Every Bon / TOP invariant for one world's state."""
    return granted_twice(state) + granted_while_open(state, by_person)
