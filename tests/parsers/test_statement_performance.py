"""A 100,000-line KlikBCA export parses within ~3x the time Python's csv module takes to read it.

Measured best rounds on the shared 2-core CI VM: 2.2x-3.2x (building one frozen StatementLine
per row costs about as much as csv's own reading). The bound is 3.5x so a noisy neighbour does
not fail the build, while a slow path taken for every row (parse_amount's full cascade on
every cell, say) still does.
"""

from __future__ import annotations

import csv
import gc
import io
import random
import time

from bots.parsers import parse_statement

ROWS = 100_000
LIMIT = 3.5


def big_bca_export(rows: int = ROWS) -> bytes:
    """A month of busy deposit traffic: unique-code transfers, fees, quoted and plain amounts."""
    rnd = random.Random(2026)
    out = ["No. rekening : 5270418836", "Nama : PT TRAVELPULSA NUSANTARA",
           "Periode : 01/09/2026 - 30/09/2026", "Kode Mata Uang : Rp", "",
           "Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo"]
    balance = 10**9
    for i in range(rows):
        day = f"{1 + i * 30 // rows:02d}/09"
        amount = rnd.randrange(10_000, 5_000_000)
        credit = rnd.random() < 0.8
        balance += amount if credit else -amount
        side = "CR" if credit else "DB"
        money = (f'"{amount:,}.00"', f'"{balance:,}.00"') if i % 4 == 0 else (
            f"{amount}.00", f"{balance}.00")
        out.append(f"'{day},'TRSF E-BANKING {side} {day.replace('/', '')}/FTSCY/WS95051     "
                   f"{amount}.00 AGEN {i % 997},'0000,{money[0]},{side},{money[1]}")
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def test_large_export_parses_within_about_three_times_plain_csv():
    data = big_bca_export()
    ratios = []
    # Best of up to seven interleaved rounds: the measure is the code, not a busy neighbour
    # (single rounds jump past 4x under load).
    for _ in range(7):
        gc.collect()
        began = time.process_time()
        plain = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        baseline = time.process_time() - began
        del plain
        gc.collect()
        began = time.process_time()
        statement = parse_statement(data, "big.csv")
        ratios.append((time.process_time() - began) / baseline)
        assert len(statement.lines) == ROWS
        del statement
        if ratios[-1] < LIMIT:
            break
    assert min(ratios) < LIMIT, f"parse/csv time ratios {[round(r, 2) for r in ratios]}"
