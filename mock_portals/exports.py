"""Statement files (mutasi) in each bank's own export format, written for the mock banks.

Pure functions: no world, no clock, no Flask. `write_statement` is the one entry point; each
format follows shared/BANK-EXPORTS.md and is read back by `bots.parsers.parse_statement` (the
bank-portal tests round-trip every format through it).

What goes in:
- `account`: the `bank_accounts` row of the statement, whose `opening_balance` is the saldo
  at the start of the period (before its first line), not the account's seeded one;
- `lines`: the period's lines, oldest first, each a dict with `posted_at` (aware datetime),
  `description`, `amount` (int, rupiah), `direction` (`CR`/`DB`), `balance` (the saldo after
  the line), `pending` (KlikBCA: not yet posted) and `seq` (the mutation's number in the
  world, from which journal numbers and IDs are made, so a line keeps them between downloads).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Callable
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
# strftime's %B follows the process locale; the Kopra export is always English.
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_REMARKS_WIDTH = 24  # Mandiri pads Remarks to 24 characters; the rest is in AdditionalDesc


def write_statement(fmt: str, account: dict, lines: list[dict], start: date, end: date,
                    now: datetime) -> tuple[str, bytes]:
    """One statement export as the bank's portal serves it: (file name, bytes).

    Args:
        fmt: `bca-individual`, `bca-bisnis`, `mandiri-mcm`, `bri-cms` or `bni` (see FORMATS).
        start, end: the period asked for (WIB dates, inclusive).
        now: the moment of the download, which some banks put in the file name.
    """
    try:
        writer, name = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})") from None
    stamp = now.astimezone(JAKARTA)
    file_name = name.format(acct=account["account_no"], start=start, end=end, now=stamp)
    return file_name, writer(account, lines, start, end)


# -- cells ------------------------------------------------------------------------------------

def _plain(amount: int) -> str:
    return f"{amount}.00"


def _grouped(amount: int) -> str:
    return f"{amount:,}.00"


def _local(line: dict) -> datetime:
    return line["posted_at"].astimezone(JAKARTA)


def _totals(lines: list[dict]) -> tuple[int, int]:
    credit = sum(ln["amount"] for ln in lines if ln["direction"] == "CR")
    return credit, sum(ln["amount"] for ln in lines) - credit


def branch_of(description: str) -> str:
    """KlikBCA's Cabang: 0000 for electronic channels, the branch for cash, 0998 for clearing."""
    text = description.upper()
    if text.startswith(("SETORAN TUNAI", "TARIKAN TUNAI", "TARIKAN ATM")):
        return "0412"
    if text.startswith("KR OTOMATIS"):
        return "0998"
    return "0000"


def _csv(delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL, newline: str = "\r\n"):
    out = io.StringIO()
    return out, csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=newline)


def _posted_then_pending(lines: list[dict]) -> list[dict]:
    # KlikBCA lists the rows not yet posted after the posted ones (sorted() is stable)
    return sorted(lines, key=lambda ln: ln.get("pending", False))


# -- the formats --------------------------------------------------------------------------------

def _bca_individual(account: dict, lines: list[dict], start: date, end: date) -> bytes:
    """KlikBCA Individual: preamble, yearless apostrophe-guarded rows, `Saldo Awal,=,` footer."""
    out, rows = _csv()
    out.write(f"No. rekening : {account['account_no']}\r\nNama : {account['holder']}\r\n"
              f"Periode : {start:%d/%m/%Y} - {end:%d/%m/%Y}\r\nKode Mata Uang : Rp\r\n\r\n"
              "Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo\r\n")
    for line in _posted_then_pending(lines):
        when = "'PEND" if line.get("pending") else f"'{_local(line):%d/%m}"
        # the csv module quotes a description with a comma, and "1,500,000.00" amounts
        rows.writerow([when, "'" + line["description"], "'" + branch_of(line["description"]),
                       _grouped(line["amount"]), line["direction"], _grouped(line["balance"])])
    credit, debit = _totals(lines)
    opening = account["opening_balance"]
    out.write("\r\n")
    for label, amount in (("Saldo Awal", opening), ("Kredit", credit), ("Debet", debit),
                          ("Saldo Akhir", opening + credit - debit)):
        rows.writerow([label, "=", _plain(amount)])
    # KlikBCA serves Windows-1252; a character it cannot hold becomes '?', as in the real file
    return out.getvalue().encode("cp1252", errors="replace")


def _bca_bisnis(account: dict, lines: list[dict], start: date, end: date) -> bytes:
    """KlikBCA Bisnis: no preamble, full dates, direction inside the amount ("1,000.00 CR")."""
    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    out = ['Tanggal Transaksi,"Keterangan","Cabang","Jumlah"']
    for line in _posted_then_pending(lines):
        when = "PEND" if line.get("pending") else f"{_local(line):%d/%m/%Y}"
        # Bisnis pads the description with a trailing space, as in the published samples
        out.append(",".join([when, quoted(line["description"] + " "),
                             quoted(branch_of(line["description"])),
                             quoted(f"{_grouped(line['amount'])} {line['direction']}")]))
    return ("\r\n".join(out) + "\r\n").encode("cp1252", errors="replace")


