"""Property: statement lines written as a KlikBCA Individual export parse back unchanged."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bots.parsers import StatementLine, parse_statement

ACCOUNT = "5270418836"
WORDS = st.text(alphabet=st.sampled_from(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/.-,:;()&'\"éÉ–"),
    min_size=1, max_size=12)
DESCRIPTIONS = st.lists(WORDS, min_size=1, max_size=8).map(" ".join)
MONEY = st.builds(lambda sen: Decimal(sen) / 100, st.integers(min_value=0, max_value=10**14))


@st.composite
def statements(draw):
    """A period (possibly across a year end) and lines inside it, some pending."""
    start = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 1)))
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=30)))
    days = sorted(draw(st.lists(st.integers(min_value=0, max_value=(end - start).days),
                                max_size=25)))
    lines = []
    for offset in days:
        pending = draw(st.booleans()) and draw(st.booleans())
        lines.append(dict(
            posted_on=None if pending else start + timedelta(days=offset),
            description=draw(DESCRIPTIONS), amount=draw(MONEY),
            direction=draw(st.sampled_from(["CR", "DB"])), balance=draw(MONEY), pending=pending,
            quoted=draw(st.booleans()), full_date=draw(st.booleans()),
            branch=draw(st.sampled_from(["0000", "0998", "0412"]))))
    footer = draw(st.booleans())
    crlf = draw(st.booleans())
    return start, end, lines, footer, crlf


def write_bca(start, end, lines, footer, crlf) -> tuple[bytes, list[int]]:
    """The export KlikBCA would write, and the physical line each row starts on."""
    out = io.StringIO()
    out.write(f"No. rekening : {ACCOUNT}\nNama : PT TRAVELPULSA NUSANTARA\n"
              f"Periode : {start:%d/%m/%Y} - {end:%d/%m/%Y}\nKode Mata Uang : Rp\n\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Tanggal Transaksi", "Keterangan", "Cabang", "Jumlah", "", "Saldo"])
    starts = []
    for line in lines:
        starts.append(out.getvalue().count("\n") + 1)
        when = ("PEND" if line["pending"]
                else f"{line['posted_on']:%d/%m/%Y}" if line["full_date"]
                else f"{line['posted_on']:%d/%m}")
        money = (lambda d: f"{d:,.2f}") if line["quoted"] else (lambda d: f"{d:.2f}")
        writer.writerow([f"'{when}", f"'{line['description']}", f"'{line['branch']}",
                         money(line["amount"]), line["direction"], money(line["balance"])])
    if footer:
        out.write("\nSaldo Awal,=,0.00\nSaldo Akhir,=,1.00\n")
    text = out.getvalue()
    return (text.replace("\n", "\r\n") if crlf else text).encode("utf-8"), starts


@settings(max_examples=150, deadline=None)
@given(statements())
def test_bca_lines_round_trip(case):
    start, end, lines, footer, crlf = case
    data, starts = write_bca(*case)
    statement = parse_statement(data, "gen.csv")
    expected = [
        StatementLine("bca", ACCOUNT, line["posted_on"], None, line["description"],
                      line["amount"], line["direction"], line["balance"], line["pending"], row)
        for line, row in zip(lines, starts)]
    assert statement.lines == expected
    assert (statement.period_start, statement.period_end) == (start, end)
    assert all(str(line.amount).split(".")[1].__len__() == 2 for line in statement.lines)
