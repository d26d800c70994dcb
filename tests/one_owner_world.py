"""Helpers for tests/test_one_owner.py: small worlds, several terminals on one store, store reads.

"Two terminals" here are two `python -m bots` processes, each with its own VAR_DIR (and its
own reports folder) but one DATABASE_URL: what two staff members on two machines sharing one
store look like: a SQLite file, or a PostgreSQL database (`store_url`). The store is read
with plain SQL (tests/stores.py), as finance's own tools would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bots.settings import sqlite_file
from tests.conftest import ROOT, WORLD
from tests.stores import store_query
from tests.reconcile_world import BCA, MANDIRI, T0, absolute, env_file, write_world

__all__ = ["BCA", "MANDIRI", "T0", "Terminals", "write_world", "env_file", "write_unknown_agent_world",
           "write_esim_world", "write_pending_world", "PENDING_T0", "StoreView", "start", "finish",
           "manual_adds", "marker_of", "ESCALATED_AGENTS"]


# -- several terminals, one store ------------------------------------------------------------------

class Terminals:
    """Environments for processes that share one store and nothing else (VAR_DIR, reports)."""

    def __init__(self, base_env: dict, tmp_path: Path, database_url: str | None = None):
        self.base_env = base_env
        self.tmp_path = tmp_path
        self.database_url = database_url or f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        self.database = sqlite_file(self.database_url)  # None on PostgreSQL

    def env(self, name: str, **extra) -> dict:
        home = self.tmp_path / "terminals" / name
        return {**self.base_env, "VAR_DIR": str(home / "var"), "REPORTS_DIR": str(home / "reports"),
                "DATABASE_URL": self.database_url, **extra}

    def delete_store(self) -> list[Path]:
        """The store lost (or restored from nothing): the file and its WAL and shared memory, or
        every table of the PostgreSQL database (its schema dropped and made again, empty)."""
        if self.database is None:
            store_query(self.database_url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            return [Path(self.database_url)]
        gone = []
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = Path(str(self.database) + suffix)
            if path.exists():
                path.unlink()
                gone.append(path)
        return gone

    def store(self) -> "StoreView":
        return StoreView(self.database_url)


def start(*args: str, env: dict) -> subprocess.Popen:
    """`python -m bots ARGS` started, not waited for (start every terminal before waiting on any)."""
    return subprocess.Popen([sys.executable, "-m", "bots", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(processes: list[subprocess.Popen], timeout: float = 240) -> list[subprocess.CompletedProcess]:
    done = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def told(done: list[subprocess.CompletedProcess]) -> str:
    """Every process's exit code and output, for an assertion message."""
    return "\n".join(f"--- exit {d.returncode}: {' '.join(d.args[3:])}\n{d.stdout}\n{d.stderr}" for d in done)


# -- the store, read as plain tables -----------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """A statement line and its escalation (if any), as the store holds them."""

    fingerprint: str
    bank: str
    account_no: str
    description: str
    amount: Decimal
    direction: str
    code: str | None
    ticket_id: str | None
    escalation_id: int | None
    escalation_status: str | None
    escalation_agent: str | None

    @property
    def identity(self) -> tuple[str, str, str, Decimal]:
        """What stays the same for this money whatever store reads it."""
        return (self.bank.lower(), self.account_no, self.description, self.amount)


class StoreView:
    def __init__(self, url: str):
        self.url = url

    def _rows(self, sql: str, params=()) -> list:
        return [row._mapping for row in store_query(self.url, sql, params)]

    def lines(self) -> list[Line]:
        rows = self._rows(
            "SELECT s.fingerprint, s.bank, s.account_no, s.description, s.amount, s.direction, s.code, s.ticket_id,"
            " e.id AS escalation_id, e.status AS escalation_status, e.agent_id AS escalation_agent"
            " FROM statement_lines s LEFT JOIN escalations e ON e.fingerprint = s.fingerprint ORDER BY s.id")
        return [Line(r["fingerprint"], r["bank"], r["account_no"], r["description"], Decimal(r["amount"]),
                     r["direction"], r["code"], r["ticket_id"], r["escalation_id"], r["escalation_status"],
                     r["escalation_agent"]) for r in rows]

    def escalated_lines(self, status: str | None = "OPEN") -> list[Line]:
        return [line for line in self.lines() if line.escalation_id is not None
                and (status is None or line.escalation_status == status)]

    def escalation_counts(self) -> Counter:
        """How many escalation rows each line has (the schema allows one: more is a bug)."""
        return Counter(r["fingerprint"] for r in self._rows("SELECT fingerprint FROM escalations"))

    def actions(self) -> list[dict]:
        rows = self._rows("SELECT * FROM actions ORDER BY id")
        found = []
        for row in rows:
            record = dict(row)
            try:
                record["payload"] = json.loads(record.get("payload") or "{}")
            except ValueError:
                pass
            found.append(record)
        return found

    def actions_mentioning(self, text: str) -> list[dict]:
        return [a for a in self.actions() if text in json.dumps(a.get("payload"), sort_keys=True)]


# -- the world's balance log -------------------------------------------------------------------------

def manual_adds(state: dict) -> list[dict]:
    return [r for r in state["balance_log"] if r["kind"] == "MANUAL"]


def marker_of(note: str) -> str:
    """The marker a non-idempotent act carries at the start of its free text: the first token."""
    return (note or "").split()[0] if (note or "").split() else ""


# -- worlds --------------------------------------------------------------------------------------------

#: Which agent finance credits each escalated line of tests/reconcile_world.py to, by amount.
ESCALATED_AGENTS = {Decimal(300000): "AG3", Decimal(1000000): "AG4", Decimal(200011): "AG4",
                    Decimal(150033): "AG2", Decimal(175099): "AG3", Decimal(734512): "AG1"}

