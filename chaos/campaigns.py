"""One campaign per bot: a generated world, the work each scenario adds, and the invariants.

A campaign keeps one world for all its scenarios, so the world grows to hundreds of tickets,
transactions or orders while each scenario adds a handful and moves the clock. Everything a
campaign expects is decided when it generates the work — never read back from the bot.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook

from bots.esim.batch import order_ids
from chaos import reconcile_families
from chaos.beyond_bank import BeyondBank
from chaos.harness import ROOT, ChaosWorld, run_at_once
from chaos.procedure_checks import (confirm_step, esim_refunds, pnr_case, pnr_followups,
                                    procedure_late_payment, waiting_for_confirmation)

WORLD = ROOT / "fixtures" / "world"
ACCOUNTS = {"bca": "5270418836", "mandiri": "1560007734218", "bri": "034201000871562", "bni": "0823417769"}
COMPLAINT_AFTER, HARD_AFTER = timedelta(minutes=2), timedelta(minutes=15)
MARGIN = timedelta(seconds=20)  # the bot decides at its BOTS_NOW; the world's clock runs on meanwhile


def _csv(header: str, rows: list[dict]) -> str:
    names = header.split(",")
    return "\n".join([header] + [",".join(str(row.get(n, "")) for n in names) for row in rows]) + "\n"


def _parse(moment) -> datetime:
    return datetime.fromisoformat(moment)


PARKED = ("refused", "in_doubt")  # journal states an item waits in for a person (not lost)


def _store_errors() -> tuple[type[Exception], ...]:
    import sqlalchemy.exc

    return sqlite3.Error, sqlalchemy.exc.SQLAlchemyError


#: What reading the store may raise on either backend (a store not there yet, a table not migrated)
StoreError = _store_errors()


class PostgresStore:
    """A campaign's store on PostgreSQL (`python -m chaos --store postgresql`): one database of
    a throwaway cluster (tests/postgres.py); lost by dropping it, as a lost server would be."""

    def __init__(self, cluster, name: str):
        self.cluster, self.name = cluster, name
        self.url = cluster.url(name)

    def exists(self) -> bool:
        return bool(self.query("select 1 from pg_tables where tablename = 'actions'", ()))

    def query(self, sql: str, args: tuple) -> list[tuple]:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        engine = sa.create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.exec_driver_sql(sql.replace("?", "%s"), tuple(args))]
        finally:
            engine.dispose()

    def forget(self) -> int:
        existed = self.exists()
        self.cluster.recreate_database(self.name)
        return int(existed)


class Campaign:
    bot = ""
    fault_portals: tuple[str, ...] = ()
    action_portals: tuple[str, ...] = ()  # where the acts are: the `refusals` family's portals
    kill_points: tuple[str, ...] = ()
    item = ""            # what a scenario makes: "tickets", "transactions", "orders"

    def __init__(self, folder: Path, rng: random.Random):
        self.folder, self.rng, self.made = folder, rng, 0
        self.postgres: PostgresStore | None = None  # set: the campaign's store is on PostgreSQL
        self.world: ChaosWorld | None = None
        self.family = "classic"
        self.refusals_seen = False  # once a server refused acts, an item may wait for a person

    def begin(self, family: str) -> None:
        self.family = family
        self.refusals_seen |= family == "refusals"

    # -- the store, as the checks see it (read-only) and as the `store_lost` family loses it ----
    @property
    def database(self) -> Path:
        return self.folder / "var" / "bots.sqlite3"

    @property
    def database_url(self) -> str:
        """Every run's DATABASE_URL (named, so a run with another VAR_DIR — another host — shares it)."""
        return self.postgres.url if self.postgres else f"sqlite:///{self.database}"

    def has_store(self) -> bool:
        return self.postgres.exists() if self.postgres else self.database.exists()

    def forget_store(self) -> int:
        """Lose the store (no run is going): the SQLite file with its -wal and -shm deleted, or the
        PostgreSQL database dropped and made again empty; 1 if there was one."""
        if self.postgres:
            return self.postgres.forget()
        existed = self.database.exists()
        for suffix in ("", "-wal", "-shm", "-journal"):
            self.database.with_name(self.database.name + suffix).unlink(missing_ok=True)
        return int(existed)

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows from the store (`?` parameters on both backends); [] when there is no store yet."""
        if not self.has_store():
            return []
        if self.postgres:
            return self.postgres.query(sql, args)
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()

    def parked(self) -> dict[str, str]:
        """Journal keys waiting for a person (refused by a portal, or in doubt) → their state."""
        try:
            rows = self.query("select key, state from actions where state in (?, ?)", PARKED)
        except StoreError:
            return {}
        return dict(rows)

    def told_a_person(self, state: dict, item: str) -> bool:
        """After a server refused acts: a message to finance/CS that names the item."""
        return self.refusals_seen and any(item in f"{m.get('title', '')} {m.get('message', '')} {m.get('body', '')}"
                                          for m in state.get("helpdesk_messages", []))

    def elsewhere(self, env: dict, number: int, which) -> dict:
        """The environment of a run on "another host": its own VAR_DIR, the campaign's DATABASE_URL."""
        folder = self.folder / "elsewhere" / f"{number}-{which}"
        shutil.rmtree(folder, ignore_errors=True)
        return {**env, "VAR_DIR": str(folder / "var")}

    def resolve_step(self, rng: random.Random, env: dict, number: int, mode: str, tally) -> list[str]:
        return []

    # -- a family's own steps around the runs (chaos/reconcile_families.py) ---------------------
    def before_runs(self, plan, rng: random.Random, env: dict, tally) -> list[str]:
        return []

    def after_first(self, plan, first, rng: random.Random, tally) -> list[str]:
        return []

    def after_quiet(self, plan, rng: random.Random, env: dict, tally, problems: list[str]) -> bool:
        """Steps once the runs are quiet; True when the bot must run again over what they added."""
        return False

    def write_seed(self, seed: Path) -> None:
        seed.mkdir(parents=True, exist_ok=True)
        shutil.copy(WORLD / "portal_users.csv", seed / "portal_users.csv")

    def started(self, world: ChaosWorld) -> None:
        self.world = world

    def run_env(self) -> dict:
        return {}

    def inject(self, rng: random.Random) -> int:
        raise NotImplementedError

    def check(self) -> list[str]:
        raise NotImplementedError


