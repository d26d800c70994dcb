"""Chaos of issue 12 for reconcile_payments: six families and the bank reconciliation's checks.

The families (drawn in chaos/families.py; each scenario first adds the classic work):

- `second_format` — the day's statement of every account passed by hand (`--statement`) in a
  second export: KlikBCA Bisnis for BCA, named as KlikBCA names its download (the account comes
  from the name), the bank's own format for the others; before the download run or after it;
- `pend_reversed` — a BCA statement passed by hand shows a `PEND` credit that pays a new ticket;
  the bank never books it, so the next download no longer shows it (a BCA account is opened in
  the world first when the campaign has none);
- `back_dated` — after the runs are quiet, a line posted 2, 3 or 6 days back appears; run again;
- `bank_down` — one of the campaign's banks shows its maintenance page for the first run, which
  must exit 3 naming it with the other bank's exact matches credited; the reruns recover;
- `outside_text` — transfers (one paying a ticket) whose descriptions hold control characters,
  a leading `=`, `+`, `-` or `@`, and markup;
- `clock_jump` — a run whose clock is hours or days from the banks' (BOTS_NOW moved) must exit 2
  naming both times and act on nothing; the runs with the right clock then recover.

The checks (ReconcileCampaign.check calls `checks`, each also a function a test feeds a broken case):

- every account's day the bank stated balances for ties out (opening + credits − debits =
  closing, from the store's posted, unreversed lines), or has an open STATEMENT_GAP;
- no workbook cell holds a formula made from outside text; no notification carries raw markup
  or a raw control character from a description;
- every rupiah received is credited at most once: per account and amount, no more ticket
  credits than transfers the bank booked, per amount no more credits with the hand ones; a
  ticket on one statement line only;
- a rupiah never received (a reversed PEND) is never credited without an escalation
  PENDING_REVERSED, open or closed by a person, that names the credit; every such line is
  found reversed;
- a back-dated line is in the store on its own day;
- per family: `bank_down` — the first run exits 3 naming the bank and the healthy bank's exact
  matches are credited by it; `clock_jump` — the jumped run exits 2 and nothing moved, in the
  world or the store.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from chaos.bon_checks import checks as bon_checks
from chaos.gateway_checks import gateway_credits
from mock_portals.exports import write_statement
from mock_portals.portals.bank import EXPORTS, ledger, period

#: descriptions a bank passes on as the sender typed them (control characters included)
OUTSIDE_TEXT = ('=HYPERLINK("http://evil.example","klik") BUDI', "=cmd|' /C calc'!A0 KONTER", "+62 812 SETOR",
                "-2+3 PULSA", "@SUM(1) CELL", "KONTER\x07BEL\x1b[31m <script>alert(1)</script>",
                "TAB\x0bVT\x08BS\x1fUS <b>TEBAL</b>")
CLOCK_JUMPS = (timedelta(days=400), timedelta(days=-3), timedelta(days=1), timedelta(hours=-2),
               timedelta(minutes=45), timedelta(minutes=-25))
#: days back a late line is posted: within the rolling window (overlap_days = 3) on any bank; past
#: it only where every line carries the bank's running balance (Mandiri, BRI), so the tie-out can
#: see it: BNI and KlikBCA Bisnis state none, and a KlikBCA account whose lines are all still PEND
#: has none stated yet (the tie-out's limit, README "Reliability")
BACK_DAYS = {"mandiri": (2, 2, 3, 6, 6), "bri": (2, 2, 3, 6, 6), "bca": (2, 2, 3), "bni": (2, 2, 3)}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: what the clock-jump run must leave as it was: the world's acts and the store's memory
_WORLD_ACTS = ("balance_log", "helpdesk_messages")
_STORE_TABLES = ("statement_lines", "escalations", "statement_coverage", "statement_days", "actions",
                 "statement_files")


# -- the families' steps (ReconcileCampaign.before_runs / after_first / after_quiet) ------------

def steps(family: str) -> set[str]:
    """The families whose steps a scenario plays: its own, or all six (`bank_rec_all`, the short form)."""
    from chaos.families import RECONCILE_ONLY

    return set(RECONCILE_ONLY) if family == "bank_rec_all" else {family}


def before_runs(campaign, plan, rng, env: dict, tally) -> list[str]:
    """The family's steps before the scenario's first run; may give the first run its faults."""
    playing, problems = steps(plan.family), []
    if "clock_jump" in playing:  # first: the jumped run must find nothing acted on to undo
        problems += clock_jump(campaign, rng, env, tally)
    if "outside_text" in playing:
        outside_text(campaign, rng)
    campaign.hand_order = rng.choice(["before", "after"]) if playing == {"second_format"} else "before"
    extra = pend_reversed(campaign, rng, tally) if "pend_reversed" in playing else ()
    if "second_format" in playing and campaign.hand_order == "before":
        banks = sorted(set(campaign.banks) | ({"bca"} if extra else set()))
        problems += hand_run(campaign, rng, env, tally, extra=extra, banks=banks)
    elif extra:
        problems += hand_run(campaign, rng, env, tally, extra=extra, banks=["bca"])
    if "bank_down" in playing:
        campaign.down = rng.choice(campaign.banks)
        plan.first = {"maintenance": True, "portals": [f"bank_{campaign.down}"]}
    return problems


def after_first(campaign, plan, first, rng, tally) -> list[str]:
    playing = steps(plan.family)
    if "bank_down" not in playing:
        return []
    if "back_dated" in playing:  # all six at once: the late line comes after the run with a bank down
        post_back_dated(campaign, rng, tally)
    return bank_down_problems(first.code, first.tail, f"bank_{campaign.down}", campaign.world.state(),
                              {t: campaign.accounts[b] for t, b in campaign.scenario_matches.items()
                               if b != campaign.down})


def after_quiet(campaign, plan, rng, env: dict, tally, problems: list[str]) -> bool:
    """Steps once the runs are quiet; True when they added work the bot must run over again."""
    playing = steps(plan.family)
    if "second_format" in playing and campaign.hand_order == "after":
        problems += hand_run(campaign, rng, env, tally)
        return True  # and the bank's own download after it: still one line each
    if playing == {"back_dated"}:
        post_back_dated(campaign, rng, tally)
        return True
    return False


def post_back_dated(campaign, rng, tally) -> None:
    """A line the bank posts days back, after the bot has read those days."""
    bank = rng.choice(campaign.banks)
    moment = datetime.fromisoformat(campaign.world.now()) - timedelta(days=rng.choice(BACK_DAYS[bank]))
    amount = 50_000_000 + rng.randint(1, 10**6)
    campaign.world.add("mutations", [{**campaign._transfer(bank, amount, rng), "posted_at": moment.isoformat()}])
    campaign.back_dated.append((campaign.accounts[bank], amount, moment.date().isoformat()))
    tally.events["back-dated postings"] += 1


def hand_run(campaign, rng, env: dict, tally, *, extra: tuple = (), banks=None) -> list[str]:
    """`run reconcile_payments --statement …`: today's (or yesterday's and today's) statement of
    each account in a second export, as a person downloads it; it must end 0."""
    now = datetime.fromisoformat(campaign.world.now())
    start = now.date() - timedelta(days=rng.choice([0, 1]))
    files = [statement_file(campaign, bank, second_format(bank, rng), start, now.date(), extra)
             for bank in banks or campaign.banks]
    from chaos.harness import run_cli

    args = ["run", campaign.bot] + [arg for path in files for arg in ("--statement", str(path))]
    run = run_cli(args, {**env, **campaign.run_env()})
    tally.runs[campaign.bot] += 1
    tally.events["statements passed by hand"] += len(files)
    if run.code != 0:
        return [f"the run with {', '.join(p.name for p in files)} passed by hand exited {run.code}: {run.tail[-600:]}"]
    return []


def second_format(bank: str, rng) -> str:
    """The export a person would download beside the bot's: KlikBCA Bisnis for BCA, else the bank's own."""
    formats = [fmt for fmt, _ in EXPORTS[bank]]
    return formats[1] if len(formats) > 1 and rng.random() < 0.8 else formats[0]


def statement_file(campaign, bank: str, fmt: str, start: date, end: date, extra: tuple = ()) -> Path:
    """The file the bank's portal would serve now for the account (mock_portals' own export),
    with `extra` mutations the world does not hold (a PEND line the bank will not book)."""
    state, now = campaign.world.state(), datetime.fromisoformat(campaign.world.now())
    account = next(a for a in state["bank_accounts"] if a["bank"] == bank)
    rows = [{**m, "posted_at": datetime.fromisoformat(m["posted_at"]), "amount": int(m["amount"])}
            for m in state["mutations"]] + list(extra)
    opening, lines = period(ledger(account, rows, now), account, start, end)
    name, data = write_statement(fmt, {**account, "opening_balance": opening}, lines, start, end, now)
    folder = campaign.folder / "statements" / f"{campaign.tickets:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def pend_reversed(campaign, rng, tally) -> tuple[dict]:
    """A ticket, and the PEND line paying it that a BCA statement passed by hand will show; the
    bank never books it (the world never holds it)."""
    bca = campaign.accounts["bca"]
    if "bca" not in campaign.banks and not campaign.extra_bca:
        campaign.world.add("bank_accounts", [{"bank": "bca", "account_no": bca,
                                              "holder": "PT TRAVELPULSA NUSANTARA", "opening_balance": 50_000_000}])
        campaign.extra_bca = True
    now = datetime.fromisoformat(campaign.world.now())
    amount = campaign._amount("bca", rng)
    ticket = campaign._ticket(rng, "bca", amount)
    campaign.world.add("tickets", [ticket])
    campaign.never_received[ticket["ticket_id"]] = (ticket["agent_id"], amount)
    campaign.never_booked[(bca, amount)] += 1
    pend = {"bank": "bca", "account_no": bca, "posted_at": now - timedelta(seconds=30),
            "description": f"TRSF E-BANKING CR {now:%d%m}/FTSCY/WS95051 {amount}.00 TIDAK JADI",
            "amount": amount, "direction": "CR"}
    tally.events["PEND lines reversed"] += 1
    return (pend,)


def outside_text(campaign, rng) -> None:
    """Transfers whose descriptions are hostile text; the first pays a new ticket exactly."""
    tickets, transfers = [], []
    for n, text in enumerate(rng.sample(OUTSIDE_TEXT, rng.randint(2, 4))):
        bank = rng.choice(campaign.banks)
        amount = campaign._amount(bank, rng)
        if n == 0:
            ticket = campaign._ticket(rng, bank, amount)
            campaign.credited[ticket["ticket_id"]] = (ticket["agent_id"], amount)
            campaign._ticket_bank[ticket["ticket_id"]] = bank
            tickets.append(ticket)
        else:
            amount += 50_000_000  # no ticket: escalated, so notified with the text in it
        transfers.append({**campaign._transfer(bank, amount, rng), "description": f"{text} {amount}"})
    campaign.world.add("tickets", tickets)
    campaign.world.add("mutations", transfers)


def clock_jump(campaign, rng, env: dict, tally) -> list[str]:
    """One run with BOTS_NOW far from the world's clock: exit 2 naming both times, nothing moved."""
    from chaos.harness import run_bot

    now = datetime.fromisoformat(campaign.world.now())
    jumped = now + rng.choice(CLOCK_JUMPS)
    before = acted(campaign)
    run = run_bot(campaign.bot, {**env, "BOTS_NOW": jumped.isoformat()})
    tally.runs[campaign.bot] += 1
    tally.events["runs with the clock off"] += 1
    return clock_jump_problems(run.code, run.tail, jumped, before, acted(campaign))


