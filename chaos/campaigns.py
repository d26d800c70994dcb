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

from chaos.harness import ROOT, ChaosWorld

WORLD = ROOT / "fixtures" / "world"
ACCOUNTS = {"bca": "5270418836", "mandiri": "1560007734218", "bri": "034201000871562", "bni": "0823417769"}
COMPLAINT_AFTER, HARD_AFTER = timedelta(minutes=2), timedelta(minutes=15)
MARGIN = timedelta(seconds=20)  # the bot decides at its BOTS_NOW; the world's clock runs on meanwhile


def _csv(header: str, rows: list[dict]) -> str:
    names = header.split(",")
    return "\n".join([header] + [",".join(str(row.get(n, "")) for n in names) for row in rows]) + "\n"


def _parse(moment) -> datetime:
    return datetime.fromisoformat(moment)


class Campaign:
    bot = ""
    fault_portals: tuple[str, ...] = ()
    kill_points: tuple[str, ...] = ()
    item = ""            # what a scenario makes: "tickets", "transactions", "orders"

    def __init__(self, folder: Path, rng: random.Random):
        self.folder, self.rng, self.made = folder, rng, 0
        self.world: ChaosWorld | None = None

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
    kill_points = ("approve:after_intent", "approve:after_in_flight", "approve:after_click",
                   "approve:after_done", "notify:after_in_flight", "notify:after_send")
    item = "tickets"
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
        self.tickets = 0

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
        for _ in range(rng.randint(2, 5)):
            kind = rng.choices([k for k, _ in self.KINDS], [w for _, w in self.KINDS])[0]
            bank = rng.choice(self.banks)
            amount = self._amount(bank, rng)
            if kind == "match":
                ticket = self._ticket(rng, bank, amount)
                self.credited[ticket["ticket_id"]] = (ticket["agent_id"], amount)
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
        self.world.call("clock", {"advance": f"{rng.randint(1, 4)}m"})
        return len(tickets)

    def check(self):
        state, problems = self.world.state(), []
        ours = [t for t in state["tickets"] if t["ticket_id"].startswith("CH")]
        approved = {t["ticket_id"] for t in ours if t["status"] == "APPROVED"}
        if approved != set(self.credited) | self.approved_by_hand:
            wrong = sorted(approved - set(self.credited) - self.approved_by_hand)
            missing = sorted(set(self.credited) - approved)
            problems.append(f"approved tickets differ: credited wrongly {wrong}, not credited {missing}")
        logged = Counter(row["ticket_id"] for row in state["balance_log"])
        twice = sorted(t for t, n in logged.items() if n > 1)
        if twice:
            problems.append(f"credited more than once: {twice}")
        expected = dict(self.agents)
        for agent, amount in self.credited.values():
            expected[agent] += amount
        balances = {a["agent_id"]: a["balance"] for a in state["agents"]}
        off = {a: (balances.get(a), expected[a]) for a in expected if balances.get(a) != expected[a]}
        if off:
            problems.append(f"balances wrong (found, expected): {off}")
        titles = Counter(m["title"] for m in state["helpdesk_messages"])
        if any(n > 1 for n in titles.values()):
            problems.append(f"escalation notified twice: {[t for t, n in titles.items() if n > 1]}")
        problems += self._check_store(state)
        return problems

    def _check_store(self, state) -> list[str]:
        """Every transfer in the bank is one statement line in the store, and each has one code."""
        database = self.folder / "var" / "bots.sqlite3"
        if not database.exists():
            return ["no store was written"]
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            rows = db.execute("select account_no, amount, direction, code from statement_lines").fetchall()
        stored = Counter((a, int(float(amount)), d) for a, amount, d, _ in rows)
        banked = Counter((m["account_no"], int(m["amount"]), m["direction"]) for m in state["mutations"])
        problems = []
        if stored != banked:
            problems.append(f"statement lines lost {dict(banked - stored)} or doubled {dict(stored - banked)}")
        undecided = sum(1 for *_, code in rows if not code)
        if undecided:
            problems.append(f"{undecided} statement lines have no outcome code")
        return problems


