"""A small world for the reconciliation tests: every outcome code once, exact expectations."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.conftest import WORLD, MockWorld

BCA, MANDIRI = "5270418836", "1560007734218"

AGENTS = """agent_id,name,phone,balance
AG1,Cell Jaya Balaraja,081210000001,100000
AG2,Pulsa Murah Tigaraksa,081210000002,0
AG3,Konter Berkah,081210000003,50000
AG4,Sinar Phone,081210000004,0
"""
ACCOUNTS = f"""bank,account_no,holder,opening_balance
bca,{BCA},PT TRAVELPULSA NUSANTARA,10000000
mandiri,{MANDIRI},PT TRAVELPULSA NUSANTARA,5000000
"""
TICKETS = f"""ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status
TK1,AG1,500123,bca,{BCA},-3h,+6h,OPEN
TK2,AG2,250087,mandiri,{MANDIRI},-3h,+6h,OPEN
TK3,AG3,300045,bca,{BCA},-3h,+6h,OPEN
TK4,AG4,200011,bca,{BCA},-3h,+6h,OPEN
TK5,AG1,200011,bca,{BCA},-3h,+6h,OPEN
TK6,AG2,150033,bca,{BCA},-5h,-2h,OPEN
TK7,AG3,175099,bca,{BCA},-5h,+6h,APPROVED
TK8,AG4,400077,bca,{BCA},-1h,+6h,OPEN
"""
# what each line must end as (fingerprint order aside): the contract of these tests
MUTATIONS = f"""bank,account_no,posted_at,description,amount,direction
bca,{BCA},-2h,TRSF E-BANKING CR 2311/FTSCY/WS95051 500123.00 BUDI SANTOSO,500123,CR
mandiri,{MANDIRI},-100m,Trf Inw CN BANK CENTRAL ASIA PULSA MURAH,250087,CR
bca,{BCA},-90m,TRSF E-BANKING CR 2311/FTSCY/WS95051 300000.00 SITI KONTER BERKAH,300000,CR
bca,{BCA},-80m,TRSF E-BANKING CR 2311/FTSCY/WS95051 1000000.00 ANDI WIJAYA,1000000,CR
bca,{BCA},-70m,TRSF E-BANKING CR 2311/FTSCY/WS95051 200011.00 SINAR PHONE,200011,CR
bca,{BCA},-60m,TRSF E-BANKING CR 2311/FTSCY/WS95051 150033.00 PULSA MURAH,150033,CR
bca,{BCA},-50m,TRSF E-BANKING CR 2311/FTSCY/WS95051 175099.00 KONTER BERKAH,175099,CR
bca,{BCA},-40m,TRSF E-BANKING DB 2311/FTSCY/WS95051 BIAYA ADM,50000,DB
bca,{BCA},-30m,TRSF E-BANKING CR 2311/FTSCY/WS95051 734512.00 TANPA NAMA,734512,CR
"""
EXPECTED_CODES = sorted(["AUTO_CREDITED", "AUTO_CREDITED", "AMOUNT_MISMATCH", "NO_TICKET_ROUND_AMOUNT",
                         "AMBIGUOUS_TICKETS", "TICKET_EXPIRED", "TICKET_ALREADY_PROCESSED", "DEBIT_IGNORED",
                         "NO_MATCHING_TICKET"])
ESCALATED = 6
CREDITS = {"AG1": 500123, "AG2": 250087}


#: The world's "now" in these tests: midday, so "-2h" never falls on yesterday whenever CI runs.
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
_RELATIVE = re.compile(r"(?<=,)([+-])(\d+)([hm])(?=,|$)", re.M)


def absolute(text: str) -> str:
    """Relative seed times (-3h, +6h, -90m) as ISO times around T0."""
    def at(match) -> str:
        amount = int(match.group(2)) * (3600 if match.group(3) == "h" else 60)
        return (T0 + timedelta(seconds=amount if match.group(1) == "+" else -amount)).isoformat()

    return _RELATIVE.sub(at, text)


def write_world(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    users = (WORLD / "portal_users.csv").read_text(encoding="utf-8").splitlines()
    keep = [users[0]] + [u for u in users[1:] if u.split(",")[0] in ("otomax", "bank_bca", "bank_mandiri", "helpdesk")]
    (folder / "portal_users.csv").write_text("\n".join(keep) + "\n", encoding="utf-8")
    for name, text in (("agents.csv", AGENTS), ("bank_accounts.csv", ACCOUNTS), ("tickets.csv", TICKETS),
                       ("mutations.csv", MUTATIONS)):
        (folder / name).write_text(absolute(text), encoding="utf-8")
    return folder


def env_file(folder: Path) -> Path:
    """Credentials for the four portals of this world only."""
    lines = [line for line in (WORLD.parent.parent / "config" / "demo.env").read_text().splitlines()
             if line.split("_")[0] in ("OTOMAX", "HELPDESK") or line.startswith(("BANK_BCA_", "BANK_MANDIRI_"))]
    path = folder / "reconcile.env"
    path.write_text("\n".join(lines) + "\n")
    return path


__all__ = ["write_world", "env_file", "shutil"]


def running_world(tmp_path, bot_env):
    """For a fixture: this world in its own process at T0 (the bot's clock too), and a bot
    environment whose notifications reach the world's helpdesk; yields (world, env, tmp_path)."""
    folder = write_world(tmp_path / "world")
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    env = bot_env(world.url, BOTS_ENV_FILE=str(env_file(folder)), COLUMNS="250", BOTS_NOW=T0.isoformat(),
                  NOTIFY_URLS=f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages")
    yield world, env, tmp_path
    world.stop()