def acted(campaign) -> dict[str, object]:
    """What a run that acts on nothing leaves as it was: the world's acts, tickets, the store's rows."""
    state = campaign.world.state()
    found: dict[str, object] = {name: len(state[name]) for name in _WORLD_ACTS}
    found["tickets approved"] = sorted(t["ticket_id"] for t in state["tickets"] if t["status"] == "APPROVED")
    for table in _STORE_TABLES:
        try:
            found[table] = campaign.query(f"select count(*) from {table}")[0][0] if campaign.has_store() else 0
        except Exception:  # a store not migrated yet
            found[table] = 0
    return found


# -- the checks -----------------------------------------------------------------------------

def bank_down_problems(code: int, tail: str, key: str, state: dict, healthy: dict[str, str]) -> list[str]:
    """The run with `key` in maintenance: exit 3 naming it, and every exact match on the other
    banks (ticket → account) credited by that run."""
    problems = []
    if code != 3 or key not in tail:
        problems.append(f"{key} in maintenance: the run exited {code} (expected 3 naming {key}): {tail[-400:]}")
    credited = {r.get("ticket_id") for r in state["balance_log"]}
    missing = sorted(t for t in healthy if t not in credited)
    if missing:
        problems.append(f"{key} in maintenance: the healthy banks' exact matches were not credited: {missing}")
    return problems