def _remarks(description: str) -> tuple[str, str]:
    """Split at a word boundary into padded Remarks and AdditionalDesc (the parser rejoins them)."""
    words = description.split()
    remarks = words.pop(0) if words else ""
    while words and len(remarks) + 1 + len(words[0]) <= _REMARKS_WIDTH:
        remarks += " " + words.pop(0)
    return remarks.ljust(_REMARKS_WIDTH), " ".join(words)


def _mandiri_mcm(account: dict, lines: list[dict], start: date, end: date) -> bytes:
    """Mandiri MCM/Kopra: semicolons, `03 August 2026 11:27:10`, account in every row."""
    out, rows = _csv(";")
    rows.writerow(["AccountNo", "Ccy", "PostDate", "Remarks", "AdditionalDesc", "Credit Amount",
                   "Debit Amount", "Close Balance"])
    for line in lines:
        at = _local(line)
        credit = line["amount"] if line["direction"] == "CR" else 0
        rows.writerow([account["account_no"], "IDR",
                       f"{at.day:02d} {_MONTHS[at.month - 1]} {at.year} {at:%H:%M:%S}",
                       *_remarks(line["description"]), _plain(credit),
                       _plain(line["amount"] - credit), _plain(line["balance"])])
    return out.getvalue().encode("utf-8-sig")  # Kopra writes a BOM so Excel reads UTF-8


BRI_HEADER = ("ID,NOREK,TGL_TRAN,TGL_EFEKTIF,JAM_TRAN,SEQ,DESK_TRAN,SALDO_AWAL_MUTASI,"
              "MUTASI_DEBET,MUTASI_KREDIT,SALDO_AKHIR_MUTASI,GLSIGN,TRUSER,KODE_TRAN,"
              "KODE_TRAN_TELLER,TRREMK,TLBDS1,TLBDS2,REMARK_CUSTOM")


def _bri_cms(account: dict, lines: list[dict], start: date, end: date) -> bytes:
    """BRI CMS: header bare, every cell quoted, balance before and after each row."""
    out, rows = _csv(quoting=csv.QUOTE_ALL, newline="\n")
    out.write(BRI_HEADER + "\n")
    for line in lines:
        at = _local(line)
        credit = line["amount"] if line["direction"] == "CR" else 0
        debit = line["amount"] - credit
        moment = f"{at:%Y-%m-%d %H:%M:%S}"
        # booked the moment it happened: TGL_EFEKTIF is TGL_TRAN (no next-day cut-off here)
        rows.writerow([str(1000 + line["seq"]), account["account_no"], moment, moment,
                       str(int(f"{at:%H%M%S}")),  # JAM_TRAN unpadded: 003153 is written 3153
                       str(143000 + line["seq"]), line["description"],
                       _plain(line["balance"] - credit + debit), _plain(debit), _plain(credit),
                       _plain(line["balance"]), "Cr" if credit else "Db", "8888079", "4",
                       "6670", "", "", "", ""])
    return out.getvalue().encode("utf-8")


def _bni(account: dict, lines: list[dict], start: date, end: date) -> bytes:
    """BNI: `Account No :` preamble, `DD/MM/YY HH.MM.SS`, Debit/Credit, a trailing comma."""
    out, rows = _csv()
    out.write(f"Account No : {account['account_no']}\r\nAccount Name : {account['holder']}\r\n"
              f"Period : {start:%d/%m/%Y} - {end:%d/%m/%Y}\r\n\r\n")
    rows.writerow(["Post Date", "Value Date", "Branch", "Journal No.", "Description", "Debit",
                   "Credit", ""])
    for line in lines:
        at = f"{_local(line):%d/%m/%y %H.%M.%S}"
        credit = line["amount"] if line["direction"] == "CR" else 0
        rows.writerow([at, at, "0259", f"{900000 + line['seq']}", line["description"],
                       _plain(line["amount"] - credit), _plain(credit), ""])
    return out.getvalue().encode("utf-8")


Writer = Callable[[dict, list[dict], date, date], bytes]
#: format -> (writer, file name pattern); names carry the account, the period and the moment
FORMATS: dict[str, tuple[Writer, str]] = {
    "bca-individual": (_bca_individual, "mutasi_{acct}_{start:%d%m%Y}-{end:%d%m%Y}_{now:%H%M%S}.csv"),
    "bca-bisnis": (_bca_bisnis, "AccountStatement_{acct}_{start:%Y%m%d}_{end:%Y%m%d}_{now:%H%M%S}.csv"),
    "mandiri-mcm": (_mandiri_mcm, "MCM_{acct}_{start:%Y%m%d}-{end:%Y%m%d}_{now:%Y%m%d%H%M%S}.csv"),
    "bri-cms": (_bri_cms, "{acct}_{start:%Y%m%d}_{end:%Y%m%d}_{now:%H%M%S}.csv"),
    "bni": (_bni, "Statement_{acct}_{start:%d%m%Y}_{end:%d%m%Y}_{now:%H%M%S}.csv"),
}