class ReconcileCampaign(Campaign):
    """Deposits: tickets and transfers of every kind; only exact, open, unexpired matches credit."""
    bot = "reconcile_payments"
    action_portals = ("otomax",)
    kill_points = ("approve:after_intent", "approve:after_in_flight", "approve:after_click",
                   "approve:after_done", "notify:after_in_flight", "notify:after_send",
                   "bon:after_click", "manual:after_add")  # issue 16: a bon grant, a gateway credit
    item = "tickets"
    accounts = ACCOUNTS
    KINDS = (("match", 52), ("ambiguous", 8), ("mismatch", 10), ("expired", 7), ("already", 6),
             ("round", 7), ("none", 6), ("debit", 4))

    def __init__(self, folder, rng):
        super().__init__(folder, rng)
        self.banks = sorted(rng.sample(sorted(ACCOUNTS), 2))  # two banks per world: seeds vary them
        self.fault_portals = tuple(f"bank_{b}" for b in self.banks) + ("otomax", "helpdesk")
        self.agents = {f"AG{n:03d}": rng.randrange(0, 500) * 1000 for n in range(1, 31)}
        self.blocks = Counter()           # per account: the next free thousand-block for a ticket
        self.credited: dict[str, tuple[str, int]] = {}   # ticket -> (agent, amount) that must credit
        self.approved_by_hand: set[str] = set()
        self._ticket_bank: dict[str, str] = {}       # ticket -> its bank
        self.hand_lines: Counter = Counter()         # (account, amount, description) -> hand credits
        self.tickets = 0
        # issue 12's families (chaos/reconcile_families.py)
        self.scenario_matches: dict[str, str] = {}   # this scenario's exact-match tickets -> bank
        self.never_received: dict[str, tuple[str, int]] = {}  # ticket -> (agent, amount) of a PEND reversed
        self.never_booked: Counter = Counter()       # (account, amount) of those PEND lines
        self.back_dated: list[tuple[str, int, str]] = []  # (account, amount, day) posted back
        self.extra_bca = False                       # a BCA account opened for pend_reversed
        self.down: str | None = None                 # bank_down: the bank in maintenance
        self.hand_order = "before"                   # second_format: the hand files before or after
        self.forgotten: set[str] = set()             # never_received tickets whose store was lost since
        self.forgotten_lines: Counter = Counter()    # and their lines (a new store cannot know them)
        # issue 16: gateway payments and bon requests, from a stream of their own (chaos/beyond_bank.py)
        self.beyond = BeyondBank(self.agents, f"{self.banks}:{sorted(self.agents.items())}")

    def forget_store(self) -> int:
        self.forgotten |= set(self.never_received)
        self.forgotten_lines = Counter(self.never_booked)
        return super().forget_store()

    def before_runs(self, plan, rng, env, tally):
        return reconcile_families.before_runs(self, plan, rng, env, tally)

    def after_first(self, plan, first, rng, tally):
        return reconcile_families.after_first(self, plan, first, rng, tally)

    def after_quiet(self, plan, rng, env, tally, problems):
        return reconcile_families.after_quiet(self, plan, rng, env, tally, problems)

    def write_seed(self, seed):
        super().write_seed(seed)
        (seed / "agents.csv").write_text(_csv("agent_id,name,phone,balance", [
            {"agent_id": a, "name": f"Konter {a}", "phone": f"0812{n:08d}", "balance": b}
            for n, (a, b) in enumerate(self.agents.items())]))
        (seed / "bank_accounts.csv").write_text(_csv("bank,account_no,holder,opening_balance", [
            {"bank": b, "account_no": ACCOUNTS[b], "holder": "PT TRAVELPULSA NUSANTARA",
             "opening_balance": 50_000_000} for b in self.banks]))

    def started(self, world):
        super().started(world)
        world.call("clock", {"set": _morning()})

    def run_env(self):
        return {"BOTS_NOW": self.world.now()}

    def _amount(self, bank: str, rng) -> int:
        # every ticket its own thousand-block with an empty block after it: an amount off by
        # less than Rp 1.000 can never be another ticket's exact amount
        self.blocks[bank] += 1
        return 1000 * (100 + 2 * self.blocks[bank]) + rng.randint(1, 999)

    def _ticket(self, rng, bank, amount, *, created="-{m}m", expires="+6h", status="OPEN", agent=None) -> dict:
        self.tickets += 1
        return {"ticket_id": f"CH{self.tickets:05d}", "agent_id": agent or rng.choice(sorted(self.agents)),
                "amount": amount, "bank": bank, "account_no": ACCOUNTS[bank],
                "created_at": created.format(m=rng.randint(8, 90)), "expires_at": expires, "status": status}

    @staticmethod
    def _transfer(bank, amount, rng, direction="CR") -> dict:
        # posted in the last 50 s, and the clock moves ≥ 1 min a scenario: a bank posts in time
        # order, so no new line ever lands before one already downloaded (its running balance)
        return {"bank": bank, "account_no": ACCOUNTS[bank], "posted_at": f"-{rng.randint(5, 50)}s",
                "description": f"TRSF E-BANKING {direction} {rng.randrange(10**5):05d}/FTSCY/WS95051 "
                               f"{amount}.00 PELANGGAN {rng.randrange(1000)}",
                "amount": amount, "direction": direction}

    def inject(self, rng):
        tickets, transfers = [], []
        self.scenario_matches = {}
        for _ in range(rng.randint(2, 5)):
            kind = rng.choices([k for k, _ in self.KINDS], [w for _, w in self.KINDS])[0]
            bank = rng.choice(self.banks)
            amount = self._amount(bank, rng)
            if kind == "match":
                ticket = self._ticket(rng, bank, amount)
                self.credited[ticket["ticket_id"]] = (ticket["agent_id"], amount)
                self._ticket_bank[ticket["ticket_id"]] = bank
                self.scenario_matches[ticket["ticket_id"]] = bank
                tickets.append(ticket)
                transfers.append(self._transfer(bank, amount, rng))
                if rng.random() < 0.12:  # the agent paid twice: the second is already processed
                    transfers.append(self._transfer(bank, amount, rng))
            elif kind == "ambiguous":
                first = self._ticket(rng, bank, amount)
                second = self._ticket(rng, bank, amount, agent=next(a for a in sorted(self.agents)
                                                                     if a != first["agent_id"]))
                tickets += [first, second]
                transfers.append(self._transfer(bank, amount, rng))
            elif kind == "mismatch":
                tickets.append(self._ticket(rng, bank, amount))
                transfers.append(self._transfer(bank, amount + rng.randint(1, 999), rng))
            elif kind == "expired":  # expired yesterday: no date-only statement can call it open
                tickets.append(self._ticket(rng, bank, amount, created="-30h", expires="-26h"))
                transfers.append(self._transfer(bank, amount, rng))
            elif kind == "already":
                ticket = self._ticket(rng, bank, amount, status="APPROVED")
                self.approved_by_hand.add(ticket["ticket_id"])
                tickets.append(ticket)
                transfers.append(self._transfer(bank, amount, rng))
            elif kind == "round":
                transfers.append(self._transfer(bank, 100_000 * rng.randint(1, 30), rng))
            elif kind == "none":
                transfers.append(self._transfer(bank, 50_000_000 + rng.randint(1, 10**6), rng))
            else:
                transfers.append(self._transfer(bank, rng.randint(1, 500) * 1000, rng, "DB"))
        self.world.add("tickets", tickets)
        self.world.add("mutations", transfers)
        made = self.beyond.inject(self.world)
        self.world.call("clock", {"advance": f"{rng.randint(1, 4)}m"})
        return len(tickets) + made

    def check(self):
        state, problems = self.world.state(), []
        parked = self.parked()
        ours = [t for t in state["tickets"] if t["ticket_id"].startswith("CH")]
        approved = {t["ticket_id"] for t in ours if t["status"] == "APPROVED"}
        # a ticket paid by a PEND line the bank then reversed may credit; reconcile_families checks it was told
        wrong = sorted(approved - set(self.credited) - self.approved_by_hand - set(self.never_received))
        missing = sorted(t for t in set(self.credited) - approved if not self._waits_for_a_person(t, parked, state))
        if wrong or missing:
            problems.append(f"approved tickets differ: credited wrongly {wrong}, not credited {missing}")
        logged = Counter(row["ticket_id"] for row in state["balance_log"] if row.get("ticket_id"))
        twice = sorted(t for t, n in logged.items() if n > 1)
        if twice:
            problems.append(f"credited more than once: {twice}")
        refused_yet_done = sorted(t for t in logged if parked.get(f"approve:{t}") == "refused")
        if refused_yet_done:
            problems.append(f"the store says the approval was refused, the world shows it credited: {refused_yet_done}")
        # the world's balance log is the truth for the hand credits (escalations resolve, DESIGN §5)
        expected = dict(self.agents)
        for ticket, (agent, amount) in self.credited.items():
            expected[agent] += amount if ticket in approved else 0
        for ticket, (agent, amount) in self.never_received.items():
            expected[agent] += amount if ticket in logged else 0
        for row in state["balance_log"]:
            if row.get("kind") == "MANUAL":  # finance's hand credits and the gateway's (each checked by its marker)
                expected[row["agent_id"]] = expected.get(row["agent_id"], 0) + row["amount"]
        for agent, amount in self.beyond.granted(state).items():  # bons: chaos/bon_checks.py judges each grant
            expected[agent] = expected.get(agent, 0) + amount
        balances = {a["agent_id"]: a["balance"] for a in state["agents"]}
        off = {a: (balances.get(a), expected[a]) for a in expected if balances.get(a) != expected[a]}
        if off:
            problems.append(f"balances wrong (found, expected): {off}")
        titles = Counter(m["title"] for m in state["helpdesk_messages"])
        if any(n > 1 for n in titles.values()):
            problems.append(f"escalation notified twice: {[t for t, n in titles.items() if n > 1]}")
        problems += self._check_store(state, approved)
        problems += reconcile_families.checks(self, state)  # issue 12 (and issue 16's world-only invariants)
        problems += self.beyond.problems(state, parked, self.query)  # issue 16
        return problems

    def _waits_for_a_person(self, ticket: str, parked: dict, state: dict) -> bool:
        """A ticket not credited is not lost if its approval waits for a person: refused or in
        doubt in the journal, or (once a server refused acts) an open escalation of its line."""
        if f"approve:{ticket}" in parked or self.told_a_person(state, ticket):
            return True
        if not self.refusals_seen:
            return False
        return any(ticket in (candidates or "") or (account, amount) == self._paying(ticket)
                   for account, amount, _, status, candidates in self._lines() if status == "OPEN")

    def _paying(self, ticket: str) -> tuple[str, int]:
        """(account, amount) of the transfer that pays a ticket the campaign made to credit."""
        _, amount = self.credited[ticket]
        return ACCOUNTS[self._ticket_bank.get(ticket, self.banks[0])], amount

    def _lines(self) -> list[tuple[str, int, str, str | None, str | None]]:
        """(account, amount, direction, escalation status or None, escalation candidates) per store line."""
        rows = self.query("select l.account_no, l.amount, l.direction, e.status, e.candidates "
                          "from statement_lines l left join escalations e on e.fingerprint = l.fingerprint "
                          "where l.bank <> 'gateway'")  # a gateway payment escalated is kept as a line too
        return [(a, int(float(amount)), d, status, cands) for a, amount, d, status, cands in rows]

    def _check_store(self, state, approved: set[str]) -> list[str]:
        """Every transfer in the bank is one statement line in the store, each has one code, and a
        line that paid a credited ticket is never escalated (finance would credit it again)."""
        if not self.has_store():
            return ["no store was written"]
        try:
            rows = self.query("select account_no, amount, direction, code from statement_lines where bank <> 'gateway'")
            lines = self._lines()
        except StoreError as exc:
            return [f"the store cannot be read: {exc}"]
        stored = Counter((a, int(float(amount)), d) for a, amount, d, _ in rows)
        banked = Counter((m["account_no"], int(m["amount"]), m["direction"]) for m in state["mutations"])
        banked.update({(account, amount, "CR"): n for (account, amount), n in (self.never_booked - self.forgotten_lines).items()})
        problems = []
        if stored != banked:
            problems.append(f"statement lines lost {dict(banked - stored)} or doubled {dict(stored - banked)}")
        undecided = sum(1 for *_, code in rows if not code)
        if undecided:
            problems.append(f"{undecided} statement lines have no outcome code")
        groups: dict[tuple[str, int], list] = {}
        for account, amount, direction, status, _ in lines:
            if direction == "CR":
                groups.setdefault((account, amount), []).append(status)
        escalated = sorted(t for t in approved & set(self.credited)
                           if groups.get(self._paying(t)) and all(groups[self._paying(t)]))
        if escalated:
            problems.append(f"credited line escalated: every line paying {escalated} is an escalation, "
                            "though the ticket was credited")
        return problems

    # -- finance resolves an escalation (families hosts, note_limit, refusals) -------------------
    def resolve_step(self, rng, env, number, mode, tally) -> list[str]:
        """`python -m bots escalations resolve ID --agent A --note T` for one open escalation, from
        2–3 processes at once (`together`) or once, killed half the time mid-way, then again (`once`).
        The world's balance log says what was credited by hand: at most one add per line, ever."""
        try:
            open_ones = self.query(
                "select e.id, l.account_no, l.amount, l.description from escalations e "
                "join statement_lines l on l.fingerprint = e.fingerprint where e.status = 'OPEN' "
                "and e.code != 'PENDING_REVERSED' order by e.id")  # never booked: resolve refuses to credit it
        except StoreError as exc:
            return [f"the store cannot be read: {exc}"]
        if not open_ones:
            tally.events["escalation resolves with none open"] += 1
            return []
        esc_id, account, amount, description = rng.choice(open_ones)
        line, agent = (account, int(float(amount)), description), rng.choice(sorted(self.agents))
        note = "chaos" if mode == "together" else \
            "transfer manual, bukti WA 09:12, dicek finance (chaos) " + "x" * rng.randint(0, 60)
        args = ["escalations", "resolve", str(esc_id), "--agent", agent, "--note", note]
        before = sum(r["kind"] == "MANUAL" for r in self.world.state()["balance_log"])
        problems, refusing = [], self.family == "refusals"
        if mode == "together":
            runs = run_at_once([(args, self.elsewhere(env, number, f"resolve{i}"), None)
                                for i in range(rng.choice([2, 3]))])
            tally.events["resolves side by side"] += len(runs)
            problems += [f"ESK-{esc_id}: resolve {i + 1} of {len(runs)} side by side exited {r.code} (expected 0; "
                         f"4, the lock; or 2, already resolved): {r.tail[-400:]}"
                         for i, r in enumerate(runs) if r.code not in (0, 2, 4)]
            if not any(r.code == 0 for r in runs):
                problems.append(f"ESK-{esc_id}: no resolve of {len(runs)} side by side finished: "
                                f"{[r.code for r in runs]}")
        else:
            crash = rng.choice(["manual:after_add", "manual:after_in_flight", None, None])
            run = run_at_once([(args, env, crash)])[0]
            for _ in range(2):
                if run.code != -9:
                    break
                tally.kills[crash] += 1
                run = run_at_once([(args, env, None)])[0]
            if run.code not in ((0, 2) if refusing else (0,)):
                problems.append(f"ESK-{esc_id}: resolve exited {run.code}"
                                + (f" after a kill at {crash}" if crash else "") + f": {run.tail[-400:]}")
        added = sum(r["kind"] == "MANUAL" for r in self.world.state()["balance_log"]) - before
        status = (self.query("select status from escalations where id = ?", (esc_id,)) or [("gone",)])[0][0]
        credited_before = self.hand_lines[line]
        if added > 1:
            problems.append(f"ESK-{esc_id} ({line[1]} on {line[0]}) credited {added} times by hand")
        if added and credited_before:
            problems.append(f"ESK-{esc_id}: its line ({line[1]} on {line[0]}) was already credited by hand")
        if status == "RESOLVED" and not added and not credited_before:
            problems.append(f"ESK-{esc_id} closed as resolved, but nothing was credited")
        if added and status != "RESOLVED":
            problems.append(f"ESK-{esc_id} credited by hand, but the store still says {status}")
        self.hand_lines[line] += added
        tally.events["hand credits by escalations resolve"] += added
        return problems


