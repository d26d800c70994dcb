"""Issue 16's invariant for VA / retail deposits, from the world alone (GET /__mock/state).

No gateway payment is credited twice, nor while the gateway does not show it paid: every
manual add whose note starts with a gateway marker (`BOT:V-`, bots/reconcile/gateway.py)
names exactly one payment, at most once, that is PAID or SETTLED and was paid before the add.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bots.reconcile.gateway import PAID_STATUSES, payment_marker

PREFIX = "BOT:V-"


def _at(text) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def gateway_credits(state: dict) -> list[str]:
    """Problems with the gateway credits in the world's balance log (none: the invariant holds)."""
    payments = {payment_marker(p["payment_id"]): p for p in state.get("gateway_payments", [])}
    adds = Counter()
    problems = []
    for entry in state.get("balance_log", []):
        note = entry.get("note") or ""
        if not note.startswith(PREFIX):
            continue
        marker = note.split(" ", 1)[0]
        adds[marker] += 1
        payment = payments.get(marker)
        if payment is None:
            problems.append(f"a gateway credit {marker} to {entry.get('agent_id')} names no gateway payment")
        elif payment["status"] not in PAID_STATUSES:
            problems.append(f"gateway payment {payment['payment_id']} credited while {payment['status']}")
        elif _at(payment.get("paid_at")) and _at(entry.get("created_at")) < _at(payment["paid_at"]):
            problems.append(f"gateway payment {payment['payment_id']} credited before it was paid")
    problems += [f"gateway payment {payments[m]['payment_id'] if m in payments else m} credited {n} times"
                 for m, n in sorted(adds.items()) if n > 1]
    return problems
