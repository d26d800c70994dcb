"""Invariants of the procedures as written (issue 13), beside the campaigns' own checks.

- complaints: no follow-up of a "product not received" case sooner than `followup_every` after
  the previous complaint for that transaction; a hard one only past 1×24 h;
- eSIM: every rupiah received for a closed order, or for an invalid one a person confirmed,
  refunded exactly once (or waiting for a person: a journal row refused / in doubt); no refund
  at all for any other order — none without a Dukcapil or ISMARA reason and a confirmation,
  none for a form or a device.

Each check takes what the campaign decided when it made the work (never read back from the
bot) and the world's `/__mock/state`, and returns the problems found.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

FOLLOWUP_EVERY = timedelta(minutes=30)
PNR_HARD_AFTER = timedelta(hours=24)


def _at(moment) -> datetime:
    return moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)


def pnr_followups(state: dict, pnr_cases: set[str], every: timedelta = FOLLOWUP_EVERY) -> list[str]:
    """Complaints on PNR cases: at least `every` apart, the hard one only past 24 h."""
    created = {t["trx_id"]: _at(t["created_at"]) for t in state["transactions"]}
    by_trx: dict[str, list] = defaultdict(list)
    for c in state["complaints"]:
        if c["trx_id"] in pnr_cases:
            by_trx[c["trx_id"]].append(c)
    problems = []
    for trx, sent in sorted(by_trx.items()):
        sent.sort(key=lambda c: _at(c["created_at"]))
        for before, after in zip(sent, sent[1:]):
            gap = _at(after["created_at"]) - _at(before["created_at"])
            if after["level"] == "normal" and gap < every:
                problems.append(f"{trx}: a follow-up {gap} after the previous complaint (less than {every})")
        hard = [c for c in sent if c["level"] == "hard"]
        if len(hard) > 1:
            problems.append(f"{trx}: {len(hard)} hard complaints for one 'product not received' case")
        for c in hard:
            if _at(c["created_at"]) - created[trx] <= PNR_HARD_AFTER:
                problems.append(f"{trx}: hard complaint at {_at(c['created_at']) - created[trx]} old (≤ 24 h)")
    return problems


def esim_refunds(state: dict, parked: dict[str, str], automatic: set[str], to_confirm: set[str],
                 confirmed: set[str], mine: str = "CH-", waiting: set[str] = frozenset()) -> list[str]:
    """Refunds at the aggregator against what the procedure allows.

    `automatic`: orders closed unpaid with money in (refunded without a person);
    `to_confirm`: orders with invalid Dukcapil data or ISMARA arrears; `confirmed`: those of them
    a person confirmed (`python -m bots esim confirm-refund`, exit 0); `waiting`: orders the store
    shows waiting for a confirmation (a store lost with the person's confirmation in it: the
    order is before a person again, in the status workbook)."""
    paid: Counter = Counter()
    for p in state.get("esim_payments", []):
        paid[p["order_id"]] += int(p["amount"])
    asked: Counter = Counter()
    references = Counter(r["reference"] for r in state["refund_requests"])
    for r in state["refund_requests"]:
        asked[r["order_id"]] += int(r["amount"])
    problems = []
    twice = sorted(ref for ref, n in references.items() if n > 1)
    if twice:
        problems.append(f"refund reference sent twice: {twice}")
    allowed = automatic | (to_confirm & confirmed)
    for order in sorted(o for o in asked if o.startswith(mine)):
        if order not in allowed:
            why = "waiting for a person's confirmation" if order in to_confirm else \
                "no Dukcapil or ISMARA reason, not closed unpaid"
            problems.append(f"{order}: refunded {asked[order]} without the procedure allowing it ({why})")
        elif asked[order] > paid[order]:
            problems.append(f"{order}: refunded {asked[order]}, more than the {paid[order]} received")
    for order in sorted(allowed):
        waits = order in waiting or any(k == f"refund:{order}" or k.startswith(f"refund:{order}:") for k in parked) \
            or any(order in f"{m.get('title', '')} {m.get('body', '')}" and "REFUND-DITOLAK" in m.get("title", "")
                   for m in state.get("helpdesk_messages", []))
        if paid[order] and asked[order] < paid[order] and not waits:
            problems.append(f"{order}: received {paid[order]}, refunded only {asked[order]} (and nothing waits "
                            "for a person)")
    return problems


# -- the work these checks need, drawn from streams of their own (the classic draws stay) --------

def pnr_case(count: int) -> tuple[dict, dict, dict] | None:
    """Now and then a SUKSES transaction an agent reports "product not received": (transaction,
    supplier behaviour, agent complaint) rows, or None."""
    import random

    rng = random.Random(f"pnr:{count}")
    if rng.random() >= 0.4:
        return None
    trx = f"CP{count:05d}"
    transaction = {"trx_id": trx, "agent_id": f"AG{rng.randint(1, 10):03d}", "product": "S10",
                   "destination": f"0812{rng.randrange(10**8):08d}", "price": 10250,
                   "supplier": rng.choice(["mitra", "sinar"]),
                   "created_at": f"-{rng.randint(10 * 60, 6 * 3600) if rng.random() < 0.75 else rng.randint(24, 40) * 3600}s",
                   "status": "SUKSES", "sn": f"01447{rng.randrange(10**11):011d}"}
    answers = rng.choice(["never", "never", "complaint"])  # the supplier sends the SN again, or never answers
    behaviour = {"trx_id": trx, "resolves_after": answers, "final_status": "SUKSES" if answers != "never" else "",
                 "sn": ""}
    report = {"complaint_id": f"KP{count:05d}", "trx_id": trx, "reported_at": "now",
              "kind": "PRODUCT_NOT_RECEIVED", "note": "produk belum masuk (chaos)"}
    return transaction, behaviour, report


def procedure_late_payment(count: int, submitted: str) -> dict | None:
    """An order closed at 72 h that still got money: the upfront alone in time, or all of it after
    the close (a payment row), or None (nothing came)."""
    import random

    rng = random.Random(f"late:{count}")
    hours = int(submitted.strip("-h"))
    kind = rng.choice(["none", "part", "after"])
    if kind == "part":
        return {"amount": 150000, "paid_at": f"-{hours - 1}h", "channel": "QRIS"}
    if kind == "after":
        return {"amount": 175000, "paid_at": "-20m", "channel": "QRIS"}
    return None


def confirm_step(campaign, rng, env: dict, number: int, tally) -> list[str]:
    """A person confirms, for about half the orders waiting for it, the refund with the customer:
    `python -m bots esim confirm-refund ORDER --note … --by chaos` (exit 0 expected)."""
    from chaos.harness import run_cli

    # waiting: never confirmed, or confirmed in a store since lost (the order is before a person again)
    waiting = sorted((campaign.refunded - campaign.confirmed) | (waiting_for_confirmation(campaign) & campaign.refunded))
    chosen = [o for o in waiting if rng.random() < 0.5][:3]
    problems = []
    for order in chosen:
        run = run_cli(["esim", "confirm-refund", order, "--note", "pelanggan setuju (chaos)", "--by", "chaos"], env)
        tally.events["refund confirmations by a person"] += 1
        if run.code == 0:
            campaign.confirmed.add(order)
        elif run.code != 2:  # 2: not waiting for a confirmation (yet): a person tries again later
            problems.append(f"{order}: confirm-refund exited {run.code}: {run.tail[-400:]}")
    return problems


def waiting_for_confirmation(campaign) -> set[str]:
    """Orders the store shows waiting for a person to confirm their refund."""
    from chaos.campaigns import StoreError

    try:
        rows = campaign.query("select order_id from esim_orders where refund_confirmed_at is null and not final "
                              "and code in ('INVALID_NIK_FORMAT', 'INVALID_NIK_REGION', 'INVALID_NIK_BIRTHDATE', "
                              "'INVALID_KK_FORMAT', 'NIK_NOT_IN_DUKCAPIL', 'KK_MISMATCH', 'ISMARA_ARREARS')")
    except StoreError:
        return set()
    return {order for (order,) in rows}
