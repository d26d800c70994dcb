"""Parsing a 100,000-line KlikBCA export, against Python's `csv` reading the same bytes."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from bench.common import Figure, Options, Stat, shown, timed

ORDER = 60
LINES = 100_000


def bca_export(lines: int, end: date) -> bytes:
    """A KlikBCA Individual export: preamble, header, `lines` rows over 31 days, footer."""
    start = end - timedelta(days=30)
    out = io.StringIO()
    out.write("No. rekening : 5270418836\nNama : PT TRAVELPULSA NUSANTARA\n"
              f"Periode : {start:%d/%m/%Y} - {end:%d/%m/%Y}\nKode Mata Uang : Rp\n\n")
    out.write("Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo\n")
    balance = 500_000_000
    for n in range(lines):
        day = start + timedelta(days=n * 31 // lines)
        amount = 100_000 + (n * 7919) % 9_000_000
        credit = n % 5 != 0
        balance += amount if credit else -amount
        out.write(f"'{day:%d/%m},\"TRSF E-BANKING {'CR' if credit else 'DB'} {day:%d%m}/FTSCY/WS95051 "
                  f"{amount}.00 AGEN NOMOR {n % 977}\",'0000,\"{amount:,}.00\",{'CR' if credit else 'DB'},"
                  f"\"{balance:,}.00\"\n")
    out.write(f"Saldo Awal,=,\"500,000,000.00\"\nSaldo Akhir,=,\"{balance:,}.00\"\n")
    return out.getvalue().encode("utf-8")


def run(options: Options) -> list[Figure]:
    from bots.parsers import parse_statement

    today = date(2026, 11, 23)
    data = bca_export(LINES, today)
    repeats = options.n(5, 2)
    parsed = parse_statement(data, "bench-bca.csv", today=today)
    assert len(parsed.lines) == LINES, len(parsed.lines)
    ours = Stat([timed(lambda: parse_statement(data, "bench-bca.csv", today=today)) for _ in range(repeats)])
    plain = Stat([timed(lambda: list(csv.reader(io.StringIO(data.decode("utf-8"))))) for _ in range(repeats)])
    ratio = ours.median / plain.median
    return [Figure(f"parsing a {LINES:,}-line BCA export ({len(data) / 1e6:.1f} MB)", shown(ours),
                   f"`csv.reader` {shown(plain)}", ratio, "≤ 3×", ratio <= 3.0,
                   "parse_statement: decode, identify, every cell checked, Decimal amounts",
                   {"ours": ours.as_json(), "csv_reader": plain.as_json(), "bytes": len(data)})]
