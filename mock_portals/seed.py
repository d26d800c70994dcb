"""The seed loader of the mock world: one CSV per table in a world folder -> typed rows.

The files and their columns are a contract (DESIGN §4): other teams write worlds we load, so
the tables are declared once, as data (``TABLES``), and every bad cell stops the world with the
file, the physical line and the column named. The same row parser serves the control API's
``POST rows/<table>``, so a row appended while the world runs obeys exactly the seed rules.

NIK and KK are deliberately kept as the strings given: malformed NIKs are business cases the
bots must catch downstream, and personal numbers never appear in an error message (DESIGN §8).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from bots.errors import InputFileError

__all__ = ["TABLES", "Column", "TableSpec", "SeedError", "load_world", "load_table",
           "parse_seed_row", "parse_time"]

# Jakarta has had no DST since 1964, so a fixed offset is exact and needs no tzdata on the host.
WIB = timezone(timedelta(hours=7), "WIB")

# Values of these columns are never echoed back, not even in an error.
_SECRET = {"nik", "kk", "password"}


class SeedError(InputFileError):
    """A world file (or a row POSTed to the control API) breaks the seed contract."""

    def __init__(self, path: str, message: str, line: int | None = None,
                 column: str | int | None = None, value: object | None = None,
                 full_path: Path | None = None):
        super().__init__(path, message, line=line, column=column, value=value)
        self.full_path = full_path


# --- value parsers: (text, start) -> value; raise ValueError with a reason, never the value ---

_RELATIVE = re.compile(r"([+-])(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_TIME_HELP = ("not a time: use ISO 8601 (2026-11-22T09:15:00+07:00, 2026-11-22 09:15, "
              "2026-11-22) or relative to the world's start (now, -3m, -25h, +6h, -1d2h30m)")


def _require_aware(start: datetime) -> None:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be a timezone-aware datetime")


def parse_time(text: str, start: datetime) -> datetime:
    """An aware datetime from ISO 8601 (naive = WIB) or from a time relative to ``start``."""
    _require_aware(start)
    text = text.strip()
    if text.lower() == "now":
        return start
    rel = _RELATIVE.fullmatch(text)
    if rel and any(rel.groups()[1:]):
        d, h, m, s = (int(g or 0) for g in rel.groups()[1:])
        delta = timedelta(days=d, hours=h, minutes=m, seconds=s)
        return start + delta if rel.group(1) == "+" else start - delta
    # fromisoformat alone would also take '20261122' and week dates; insist on a readable date.
    if not re.match(r"\d{4}-\d{2}-\d{2}(?:$|[T ])", text):
        raise ValueError(_TIME_HELP)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_TIME_HELP) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=WIB)


def _text(text: str, start: datetime) -> str:
    return text


def _amount(minimum: int | None) -> Callable[[str, datetime], int]:
    # Thousands separators ('1.500.000') and 'Rp' are what a person types; refusing them beats
    # guessing. Only '.0'/'.00' count as a zero fraction: '1.000' is one thousand in Indonesia.
    def parse(text: str, start: datetime) -> int:
        if not re.fullmatch(r"-?\d+(?:\.00?)?", text):
            raise ValueError("not a plain rupiah number")
        value = int(text.split(".")[0])
        if minimum is not None and value < minimum:
            raise ValueError("must be greater than 0" if minimum == 1 else "must not be negative")
        return value
    return parse


def _choice(spelled: dict[str, object], reason: str) -> Callable[[str, datetime], object]:
    def parse(text: str, start: datetime) -> object:
        try:
            return spelled[text.lower()]
        except KeyError:
            raise ValueError(reason) from None
    return parse


def _enum(*allowed: str) -> Callable[[str, datetime], object]:
    return _choice({a.lower(): a for a in allowed}, f"must be one of {', '.join(allowed)}")


_bank = _enum("bca", "mandiri", "bri", "bni")
_flag = _choice(dict.fromkeys(["yes", "ya", "true", "1", "y"], True)
                | dict.fromkeys(["no", "tidak", "false", "0", "n"], False),
                "must be yes/no (ya/tidak, true/false, 1/0, y/n)")


def _account_no(text: str, start: datetime) -> str:
    # Excel writes long numbers as text with a leading apostrophe; banks print them in groups.
    digits = text.removeprefix("'").replace(" ", "")
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("account number must be digits only")
    return digits


_PORTAL = re.compile(r"bank_(?:bca|mandiri|bri|bni)|otomax|supplier_[a-z0-9_]+|indiana"
                     r"|aggregator|dukcapil|ismara|helpdesk|gateway")


def _portal(text: str, start: datetime) -> str:
    if not _PORTAL.fullmatch(text.lower()):
        raise ValueError("unknown portal key (bank_<bca|mandiri|bri|bni>, otomax, "
                         "supplier_<code>, indiana, aggregator, dukcapil, ismara, helpdesk, gateway)")
    return text.lower()


# --- the contract, as data ---

@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str, datetime], object] = _text
    required: bool = True
    default: str | None = None  # 'name=VALUE': an empty cell is VALUE, and the header may lack the column


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


# Cell types by name, so that the contract below reads like the table in DESIGN §4.
_TYPES: dict[str, Callable[[str, datetime], object]] = {
    "text": _text, "time": parse_time, "bank": _bank, "account": _account_no,
    "portal": _portal, "flag": _flag,
    "received": _amount(1),    # money that arrived or was asked for: a zero is a typo
    "balance": _amount(None),  # a saldo or an opening balance may be in debt (bon)
    "rupiah": _amount(0),     # a price, a fee, arrears: zero is fine, negative is not
    "direction": _enum("CR", "DB"),
    "ticket_status": _enum("OPEN", "APPROVED", "EXPIRED", "CANCELLED"),
    "trx_status": _enum("PENDING", "SUKSES", "GAGAL"),
    "resolves_after": _enum("never", "complaint", "hard_complaint"),
    "final_status": _enum("SUKSES", "GAGAL"),
    "complaint_kind": _enum("PRODUCT_NOT_RECEIVED", "WRONG_NUMBER"),
    "bon_status": _enum("PENDING", "GRANTED", "REFUSED"),
    "ticket_purpose": _enum("DEPOSIT", "BON"),
    "gateway_channel": _enum("VA_BCA", "VA_BNI", "VA_MANDIRI", "ALFAMART", "INDOMARET", "QRIS"),
    "gateway_status": _enum("PENDING", "PAID", "SETTLED", "EXPIRED", "FAILED"),
    "request_status": _enum("OPEN", "PAID", "EXPIRED", "CANCELLED"),
}

# table: (key, columns as 'name:type', type 'text' when left out, '?' = may be empty).
# An empty key allows identical rows: two equal transfers or payments really happen.
_CONTRACT = {
    "portal_users": ("portal username", "portal:portal username password"),
    "bank_accounts": ("bank account_no",
                      "bank:bank account_no:account holder opening_balance:balance"),
    "mutations": ("", "bank:bank account_no:account posted_at:time description "
                      "amount:received direction:direction"),
    "agents": ("agent_id", "agent_id name phone balance:balance"),
    "tickets": ("ticket_id", "ticket_id agent_id amount:received bank:bank account_no:account "
                             "created_at:time expires_at:time? status:ticket_status "
                             "purpose:ticket_purpose=DEPOSIT bon_id="),
    "transactions": ("trx_id", "trx_id agent_id product destination price:rupiah supplier "
                               "created_at:time status:trx_status sn?"),
    "supplier_behaviour": ("trx_id", "trx_id resolves_after:resolves_after "
                                     "final_status:final_status? sn?"),
    "agent_complaints": ("complaint_id", "complaint_id trx_id reported_at:time "
                                         "kind:complaint_kind note?"),
    # NIK and KK are text on purpose: a malformed NIK is a case the bots must catch.
    "esim_orders": ("order_id", "order_id submitted_at:time sales_agent customer_name nik? kk? "
                                "phone? email? device? package? upfront_amount:rupiah "
                                "esim_fee:rupiah payment_method form_completed:flag"),
    "esim_payments": ("", "order_id amount:received paid_at:time channel"),
    # the aggregator's deposits (setoran) of upfront + eSIM fee into activated MSISDNs
    "esim_deposits": ("", "order_id msisdn? amount:received deposited_at:time reference?"),
    "dukcapil": ("nik", "nik kk name"),
    "ismara": ("nik", "nik outstanding:rupiah"),
    # Bon / TOP: agents' requests for saldo on credit, and the bons already on the books
    "bon_requests": ("request_id", "request_id agent_id amount:received requested_at:time "
                                   "status:bon_status=PENDING"),
    "bons": ("bon_id", "bon_id agent_id amount:received repaid:rupiah=0 granted_at:time"),
    # deposits through a virtual account or a retail outlet: the payment gateway's transactions
    # (amount = gross paid by the agent, fee = the gateway's), and the requests Otomax gave a reference
    "gateway_payments": ("payment_id", "payment_id reference channel:gateway_channel amount:received "
                                       "fee:rupiah status:gateway_status created_at:time paid_at:time? "
                                       "settled_at:time="),
    # (no key: a server may show one reference twice, and the bot must not guess between them)
    "deposit_requests": ("", "reference agent_id amount:received channel:gateway_channel "
                             "created_at:time expires_at:time? status:request_status"),
}


def _column(word: str) -> Column:
    word, given, default = word.partition("=")  # a column added to the contract later: may be left out
    name, _, kind = word.rstrip("?").partition(":")
    return Column(name, _TYPES[kind or "text"], required=not word.endswith("?") and not given,
                  default=default if given else None)


TABLES: dict[str, TableSpec] = {
    name: TableSpec(name, tuple(_column(w) for w in columns.split()), tuple(key.split()))
    for name, (key, columns) in _CONTRACT.items()}


# --- rows ---

def _table(table: str, where: str) -> TableSpec:
    if table not in TABLES:
        raise SeedError(where, f"unknown table {table!r} (known: {', '.join(TABLES)})")
    return TABLES[table]


class _BadCell(Exception):
    """A cell broke a rule; the caller knows where the row came from and says so."""

    def __init__(self, column: str, reason: str, value: object | None = None):
        super().__init__(reason)
        self.column, self.reason = column, reason
        self.value = None if column in _SECRET else value


def _typed(spec: TableSpec, values: dict[str, str], start: datetime) -> dict:
    row: dict = {}
    for col in spec.columns:
        raw = values.get(col.name)
        text = "" if raw is None else str(raw).strip()
        if not text and col.default:
            text = col.default
        if not text:
            if col.required:
                raise _BadCell(col.name, "required value is empty")
            row[col.name] = None
            continue
        try:
            row[col.name] = col.parse(text, start)
        except ValueError as err:
            raise _BadCell(col.name, str(err), text) from None
    # Rules across columns: a transaction that resolves must say how; a paid payment, when.
    if spec.name == "supplier_behaviour" and row["resolves_after"] != "never" \
            and row["final_status"] is None:
        raise _BadCell("final_status", "final_status is required unless resolves_after is never")
    if spec.name == "gateway_payments" and row["status"] in ("PAID", "SETTLED") and row["paid_at"] is None:
        raise _BadCell("paid_at", "paid_at is required when status is PAID or SETTLED")
    return row


def _duplicate(spec: TableSpec, key: tuple) -> str:
    shown = "" if _SECRET.intersection(spec.key) else " " + "/".join(repr(k) for k in key)
    return f"duplicate {'+'.join(spec.key)}{shown}"


def parse_seed_row(table: str, values: dict[str, str], start: datetime,
                   existing: list[dict] | None = None, where: str | None = None) -> dict:
    """One row in the seed format (strings, as POSTed to ``/__mock/rows/<table>``), typed.

    ``existing`` rows are checked for a duplicate key; errors name ``where`` (default
    ``rows/<table>``) and the column by name, as a JSON object has no column numbers.
    """
    _require_aware(start)
    where = where or f"rows/{table}"
    spec = _table(table, where)
    try:
        row = _typed(spec, {str(k).strip().lower(): v for k, v in values.items()}, start)
    except _BadCell as bad:
        raise SeedError(where, bad.reason, column=bad.column, value=bad.value) from None
    key = tuple(row[k] for k in spec.key)
    if spec.key and any(tuple(r.get(k) for k in spec.key) == key for r in existing or ()):
        raise SeedError(where, _duplicate(spec, key) + " (already in the world)",
                        column=spec.key[0])
    return row


def load_table(path: Path, table: str, start: datetime) -> list[dict]:
    """Typed rows of one world file; a missing file is an empty table."""
    _require_aware(start)
    path = Path(path)
    spec, name = _table(table, path.name), path.name
    if not path.exists():
        return []
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SeedError(name, f"cannot read the file: {err.strerror}", full_path=path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bad_line = data[:err.start].count(b"\n") + 1
        raise SeedError(name, "not UTF-8 text (save the file as CSV UTF-8)", bad_line,
                        full_path=path) from None

    reader = csv.reader(io.StringIO(text, newline=""))
    positions: dict[str, int] | None = None
    titles: list[str] = []
    width = 0
    first_seen: dict[tuple, int] = {}
    rows: list[dict] = []
    line = last = 0

    def label(column: str) -> str:
        return f"{positions[column] + 1} ({column})"
    try:
        for fields in reader:
            line, last = last + 1, reader.line_num  # a quoted cell may span lines: report the first
            # Excel leaves rows of bare commas behind deleted rows; they are blank lines too.
            if not any(f.strip() for f in fields):
                continue
            if positions is None:
                positions, titles = _positions(spec, fields, name, line, path), fields
                width = len(fields)
                continue
            if len(fields) != width:
                # name the first column missing (a cut row) or the first one too many
                number = min(len(fields), width) + 1
                column = f"{number} ({titles[number - 1].strip()})" if number <= width else number
                raise SeedError(name, f"row has {len(fields)} fields, the header has {width}",
                                line, column, full_path=path)
            try:
                row = _typed(spec, {c: fields[i] for c, i in positions.items()}, start)
            except _BadCell as bad:
                raise SeedError(name, bad.reason, line, label(bad.column), bad.value,
                                path) from None
            key = tuple(row[k] for k in spec.key)
            if spec.key and key in first_seen:
                raise SeedError(name, f"{_duplicate(spec, key)} (first on line "
                                f"{first_seen[key]})", line, label(spec.key[0]), full_path=path)
            first_seen.setdefault(key, line)
            rows.append(row)
    except csv.Error as err:
        raise SeedError(name, f"not readable as CSV: {err}", line, full_path=path) from None
    return rows


def _positions(spec: TableSpec, fields: list[str], name: str, line: int,
               path: Path) -> dict[str, int]:
    # Header names are matched loosely (case, spaces): people retype headers in Excel.
    header = [f.strip().lower() for f in fields]
    positions: dict[str, int] = {}
    for i, title in enumerate(header):
        if title in spec.column_names:
            if title in positions:
                raise SeedError(name, f"column {title} appears twice (columns "
                                f"{positions[title] + 1} and {i + 1})", line, full_path=path)
            positions[title] = i
    missing = [c.name for c in spec.columns if c.name not in positions and c.default is None]
    if missing:
        hint = " (the file looks ;-separated; the world's files use commas)" \
            if len(header) == 1 and ";" in header[0] else ""
        raise SeedError(name, f"missing column{'s' * (len(missing) > 1)} "
                        f"{', '.join(missing)} in the header{hint}", line, full_path=path)
    return positions


def load_world(folder: Path, start: datetime) -> dict[str, list[dict]]:
    """Every table of the world folder, typed; tables without a file are empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SeedError(str(folder), "world folder not found (or not a folder)",
                        full_path=folder)
    return {name: load_table(folder / spec.file_name, name, start)
            for name, spec in TABLES.items()}