UNKNOWN_AGENT_AGENTS = """agent_id,name,phone,balance
AG1,Cell Jaya Balaraja,081210000001,100000
AG2,Pulsa Murah Tigaraksa,081210000002,0
"""
# TK9's agent AG9 left the network: the server no longer knows it (not in agents.csv)
UNKNOWN_AGENT_TICKETS = f"""ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status
TK1,AG1,500123,bca,{BCA},-3h,+6h,OPEN
TK9,AG9,300045,bca,{BCA},-3h,+6h,OPEN
TK2,AG2,250087,mandiri,{MANDIRI},-3h,+6h,OPEN
"""
UNKNOWN_AGENT_MUTATIONS = f"""bank,account_no,posted_at,description,amount,direction
bca,{BCA},-2h,TRSF E-BANKING CR 2311/FTSCY/WS95051 300045.00 KONTER LAMA,300045,CR
bca,{BCA},-100m,TRSF E-BANKING CR 2311/FTSCY/WS95051 500123.00 BUDI SANTOSO,500123,CR
mandiri,{MANDIRI},-90m,Trf Inw CN BANK CENTRAL ASIA PULSA MURAH,250087,CR
"""


def write_unknown_agent_world(folder: Path) -> Path:
    """The reconciliation world's portals; three tickets, one of an agent the server does not know."""
    write_world(folder)
    for name, text in (("agents.csv", UNKNOWN_AGENT_AGENTS), ("tickets.csv", UNKNOWN_AGENT_TICKETS),
                       ("mutations.csv", UNKNOWN_AGENT_MUTATIONS)):
        (folder / name).write_text(absolute(text), encoding="utf-8")
    return folder


def _portal_users(folder: Path, keys: tuple[str, ...]) -> None:
    users = (WORLD / "portal_users.csv").read_text(encoding="utf-8").splitlines()
    (folder / "portal_users.csv").write_text(
        "\n".join([users[0]] + [u for u in users[1:] if u.split(",")[0] in keys]) + "\n", encoding="utf-8")


#: Orders of the demo world that must be refunded (tests/test_esim_e2e.py REFUNDED), a few kept.
ESIM_ORDERS = ("PSB-2611-001", "PSB-2611-002", "PSB-2611-003", "PSB-2611-004", "PSB-2611-006", "PSB-2611-008")


def write_esim_world(folder: Path) -> Path:
    """A few eSIM orders: one valid, the rest refunded for different reasons (device, form,
    Dukcapil KK mismatch, ISMARA arrears, unknown NIK)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("esim_orders.csv", "esim_payments.csv"):
        lines = (WORLD / name).read_text(encoding="utf-8").splitlines()
        kept = [lines[0]] + [line for line in lines[1:] if line.split(",")[0] in ESIM_ORDERS]
        (folder / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    for name in ("dukcapil.csv", "ismara.csv"):
        shutil.copy(WORLD / name, folder / name)
    # issue 13: invalid orders wait for a person before any refund; closed orders get their money
    # back at once — two closed at 72 h with the upfront in, refunded by the bot alone
    with (folder / "esim_orders.csv").open("a", encoding="utf-8") as orders, \
            (folder / "esim_payments.csv").open("a", encoding="utf-8") as payments:
        for n in (13, 14):
            orders.write(f"PSB-2611-0{n},-80h,DS-BLR-01,Pelanggan {n},36031215059000{n},36031201011500{n},"
                         f"0813111100{n},p{n}@contoh.id,iPhone 15,Halo 150K,150000,25000,QRIS,ya\n")
            payments.write(f"PSB-2611-0{n},150000,-79h,QRIS\n")
    _portal_users(folder, ("indiana", "aggregator", "dukcapil", "ismara"))
    return folder


PENDING_T0 = "2026-11-23T10:00:00+07:00"
PENDING_TRANSACTIONS = """trx_id,agent_id,product,destination,price,supplier,created_at,status,sn
T1,AG1,S10,081234500001,10250,mitra,2026-11-23T09:57:00+07:00,PENDING,
T2,AG2,X25,087812300002,25100,sinar,2026-11-23T09:40:00+07:00,PENDING,
T3,AG3,S20,081234500003,20150,mitra,2026-11-23T09:56:00+07:00,PENDING,
T4,AG1,PLN50,5123400004,50500,mitra,2026-11-23T08:00:00+07:00,SUKSES,0144700000000004
"""
PENDING_BEHAVIOUR = """trx_id,resolves_after,final_status,sn
T1,never,,
T2,never,,
T3,never,,
"""
PENDING_AGENT_COMPLAINTS = """complaint_id,trx_id,reported_at,kind,note
K1,T4,2026-11-23T09:55:00+07:00,PRODUCT_NOT_RECEIVED,token belum masuk
"""
PENDING_AGENTS = "agent_id,name,phone,balance\nAG1,Cell Jaya,0812,100000\nAG2,Pulsa Murah,0813,0\n" \
                 "AG3,Konter Berkah,0814,0\n"


def write_pending_world(folder: Path) -> Path:
    """Three stuck transactions at two suppliers (complaint, hard complaint) and one agent report."""
    folder.mkdir(parents=True, exist_ok=True)
    _portal_users(folder, ("otomax", "supplier_mitra", "supplier_sinar", "helpdesk"))
    for name, text in (("transactions.csv", PENDING_TRANSACTIONS), ("supplier_behaviour.csv", PENDING_BEHAVIOUR),
                       ("agent_complaints.csv", PENDING_AGENT_COMPLAINTS), ("agents.csv", PENDING_AGENTS)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder
