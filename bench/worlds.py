"""Seed folders for the benchmarks' worlds, generated (DESIGN §4's seed files and columns)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import WORLD, write_csv

BCA, MANDIRI = "5270418836", "1560007734218"
ACCOUNTS = {"bca": BCA, "mandiri": MANDIRI, "bri": "034201000871562", "bni": "0823417769"}
AGENTS = 50


def base(folder: Path) -> Path:
    """Every portal's demo users, the demo bank accounts and 50 agents; nothing else yet."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(WORLD / "portal_users.csv", folder / "portal_users.csv")
    shutil.copy(WORLD / "bank_accounts.csv", folder / "bank_accounts.csv")
    write_csv(folder, "agents.csv", "agent_id,name,phone,balance",
              (f"AG{n:04d},Konter Bench {n},0812{n:08d},0" for n in range(1, AGENTS + 1)))
    return folder


def ticket_amount(number: int) -> int:
    """Exact, unique amounts, more than Rp 1.000 apart (never a near miss of another ticket)."""
    return 100_000 + 2_003 * number


def deposits(folder: Path, count: int, *, prefix: str = "TB", bank: str = "mandiri",
             with_mutations: bool = True) -> Path:
    """`count` OPEN tickets on one account and, if asked, the transfer paying each exactly."""
    base(folder)
    account = ACCOUNTS[bank]
    write_csv(folder, "tickets.csv", "ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status",
              (f"{prefix}{n:05d},AG{n % AGENTS + 1:04d},{ticket_amount(n)},{bank},{account},-2h,+6h,OPEN"
               for n in range(1, count + 1)))
    if with_mutations:
        write_csv(folder, "mutations.csv", "bank,account_no,posted_at,description,amount,direction",
                  (f"{bank},{account},-{90 - n * 60 // max(count, 1)}m,TRF INW SETORAN AGEN {n % AGENTS + 1} "
                   f"REF{n:05d},{ticket_amount(n)},CR" for n in range(1, count + 1)))
    return folder


def transactions(folder: Path, count: int, created: datetime, *, tickets: int = 0) -> Path:
    """`count` PENDING transactions created at `created` (and `tickets` OPEN deposit tickets)."""
    base(folder)
    moment = created.isoformat()
    write_csv(folder, "transactions.csv", "trx_id,agent_id,product,destination,price,supplier,created_at,status,sn",
              (f"TRB{n:06d},AG{n % AGENTS + 1:04d},S{(n % 4 + 1) * 5},0812{n:08d},{5_000 + n % 50 * 1_000},"
               f"{'mitra' if n % 2 else 'sinar'},{moment},PENDING," for n in range(1, count + 1)))
    if tickets:
        write_csv(folder, "tickets.csv", "ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status",
                  (f"TR{n:05d},AG{n % AGENTS + 1:04d},{ticket_amount(n)},bca,{BCA},-2h,+6h,OPEN"
                   for n in range(1, tickets + 1)))
    return folder


def minute_before(now: datetime) -> datetime:
    return now.replace(microsecond=0) - timedelta(minutes=1)