class PendingCampaign(Campaign):
    """Pending transactions of varied ages; the clock moves; suppliers resolve after a step or never."""
    bot = "check_pending_tx"
    fault_portals = ("otomax", "supplier_mitra", "supplier_sinar", "helpdesk")
    action_portals = ("supplier_mitra", "supplier_sinar")
    kill_points = ("complaint:after_intent", "complaint:after_in_flight", "complaint:after_send",
                   "notify:after_in_flight", "notify:after_send")
    item = "transactions"

    def __init__(self, folder, rng):
        super().__init__(folder, rng)
        self.count, self.last_now = 0, None
        self.pnr_cases: set[str] = set()  # SUKSES transactions an agent reported "product not received"

    def write_seed(self, seed):
        super().write_seed(seed)
        (seed / "agents.csv").write_text(_csv("agent_id,name,phone,balance", [
            {"agent_id": f"AG{n:03d}", "name": f"Konter {n}", "phone": f"0813{n:08d}", "balance": 0}
            for n in range(1, 11)]))

    def started(self, world):
        super().started(world)
        world.call("clock", {"set": _morning()})

    def run_env(self):
        self.last_now = self.world.now()
        return {"BOTS_NOW": self.last_now}

    def inject(self, rng):
        transactions, behaviour = [], []
        for _ in range(rng.randint(2, 4)):
            self.count += 1
            trx = f"CX{self.count:05d}"
            transactions.append({"trx_id": trx, "agent_id": f"AG{rng.randint(1, 10):03d}",
                                 "product": rng.choice(["S10", "S25", "X50", "I10", "PLN50"]),
                                 "destination": f"0812{rng.randrange(10**8):08d}",
                                 "price": rng.choice([10250, 25350, 49900, 10450, 50500]),
                                 "supplier": rng.choice(["mitra", "sinar"]),
                                 "created_at": f"-{rng.randint(0, 25 * 60)}s", "status": "PENDING", "sn": ""})
            after = rng.choices(["complaint", "hard_complaint", "never"], [50, 42, 8])[0]
            final = rng.choice(["SUKSES", "GAGAL"]) if after != "never" else ""
            behaviour.append({"trx_id": trx, "resolves_after": after, "final_status": final, "sn": ""})
        pnr = pnr_case(self.count)  # from its own stream: the classic draws stay as they were
        if pnr:
            self.pnr_cases.add(pnr[0]["trx_id"])
            transactions.append(pnr[0])
            behaviour.append(pnr[1])
            self.world.add("agent_complaints", [pnr[2]])
        self.world.add("transactions", transactions)
        self.world.add("supplier_behaviour", behaviour)
        self.world.call("clock", {"advance": f"{rng.choice([30, 60, 90, 150, 240, 420, 720])}s"})
        return len(transactions)

    def check(self):
        state, problems = self.world.state(), []
        complaints = state["complaints"]
        problems += pnr_followups(state, self.pnr_cases)
        ladder = [c for c in complaints if c["trx_id"] not in self.pnr_cases]  # a PNR case follows up
        for key, name in ((lambda c: c["reference"], "reference"), (lambda c: (c["trx_id"], c["level"]), "step")):
            twice = [k for k, n in Counter(map(key, complaints if name == "reference" else ladder)).items() if n > 1]
            if twice:
                problems.append(f"complaint sent twice (same {name}): {twice}")
        created = {t["trx_id"]: _parse(t["created_at"]) for t in state["transactions"]}
        levels: dict[str, set[str]] = {}
        for c in complaints:
            levels.setdefault(c["trx_id"], set()).add(c["level"])
            age = _parse(c["created_at"]) - created[c["trx_id"]]
            limit = HARD_AFTER if c["level"] == "hard" else COMPLAINT_AFTER
            if age <= limit:
                problems.append(f"{c['trx_id']}: {c['level']} complaint at {age} old, before its threshold")
        now, parked = _parse(self.last_now), self.parked()
        for trx in state["transactions"]:
            if trx["status"] != "PENDING" or not trx["trx_id"].startswith("CX"):
                continue
            age, sent = now - created[trx["trx_id"]], levels.get(trx["trx_id"], set())
            # a complaint a supplier refused (or one in doubt) waits for a person: not lost
            waits = any(k.startswith(f"complaint:{trx['trx_id']}:") for k in parked) \
                or self.told_a_person(state, trx["trx_id"])
            if age > HARD_AFTER + MARGIN and "hard" not in sent and not waits:
                problems.append(f"{trx['trx_id']}: pending {age} and no hard complaint")
            elif age > COMPLAINT_AFTER + MARGIN and not sent and not waits:
                problems.append(f"{trx['trx_id']}: pending {age} and no complaint")
        step_level = {"complaint": "normal", "hard_complaint": "hard"}
        refused_yet_sent = sorted(k for k, state_ in parked.items() if state_ == "refused" and k.count(":") == 2
                                  and step_level.get(k.split(":")[2]) in levels.get(k.split(":")[1], set()))
        if refused_yet_sent:
            problems.append(f"the store says the complaint was refused, the supplier shows it: {refused_yet_sent}")
        titles = Counter(m["title"] for m in state["helpdesk_messages"])
        if any(n > 1 for n in titles.values()):
            problems.append(f"supervisor told twice: {[t for t, n in titles.items() if n > 1]}")
        return problems