def clock_jump_problems(code: int, tail: str, jumped: datetime, before: dict, after: dict) -> list[str]:
    problems = []
    if code != 2 or f"{jumped:%d/%m/%Y %H:%M}" not in tail:
        problems.append(f"a run at {jumped:%d/%m/%Y %H:%M} (the banks' clock elsewhere) exited {code}, expected 2 "
                        f"naming both times: {tail[-400:]}")
    moved = sorted(k for k in before if before[k] != after.get(k))
    if moved:
        problems.append(f"the run with its clock off acted: {', '.join(f'{k} {before[k]} → {after.get(k)}' for k in moved)}")
    return problems


def tie_out_problems(query) -> list[str]:
    """Days that neither tie out nor carry a gap: money in the store the bank does not show, or missing."""
    try:
        days = query("select bank, account_no, day, opening_balance, closing_balance, gap from statement_days")
    except Exception:  # an older store without the table: nothing to check
        return []
    problems = []
    for bank, account, day, opening, closing, gap in days:
        if opening is None or closing is None or gap is not None:
            continue
        lines = query("select amount, direction from statement_lines where bank = ? and account_no = ? and day = ? "
                      "and not pending and reversed_at is null", (bank, account, day))
        total = sum((Decimal(a) if d == "CR" else -Decimal(a) for a, d in lines), Decimal(0))
        difference = Decimal(opening) + total - Decimal(closing)
        if difference:
            problems.append(f"{bank} {account} {day} does not tie out by {difference} and has no STATEMENT_GAP")
    return problems


