"""One workbook write in a process of its own, so its peak memory can be measured alone.

    python -m bench.workbook_job build DB LINES      # a store with LINES statement lines today
    python -m bench.workbook_job ours DB OUT          # the bot's reconciliation workbook
    python -m bench.workbook_job openpyxl DB OUT      # the same lines, openpyxl in normal mode
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


def build(db: str, count: int) -> None:
    import hashlib

    from bots.reconcile.tables import escalations, statement_lines
    from bots.store import Store

    store = Store(f"sqlite:///{db}")
    store.migrate()
    day, rows, escalated = NOW.date(), [], []
    for n in range(count):
        fp = hashlib.sha256(f"bench-line-{n}".encode()).hexdigest()
        credit = n % 5 != 0
        code = ("NO_MATCHING_TICKET" if n % 100 == 1 else "AUTO_CREDITED") if credit else "DEBIT_IGNORED"
        rows.append(dict(
            fingerprint=fp, bank="bca" if n % 2 else "mandiri", account_no="5270418836" if n % 2 else "1560007734218",
            day=day, posted_on=day, posted_at=NOW - timedelta(seconds=count - n),
            description=f"TRSF E-BANKING CR 2311/FTSCY/WS95051 AGEN NOMOR {n % 977}",
            amount=f"{100_000 + n * 7 % 900_000}.00", direction="CR" if credit else "DB",
            balance=f"{500_000_000 + n}.00", pending=False, source="bench.csv", first_seen_at=NOW, run_id="bench",
            code=code, reason="Cocok dengan tiket" if code == "AUTO_CREDITED" else "Tidak ada tiket",
            ticket_id=f"T{n}" if code == "AUTO_CREDITED" else None,
            agent_id=f"AG{n % 50:04d}" if code == "AUTO_CREDITED" else None, candidates=[], decided_at=NOW))
        if code == "NO_MATCHING_TICKET":
            escalated.append(dict(fingerprint=fp, code=code, reason="Tidak ada tiket", candidates=[],
                                  status="OPEN", created_at=NOW))
    with store.write() as conn:
        conn.execute(statement_lines.insert(), rows)
        if escalated:
            conn.execute(escalations.insert(), escalated)
    store.dispose()


def ours(db: str, out: str) -> None:
    from bots.reconcile.ledger import Ledger
    from bots.reconcile.report import write_report
    from bots.store import Store

    store = Store(f"sqlite:///{db}")
    write_report(Ledger(store), Path(out), NOW.date(), NOW)


def plain_openpyxl(db: str, out: str) -> None:
    from openpyxl import Workbook

    from bots.reconcile.ledger import Ledger
    from bots.store import Store

    lines = Ledger(Store(f"sqlite:///{db}")).lines_of(NOW.date())
    book = Workbook()
    sheet = book.active
    sheet.title = "Mutasi"
    sheet.append(["Tanggal", "Waktu", "Bank", "No. Rekening", "Keterangan", "D/K", "Nominal", "Saldo", "Kode",
                  "Alasan", "Tiket", "Agen", "Sumber"])
    for ln in lines:
        sheet.append([ln.posted_on, ln.posted_at.replace(tzinfo=None), ln.bank.upper(), ln.account_no, ln.description,
                      ln.direction, float(ln.amount), float(ln.balance), ln.code, ln.reason, ln.ticket_id, ln.agent_id,
                      ln.source])
    Path(out).mkdir(parents=True, exist_ok=True)
    book.save(Path(out) / "openpyxl-normal.xlsx")


def peak_rss_kb() -> int:
    """This process's peak resident memory since it started (VmHWM: reset by exec, unlike
    ru_maxrss, which keeps the size of the process that forked us)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    what, db, arg = sys.argv[1:4]
    if what == "build":
        build(db, int(arg))
    elif what == "ours":
        ours(db, arg)
    else:
        plain_openpyxl(db, arg)
    print(f"peak_rss_kb {peak_rss_kb()}", flush=True)