class EsimCampaign(Campaign):
    """Halo eSIM orders: valid, invalid in each way, unpaid; each valid one batched once."""
    bot = "esim_activation_queue"
    fault_portals = ("indiana", "aggregator", "dukcapil", "ismara")
    action_portals = ("aggregator",)
    kill_points = ("refund:after_intent", "refund:after_in_flight", "refund:after_send", "batch:after_intent")
    item = "orders"
    DEFECTS = ("kk_mismatch", "not_in_dukcapil", "arrears", "device", "form", "region", "birthdate")

    def __init__(self, folder, rng):
        super().__init__(folder, rng)
        self.count = 0
        self.valid: set[str] = set()
        self.refunded: set[str] = set()   # invalid (Dukcapil / ISMARA): refunded once a person confirms
        self.confirmed: set[str] = set()  # …which a person did (procedure_checks.confirm_step)
        self.closed_paid: set[str] = set()  # closed at 72 h with money in: refunded without a person
        self.batches: dict[Path, list[str]] = {}  # batch workbooks are never rewritten: read each once

    def inject(self, rng):
        orders, payments, citizens, arrears = [], [], [], []
        for _ in range(rng.randint(2, 4)):
            self.count += 1
            order_id, serial = f"CH-{self.count:05d}", self.count % 9999 + 1
            day = rng.randint(1, 28) + rng.choice([0, 40])
            nik = f"360312{day:02d}{rng.randint(1, 12):02d}{rng.randint(60, 99):02d}{serial:04d}"
            kk = f"3603120101{rng.randint(10, 24):02d}{serial:04d}"
            kind = rng.choices(["valid", "invalid", "unpaid", "old_unpaid", "part_paid"], [55, 27, 8, 5, 5])[0]
            defect = rng.choice(self.DEFECTS) if kind == "invalid" else None
            order = {"order_id": order_id, "submitted_at": f"-{rng.randint(1, 30)}h", "sales_agent": "DS-BLR-01",
                     "customer_name": f"Pelanggan {self.count}", "nik": nik, "kk": kk,
                     "phone": f"0813{rng.randrange(10**8):08d}", "email": f"p{self.count}@contoh.id",
                     "device": "Nokia 3310" if defect == "device" else rng.choice(["iPhone 15", "Samsung Galaxy S24"]),
                     "package": rng.choice(["Halo 100K", "Halo 150K", "Halo 200K"]), "upfront_amount": 150000,
                     "esim_fee": 25000, "payment_method": "QRIS", "form_completed": "tidak" if defect == "form" else "ya"}
            if defect == "region":
                order["nik"] = "99" + nik[2:]
            if defect == "birthdate":
                order["nik"] = nik[:6] + "3213" + nik[10:]
            if kind == "old_unpaid":
                order["submitted_at"] = f"-{rng.randint(73, 90)}h"
                late = procedure_late_payment(self.count, order["submitted_at"])  # part paid, or paid late
                if late:
                    payments.append({"order_id": order_id, **late})
                    self.closed_paid.add(order_id)
            orders.append(order)
            if kind in ("valid", "invalid"):
                split = rng.random() < 0.3  # upfront and fee may arrive separately
                for amount in ([150000, 25000] if split else [175000]):
                    payments.append({"order_id": order_id, "amount": amount, "paid_at": "-30m", "channel": "QRIS"})
            elif kind == "part_paid":
                payments.append({"order_id": order_id, "amount": 150000, "paid_at": "-30m", "channel": "QRIS"})
            if defect != "not_in_dukcapil":
                citizens.append({"nik": order["nik"], "kk": kk[:-4] + "9999" if defect == "kk_mismatch" else kk,
                                 "name": order["customer_name"].upper()})
            arrears.append({"nik": order["nik"], "outstanding": 150000 if defect == "arrears" else 0})
            if kind == "valid":
                self.valid.add(order_id)
            elif kind == "invalid" and defect not in ("device", "form"):  # those wait; never a refund
                self.refunded.add(order_id)
        for table, rows in (("esim_orders", orders), ("esim_payments", payments), ("dukcapil", citizens),
                            ("ismara", arrears)):
            self.world.add(table, rows)
        return len(orders)

    def _batched(self) -> Counter:
        for path in sorted((self.folder / "reports" / "esim").glob("batch-aktivasi-*.xlsx")):
            if path not in self.batches:
                sheet = load_workbook(path, read_only=True)["Batch Aktivasi"]
                self.batches[path] = order_ids(sheet.iter_rows(min_row=7, values_only=True))
        return Counter(order for orders in self.batches.values() for order in orders)

    def check(self):
        problems, batched = [], self._batched()
        if set(batched) != self.valid:
            problems.append(f"batched wrongly {sorted(set(batched) - self.valid)}, "
                            f"never batched {sorted(self.valid - set(batched))}")
        twice = sorted(o for o, n in batched.items() if n > 1)
        if twice:
            problems.append(f"orders in two batches: {twice}")
        state, parked = self.world.state(), self.parked()
        refunds = Counter(r["order_id"] for r in state["refund_requests"])
        waiting = waiting_for_confirmation(self)  # e.g. a store lost with the confirmation in it
        problems += esim_refunds(state, parked, self.closed_paid, self.refunded, self.confirmed, waiting=waiting)
        # a refund the aggregator refused (or one in doubt) waits for a person: not lost
        due = (self.refunded & self.confirmed) | self.closed_paid
        never = sorted(o for o in due - set(refunds) - waiting
                       if not any(k.startswith(f"refund:{o}") for k in parked) and not self.told_a_person(state, o))
        wrongly = sorted(set(refunds) - due)
        if wrongly or never:
            problems.append(f"refunded wrongly {wrongly}, never refunded {never}")
        refused_yet_sent = sorted(o for o in refunds if parked.get(f"refund:{o}") == "refused")
        if refused_yet_sent:
            problems.append(f"the store says the refund was refused, the aggregator shows it: {refused_yet_sent}")
        if any(n > 1 for n in Counter(r["reference"] for r in state["refund_requests"]).values()):
            problems.append(f"refund requested twice: {sorted(o for o, n in refunds.items() if n > 1)}")
        return problems

    def resolve_step(self, rng, env, number, mode, tally) -> list[str]:
        """A person confirms some refunds that wait for them (juklak step 10)."""
        return confirm_step(self, rng, env, number, tally)


def _morning() -> str:
    """08:00 today in Jakarta: a day of scenarios at a few minutes each never crosses midnight."""
    from zoneinfo import ZoneInfo
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    return f"{today.isoformat()}T08:00:00+07:00"


CAMPAIGNS = {c.bot: c for c in (ReconcileCampaign, PendingCampaign, EsimCampaign)}