def reversed_told(query) -> list[str]:
    try:
        rows = query("select l.fingerprint, e.status from statement_lines l left join escalations e "
                     "on e.fingerprint = l.fingerprint where l.reversed_at is not null")
    except Exception:
        return []
    return [f"PEND line {fp[:12]} reversed without an escalation" for fp, status in rows if status is None]


def credited_at_most_once(state: dict, never_booked: Counter, query) -> list[str]:
    """No more credits than the money the bank booked: per account and amount for ticket credits,
    per amount with the hand credits (`escalations resolve`), one statement line per ticket.
    `never_booked` (account, amount) are lines the campaign made the bank reverse: checked apart."""
    received = Counter((m["account_no"], int(m["amount"])) for m in state["mutations"] if m["direction"] == "CR")
    received += never_booked
    tickets = {t["ticket_id"]: (t.get("account_no"), int(t.get("amount", 0))) for t in state["tickets"]}
    deposits = Counter(tickets[r["ticket_id"]] for r in state["balance_log"]
                       if r.get("kind") != "MANUAL" and r.get("ticket_id") in tickets)
    problems = [f"Rp {amount} on {account} credited {n} times to tickets, the bank booked it {received[(account, amount)]}"
                for (account, amount), n in sorted(deposits.items()) if n > received[(account, amount)]]
    by_amount: Counter = Counter()
    for (_, amount), n in deposits.items():
        by_amount[amount] += n
    by_amount.update(int(r["amount"]) for r in state["balance_log"] if r.get("kind") == "MANUAL")
    booked: Counter = Counter()
    for (_, amount), n in received.items():
        booked[amount] += n
    # money paid at the payment gateway (issue 16) is credited once too: by the bot or by hand
    booked.update(int(p["amount"]) for p in state.get("gateway_payments", []) if p.get("status") in ("PAID", "SETTLED"))
    problems += [f"Rp {amount} credited {n} times (tickets and by hand), the bank booked it {booked[amount]}"
                 for amount, n in sorted(by_amount.items()) if n > booked[amount]]
    try:
        lines = query("select ticket_id, count(*) from statement_lines where code = 'AUTO_CREDITED' "
                      "and ticket_id is not null group by ticket_id having count(*) > 1")
    except Exception:
        lines = []
    problems += [f"ticket {ticket} credited by {n} statement lines" for ticket, n in lines]
    return problems