class PendingCampaign(Campaign):
    """Pending transactions of varied ages; the clock moves; suppliers resolve after a step or never."""
    bot = "check_pending_tx"
    fault_portals = ("otomax", "supplier_mitra", "supplier_sinar", "helpdesk")
    kill_points = ("complaint:after_intent", "complaint:after_in_flight", "complaint:after_send",
                   "notify:after_in_flight", "notify:after_send")
    item = "transactions"

    def __init__(self, folder, rng):
        super().__init__(folder, rng)
        self.count, self.last_now = 0, None

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
        self.world.add("transactions", transactions)
        self.world.add("supplier_behaviour", behaviour)
        self.world.call("clock", {"advance": f"{rng.choice([30, 60, 90, 150, 240, 420, 720])}s"})
        return len(transactions)

    def check(self):
        state, problems = self.world.state(), []
        complaints = state["complaints"]
        for key, name in ((lambda c: c["reference"], "reference"), (lambda c: (c["trx_id"], c["level"]), "step")):
            twice = [k for k, n in Counter(map(key, complaints)).items() if n > 1]
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
        now = _parse(self.last_now)
        for trx in state["transactions"]:
            if trx["status"] != "PENDING" or not trx["trx_id"].startswith("CX"):
                continue
            age, sent = now - created[trx["trx_id"]], levels.get(trx["trx_id"], set())
            if age > HARD_AFTER + MARGIN and "hard" not in sent:
                problems.append(f"{trx['trx_id']}: pending {age} and no hard complaint")
            elif age > COMPLAINT_AFTER + MARGIN and not sent:
                problems.append(f"{trx['trx_id']}: pending {age} and no complaint")
        titles = Counter(m["title"] for m in state["helpdesk_messages"])
        if any(n > 1 for n in titles.values()):
            problems.append(f"supervisor told twice: {[t for t, n in titles.items() if n > 1]}")
        return problems


class EsimCampaign(Campaign):
    """Halo eSIM orders: valid, invalid in each way, unpaid; each valid one batched once."""
    bot = "esim_activation_queue"
    fault_portals = ("indiana", "aggregator", "dukcapil", "ismara")
    kill_points = ("refund:after_intent", "refund:after_in_flight", "refund:after_send", "batch:after_intent")
    item = "orders"
    DEFECTS = ("kk_mismatch", "not_in_dukcapil", "arrears", "device", "form", "region", "birthdate")

    def __init__(self, folder, rng):
        super().__init__(folder, rng)
        self.count = 0
        self.valid: set[str] = set()
        self.refunded: set[str] = set()
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
            elif kind == "invalid":
                self.refunded.add(order_id)
        for table, rows in (("esim_orders", orders), ("esim_payments", payments), ("dukcapil", citizens),
                            ("ismara", arrears)):
            self.world.add(table, rows)
        return len(orders)

    def _batched(self) -> Counter:
        for path in sorted((self.folder / "reports" / "esim").glob("batch-aktivasi-*.xlsx")):
            if path not in self.batches:
                sheet = load_workbook(path, read_only=True)["Batch Aktivasi"]
                self.batches[path] = [row[0] for row in sheet.iter_rows(min_row=7, values_only=True) if row[0]]
        return Counter(order for orders in self.batches.values() for order in orders)

    def check(self):
        problems, batched = [], self._batched()
        if set(batched) != self.valid:
            problems.append(f"batched wrongly {sorted(set(batched) - self.valid)}, "
                            f"never batched {sorted(self.valid - set(batched))}")
        twice = sorted(o for o, n in batched.items() if n > 1)
        if twice:
            problems.append(f"orders in two batches: {twice}")
        refunds = Counter(r["order_id"] for r in self.world.state()["refund_requests"])
        if set(refunds) != self.refunded:
            problems.append(f"refunded wrongly {sorted(set(refunds) - self.refunded)}, "
                            f"never refunded {sorted(self.refunded - set(refunds))}")
        if any(n > 1 for n in refunds.values()):
            problems.append(f"refund requested twice: {sorted(o for o, n in refunds.items() if n > 1)}")
        return problems


def _morning() -> str:
    """08:00 today in Jakarta: a day of scenarios at a few minutes each never crosses midnight."""
    from zoneinfo import ZoneInfo
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    return f"{today.isoformat()}T08:00:00+07:00"


CAMPAIGNS = {c.bot: c for c in (ReconcileCampaign, PendingCampaign, EsimCampaign)}
