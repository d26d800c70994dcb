"""`/bank/<bca|mandiri|bri|bni>/`: internet banking — accounts, mutasi by date range, export.

One builder serves the four banks; what differs is the title, the export formats offered and
KlikBCA's pending rows. An account's running balance (saldo) is its seeded opening balance
plus its mutations in `posted_at` order (ties: seed order), counting only mutations the
world's clock has reached, so rows dated in the future appear when the clock gets there.

Quirks kept on purpose, because the bots must cope with them:
- one active session per user (a second login ends the first);
- a statement covers at most 31 days, and the end may not come before the start;
- KlikBCA shows a mutation from the last `PEND_WINDOW` of world time as `PEND` (not posted
  yet, no date); it gets its date once the clock has moved past the window.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Response, request

from mock_portals.exports import branch_of, write_statement
from mock_portals.framework import Column, Portal, paginate, rupiah
from mock_portals.world import JAKARTA, World

PEND_WINDOW = timedelta(minutes=5)
MAX_DAYS = 31  # the longest period one statement may cover, as the real portals limit it
#: the export formats each bank offers: (value, label), the bank's usual one first
EXPORTS = {
    "bca": [("bca-individual", "CSV (KlikBCA Individual)"), ("bca-bisnis", "CSV (KlikBCA Bisnis)")],
    "mandiri": [("mandiri-mcm", "CSV (Mandiri MCM/Kopra)")],
    "bri": [("bri-cms", "CSV (BRI CMS)")],
    "bni": [("bni", "CSV (BNI)")],
}
ACCOUNT_COLUMNS = [Column("No. Rekening", "account_no"), Column("Nama Pemilik", "holder"),
                   Column("Saldo", "balance", "rupiah")]


class Refused(Exception):
    """A statement request the bank turns down, with the words the page shows."""

    def __init__(self, text: str, status: int = 400):
        super().__init__(text)
        self.text, self.status = text, status


# -- the ledger: pure functions of the world's rows ------------------------------------------

def ledger(account: dict, mutations: list[dict], now: datetime) -> list[dict]:
    """The account's lines up to `now`, oldest first, each with `balance` after it.

    Each line is its mutation row plus `balance`, `pending` (KlikBCA, within PEND_WINDOW of
    `now`) and `seq` (the mutation's 1-based position in the world's table).
    """
    mine = [(number, m) for number, m in enumerate(mutations, start=1)
            if m["bank"] == account["bank"] and m["account_no"] == account["account_no"]
            and m["posted_at"] <= now]
    mine.sort(key=lambda pair: pair[1]["posted_at"])  # stable: equal times keep seed order
    balance, lines = account["opening_balance"], []
    for number, row in mine:
        balance += row["amount"] if row["direction"] == "CR" else -row["amount"]
        pending = account["bank"] == "bca" and now - row["posted_at"] < PEND_WINDOW
        lines.append({**row, "balance": balance, "pending": pending, "seq": number})
    return lines


def wib_date(moment: datetime) -> date:
    return moment.astimezone(JAKARTA).date()


def period(lines: list[dict], account: dict, start: date, end: date) -> tuple[int, list[dict]]:
    """(saldo at the start of the period, the period's lines) — days inclusive, WIB dates."""
    before = [line for line in lines if wib_date(line["posted_at"]) < start]
    opening = before[-1]["balance"] if before else account["opening_balance"]
    return opening, [line for line in lines if start <= wib_date(line["posted_at"]) <= end]


def parse_range(args, today: date) -> tuple[date, date]:
    """The period a form asks for (`dari`, `sampai`; today when left empty), or Refused."""
    try:
        start = date.fromisoformat(args.get("dari") or today.isoformat())
        end = date.fromisoformat(args.get("sampai") or today.isoformat())
    except ValueError:
        raise Refused("Tanggal tidak valid. Gunakan pemilih tanggal (HH/BB/TTTT).") from None
    if end < start:
        raise Refused("Tanggal akhir tidak boleh sebelum tanggal awal.")
    if (end - start).days + 1 > MAX_DAYS:
        raise Refused(f"Periode mutasi maksimal {MAX_DAYS} hari. Persempit rentang tanggal.")
    return start, end


# -- the portal -------------------------------------------------------------------------------

def build(world: World, key: str, title: str) -> Portal:
    """The internet banking of one bank (`bank_bca`…): accounts, mutasi and its export."""
    bank = key.removeprefix("bank_")
    portal = Portal(world, key, title, single_session=True,
                    nav=[("Mutasi Rekening", "statement")])

    def accounts() -> list[dict]:
        return [a for a in world.table("bank_accounts") if a["bank"] == bank]

    def lines_of(account: dict, now: datetime) -> list[dict]:
        with world.lock:  # the control API may be appending mutations meanwhile
            mutations = list(world.table("mutations"))
        return ledger(account, mutations, now)

    def chosen_account(mine: list[dict]) -> dict:
        wanted = request.args.get("rekening", "").strip()
        if not wanted:
            if not mine:
                raise Refused("Tidak ada rekening pada pengguna ini.", 404)
            return mine[0]
        found = next((a for a in mine if a["account_no"] == wanted), None)
        if found is None:
            raise Refused(f"Rekening {wanted} tidak terdaftar pada pengguna ini.", 404)
        return found

    @portal.page("/")
    def home():
        now = world.now()
        rows = []
        for account in accounts():
            lines = lines_of(account, now)
            rows.append({**account, "balance": lines[-1]["balance"] if lines else account["opening_balance"]})
        return portal.listing(
            "Daftar Rekening", ACCOUNT_COLUMNS, rows,
            intro=f"Saldo per {now.astimezone(JAKARTA):%d/%m/%Y %H:%M} WIB.",
            actions=lambda a: [{"label": "Mutasi", "method": "get",
                                "url": f"{request.script_root}/mutasi?rekening={a['account_no']}"}])

    def statement_page(error: Refused | None = None, **shown):
        """The mutasi form (filled in as asked), with the period's table or the refusal."""
        today = wib_date(world.now()).isoformat()
        context = {"accounts": accounts(), "formats": EXPORTS[bank], "page": None,
                   "chosen": request.args.get("rekening", ""),
                   "start": request.args.get("dari") or today,
                   "end": request.args.get("sampai") or today, **shown}
        html = portal.render("bank_mutasi.html", title="Mutasi Rekening",
                             error=error.text if error else None, **context)
        return html, error.status if error else 200

    @portal.page("/mutasi")
    def statement():
        now = world.now()
        try:
            account = chosen_account(accounts())
            start, end = parse_range(request.args, wib_date(now))
        except Refused as exc:
            return statement_page(exc)
        opening, lines = period(lines_of(account, now), account, start, end)
        return statement_page(chosen=account["account_no"], opening=opening,
                              closing=lines[-1]["balance"] if lines else opening,
                              page=paginate([_shown(line, bank) for line in lines]))

    @portal.page("/mutasi/unduh")
    def download():
        now = world.now()
        fmt = request.args.get("format") or EXPORTS[bank][0][0]
        try:
            if fmt not in dict(EXPORTS[bank]):
                raise Refused(f"Format {fmt} tidak tersedia di {title}.")
            account = chosen_account(accounts())
            start, end = parse_range(request.args, wib_date(now))
        except Refused as exc:
            return statement_page(exc)  # the page "Tampilkan" gives, with the reason: no file
        opening, lines = period(lines_of(account, now), account, start, end)
        name, data = write_statement(fmt, {**account, "opening_balance": opening}, lines,
                                     start, end, now)
        charset = "windows-1252" if fmt.startswith("bca") else "utf-8"
        return Response(data, content_type=f"text/csv; charset={charset}",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return portal


def _shown(line: dict, bank: str) -> dict:
    """A line as the web table shows it (KlikBCA: no time of day, and PEND while pending)."""
    moment = line["posted_at"].astimezone(JAKARTA)
    if line["pending"]:
        when = "PEND"
    elif bank == "bca":
        when = f"{moment:%d/%m/%Y}"
    else:
        when = f"{moment:%d/%m/%Y %H:%M:%S}"
    return {"when": when, "description": line["description"],
            "branch": branch_of(line["description"]), "amount": rupiah(line["amount"]),
            "direction": line["direction"], "balance": rupiah(line["balance"])}