def never_received_told(state: dict, never_received: dict[str, tuple[str, int]], account: str, query,
                        forgotten: frozenset[str] = frozenset()) -> list[str]:
    """A ticket paid by a line on `account` the bank never booked: if credited, an escalation
    PENDING_REVERSED (open, or closed by a person) names it; either way its line is found reversed.
    `forgotten`: tickets whose reversal a lost store took with it (`store_lost` after it): finance's
    inbox must show the PENDING_REVERSED message naming the ticket; the new store cannot know the line."""
    try:
        rows = query("select l.amount, l.reversed_at, e.code, e.status, e.reason from statement_lines l "
                     "left join escalations e on e.fingerprint = l.fingerprint where l.account_no = ?", (account,))
    except Exception:
        rows = []
    credited = {r.get("ticket_id") for r in state["balance_log"]}
    problems = []
    inbox = [f"{m.get('title', '')} {m.get('message', '')} {m.get('body', '')}" for m in state.get("helpdesk_messages", [])]
    for ticket, (_, amount) in sorted(never_received.items()):
        if ticket in forgotten:
            if ticket in credited and not any("PENDING_REVERSED" in text and ticket in text for text in inbox):
                problems.append(f"{ticket} credited Rp {amount} the bank never booked, its store was lost since, and "
                                "finance's inbox has no PENDING_REVERSED message naming it")
            continue
        line = [r for r in rows if int(Decimal(r[0])) == amount]
        if not line or not all(r[1] for r in line):
            problems.append(f"the PEND line paying {ticket} (Rp {amount}) is gone from the bank, "
                            "the store does not show it reversed")
        told = [r for r in line if r[2] == "PENDING_REVERSED" and r[3] in ("OPEN", "RESOLVED", "REJECTED")]
        if ticket in credited and not any(ticket in (r[4] or "") for r in told):
            problems.append(f"{ticket} credited Rp {amount} the bank never booked, and no PENDING_REVERSED "
                            "escalation names it")
    return problems


def back_dated_found(back_dated: list[tuple[str, int, str]], query) -> list[str]:
    problems = []
    for account, amount, day in back_dated:
        days = [str(d) for (d,) in query("select day from statement_lines where account_no = ? and amount = ?",
                                         (account, f"{amount}.00"))]  # str: PostgreSQL gives a date
        if days != [day]:
            problems.append(f"the line posted back on {day} (Rp {amount} on {account}) is in the store on {days}")
    return problems


def formula_cells(reports: Path) -> list[str]:
    """Cells that are formulas other than our own totals (SUBTOTAL). (A raw control character
    cannot be in a cell: openpyxl refuses to write one, so the run would not end 0.)"""
    from openpyxl import load_workbook

    found = []
    for path in sorted(reports.glob("rekonsiliasi/rekonsiliasi-*.xlsx")):
        book = load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f" and not str(cell.value).startswith("=SUBTOTAL("):
                        found.append(f"{path.name} {sheet.title}!{cell.coordinate} is a formula: {cell.value!r}")
    return found


def markup_in_notifications(state: dict) -> list[str]:
    """A description's markup reaches finance's inbox escaped, never as markup."""
    return [f"notification {m.get('title', '')[:40]!r} carries raw markup or control characters"
            for m in state.get("helpdesk_messages", [])
            if re.search(r"<(script|b)\b", f"{m.get('title', '')} {m.get('body', '')}")
            or _CONTROL.search(f"{m.get('title', '')} {m.get('body', '')}")]


def checks(campaign, state: dict) -> list[str]:
    """Issue 12's invariants for one reconcile scenario."""
    query = campaign.query
    problems = (tie_out_problems(query) + reversed_told(query)
                + credited_at_most_once(state, campaign.never_booked, query)
                + never_received_told(state, campaign.never_received, campaign.accounts["bca"], query,
                                      frozenset(campaign.forgotten))
                + back_dated_found(campaign.back_dated, query) + markup_in_notifications(state)
                + bon_checks(state)  # Bon / TOP: no request granted twice, none while another bon was open
                + gateway_credits(state))  # VA / retail: no gateway payment credited twice or while unpaid
    reports = campaign.folder / "reports"
    if reports.exists():
        problems += formula_cells(reports)
    return problems
