"""Report: each day's reconciliation workbook, built from the store (never from a run's memory).

`reports/rekonsiliasi/rekonsiliasi-YYYY-MM-DD.xlsx` with the sheets of DESIGN §6 —
Ringkasan, Kredit Otomatis, Eskalasi, Mutasi (every statement line of the day exactly once),
Tiket Terbuka — and, as a bank reconciliation: Saldo Harian (per account: opening + credits −
debits = closing, against the bank's closing, the difference), Per Rekening (credited,
escalated, open), Rupiah per Kode (the chart's figures). Every day a run touched is
rewritten, so a line dated yesterday and read today lands in yesterday's workbook.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from bots.reconcile.gateway import GATEWAY_BANK
from bots.reconcile.gateway_report import gateway_sheet
from bots.reconcile.bon_book import BonBook
from bots.reconcile.bon_report import bon_sheets, repayment_labels
from bots.reconcile.ledger import JAKARTA, Ledger
from bots.reconcile.matching import AUTO_CREDITED, DEBIT_IGNORED, ESCALATED, PENDING_REVERSED, STATEMENT_GAP
from bots.reconcile.tieout import tie
from bots.workbook import BarChart, Column, Rows, Sheet, write

STATUS_WORDS = {"OPEN": "Terbuka", "RESOLVED": "Selesai (dikredit manual)", "REJECTED": "Ditolak"}
#: the Indonesian words for each machine code (the code keeps its own column, for filters)
LABELS = {
    AUTO_CREDITED: "Dikredit otomatis", "AMBIGUOUS_TICKETS": "Lebih dari satu tiket cocok",
    "AMOUNT_MISMATCH": "Nominal tidak sesuai tiket", "NO_TICKET_ROUND_AMOUNT": "Transfer Manual (tanpa tiket)",
    "NO_MATCHING_TICKET": "Tidak ada tiket cocok", "TICKET_EXPIRED": "Tiket kedaluwarsa",
    "TICKET_ALREADY_PROCESSED": "Tiket sudah diproses", DEBIT_IGNORED: "Mutasi debet (tidak diproses)",
    "APPROVAL_REFUSED": "Persetujuan ditolak / belum pasti", PENDING_REVERSED: "PEND dibatalkan bank",
    STATEMENT_GAP: "Saldo tidak cocok (mutasi hilang)", "BELUM_DIPROSES": "Belum diproses (PEND menunggu)",
    "TIED_OUT": "Saldo cocok", "NO_BALANCES": "Format tanpa saldo (tidak bisa dicocokkan)",
}
#: the SOP's limits: a mismatch answered within 30 minutes, a "Transfer Manual" within 1×24 hours
AGES = (("< 30 menit", timedelta(minutes=30)), ("30 menit – 24 jam", timedelta(hours=24)), ("> 1×24 jam", None))


def label(code: str | None) -> str:
    return LABELS.get(code or "BELUM_DIPROSES", code or "")


def workbook_path(reports_dir: Path, day: date) -> Path:
    return reports_dir / "rekonsiliasi" / f"rekonsiliasi-{day:%Y-%m-%d}.xlsx"


def write_reports(ledger: Ledger, reports_dir: Path, today: date, now: datetime, days=(), notified: bool = True
                  ) -> tuple[list[Path], list[str]]:
    """Today's workbook and every other day a run touched (a late line's day), rewritten whole."""
    late = Counter()
    for day in days:
        if day != today:
            late[day] += 1
    paths, notes = [], []
    for day in sorted({today, *days}):
        path, note = write_report(ledger, reports_dir, day, now, late if day == today else None)
        paths.append(path)
        if note:
            notes.append(note)
    return paths, notes


def _transfer_moment(e) -> datetime:
    return e.posted_at or datetime.combine(e.day, time.min, JAKARTA)


def write_report(ledger: Ledger, reports_dir: Path, day: date, now: datetime,
                 late: Counter | None = None) -> tuple[Path, str | None]:
    # a gateway payment's row is there for its escalation only: the Deposit VA/Retail sheet shows it
    lines = [ln for ln in ledger.lines_of(day) if ln.bank != GATEWAY_BANK]
    gateway, gateway_lines = gateway_sheet(ledger.store, day)
    files = ledger.files()
    all_escalations = ledger.escalations()
    escalations = [e for e in all_escalations if e.day == day or (e.status == "OPEN" and e.day < day)]
    tickets = ledger.open_tickets()
    ties = day_ties(ledger, day, lines)
    banks = sorted({ln.bank.upper() for ln in lines})
    repayments = repayment_labels(BonBook(ledger.store))  # a BON ticket's approval repays a bon
    summary = summary_sheet(day, now, lines, all_escalations, ties, late or Counter(), banks)
    summary.rows += gateway_lines
    return write(workbook_path(reports_dir, day), [
        summary,
        Sheet("Kredit Otomatis", [Column("Tanggal", "date"), Column("Waktu", "datetime"), Column("Bank"),
                                  Column("No. Rekening"), Column("Keterangan", width=70), Column("Nominal", "rupiah"),
                                  Column("Tiket"), Column("Agen"), Column("Kode"), Column("Keterangan Kode"),
                                  Column("Alasan", width=45)],
              Rows(lambda: ([ln.posted_on or ln.day, ln.posted_at, ln.bank.upper(), ln.account_no, ln.description,
                             ln.amount, ln.ticket_id, ln.agent_id, ln.code,
                             repayments.get(ln.ticket_id) or label(ln.code), ln.reason]
                            for ln in lines if ln.code == AUTO_CREDITED)), table=True),
        Sheet("Eskalasi", [Column("ID", "int"), Column("Tanggal", "date"), Column("Waktu Transfer", "datetime"),
                           Column("Bank"), Column("No. Rekening"), Column("Keterangan", width=70),
                           Column("Nominal", "rupiah"), Column("Kode"), Column("Keterangan Kode"),
                           Column("Alasan", width=50), Column("Tiket Kandidat"), Column("Status"),
                           Column("Umur", width=18), Column("Dinotifikasi", "datetime"),
                           Column("Diselesaikan", "datetime"), Column("Agen"), Column("Catatan", width=30)],
              [[e.id, e.day, e.posted_at, e.bank.upper(), e.account_no, e.description, e.amount, e.code,
                label(e.code), e.reason, ", ".join(e.candidates), STATUS_WORDS.get(e.status, e.status),
                age_bucket(now - _transfer_moment(e)) if e.status == "OPEN" else None, e.notified_at,
                e.resolved_at, e.agent_id, e.note] for e in escalations], table=True),
        Sheet("Mutasi", [Column("Tanggal", "date"), Column("Waktu", "datetime"), Column("Bank"),
                         Column("No. Rekening"), Column("Keterangan", width=70), Column("D/K"),
                         Column("Nominal", "rupiah"), Column("Saldo", "rupiah"), Column("Kode"),
                         Column("Keterangan Kode"), Column("Alasan", width=45), Column("Tiket"), Column("Agen"),
                         Column("Dibaca", "datetime"), Column("Format"), Column("Sumber", width=40),
                         Column("Berkas Bank (reports/)", width=50)],
              Rows(lambda: ([ln.posted_on or ln.day, ln.posted_at, ln.bank.upper(), ln.account_no, ln.description,
                             ln.direction, ln.amount, ln.balance, ln.code or "BELUM_DIPROSES", label(ln.code),
                             ln.reason or "Belum diputuskan (PEND menunggu dibukukan)", ln.ticket_id, ln.agent_id,
                             ln.first_seen_at, ln.export_format,
                             ("PEND " if ln.pending else "") + Path(ln.source).name,
                             files.get(ln.source_sha256)] for ln in lines)), table=True),
        Sheet("Tiket Terbuka", [Column("ID Tiket"), Column("Agen"), Column("Nominal", "rupiah"), Column("Bank"),
                                Column("No. Rekening"), Column("Dibuat", "datetime"),
                                Column("Berlaku s/d", "datetime")],
              [[t.ticket_id, t.agent_id, t.amount, t.bank.upper(), t.account_no, t.created_at, t.expires_at]
               for t in tickets], table=True,
              title=[f"Tiket OPEN di server setelah persetujuan bot, dibaca {now:%d/%m/%Y %H:%M} WIB"]),
        Sheet("Saldo Harian", [Column("Bank"), Column("No. Rekening"), Column("Tanggal", "date"),
                               Column("Saldo Awal", "rupiah"), Column("Kredit", "rupiah"), Column("Debet", "rupiah"),
                               Column("Saldo Akhir (hitung)", "rupiah"), Column("Saldo Akhir Bank", "rupiah"),
                               Column("Selisih", "rupiah"), Column("Kode"), Column("Keterangan Kode")],
              [[b.upper(), a, day, t.opening, t.credits, t.debits,
                None if t.opening is None else t.opening + t.credits - t.debits, t.closing, t.difference, code,
                label(code)] for (b, a), t, code in ties]),
        Sheet("Per Rekening", [Column("Bank"), Column("No. Rekening"), Column("Kredit Otomatis", "int"),
                               Column("Nominal Kredit", "rupiah"), Column("Eskalasi", "int"),
                               Column("Nominal Eskalasi", "rupiah"), Column("Eskalasi Terbuka", "int"),
                               Column("Nominal Terbuka", "rupiah"), Column("Debet", "int"),
                               Column("Nominal Debet", "rupiah"), Column("PEND Menunggu", "int")],
              per_account(lines, escalations), table=True),
        Sheet("Rupiah per Kode", [Column("Kode"), Column("Keterangan Kode")] + [Column(b, "rupiah") for b in banks],
              rupiah_by_code(lines, banks), table=True,
              chart=BarChart(f"Rupiah per kode dan bank, {day:%d/%m/%Y}", 1, tuple(range(3, 3 + len(banks))),
                             on="Ringkasan", anchor="F4") if banks else None),
    ] + ([gateway] if gateway else []) + bon_sheets(BonBook(ledger.store), day, now))


def day_ties(ledger: Ledger, day: date, lines) -> list:
    """((bank, account), DayTie, code) for every account with lines or stated balances that day."""
    stated = {(r.bank, r.account_no): r for r in ledger.days_of(day)}
    accounts = sorted(set(stated) | {(ln.bank, ln.account_no) for ln in lines})
    found = []
    for bank, account in accounts:
        row = stated.get((bank, account))
        opening = Decimal(row.opening_balance) if row is not None and row.opening_balance else None
        closing = Decimal(row.closing_balance) if row is not None and row.closing_balance else None
        amounts = [(Decimal(ln.amount), ln.direction) for ln in lines
                   if (ln.bank, ln.account_no) == (bank, account) and not ln.pending and ln.reversed_at is None]
        result = tie(day, opening, closing, amounts)
        code = "NO_BALANCES" if result.difference is None else ("TIED_OUT" if result.difference == 0 and not (
            row is not None and row.gap) else STATEMENT_GAP)
        found.append(((bank, account), result, code))
    return found


def per_account(lines, escalations) -> list[list]:
    rows: dict = defaultdict(lambda: [0, Decimal(0), 0, Decimal(0), 0, Decimal(0), 0, Decimal(0), 0])
    for ln in lines:
        row = rows[(ln.bank.upper(), ln.account_no)]
        amount = Decimal(ln.amount)
        if ln.code == AUTO_CREDITED:
            row[0] += 1
            row[1] += amount
        elif ln.code in ESCALATED or ln.code == PENDING_REVERSED:
            row[2] += 1
            row[3] += amount
        elif ln.code == DEBIT_IGNORED:
            row[6] += 1
            row[7] += amount
        elif ln.code is None:
            row[8] += 1
    for e in escalations:
        if e.status == "OPEN":
            row = rows[(e.bank.upper(), e.account_no)]
            row[4] += 1
            row[5] += e.amount
    return [[bank, account, *values] for (bank, account), values in sorted(rows.items())]


def rupiah_by_code(lines, banks: list[str]) -> list[list]:
    sums: dict = defaultdict(lambda: defaultdict(Decimal))
    for ln in lines:
        sums[ln.code or "BELUM_DIPROSES"][ln.bank.upper()] += Decimal(ln.amount)
    return [[code, label(code)] + [sums[code].get(b, Decimal(0)) for b in banks] for code in sorted(sums)]


def age_bucket(age: timedelta) -> str:
    for name, limit in AGES:
        if limit is None or age < limit:
            return name
    return AGES[-1][0]


def summary_sheet(day: date, now: datetime, lines, escalations, ties, late: Counter, banks: list[str]) -> Sheet:
    by_code: dict[str, list[Decimal]] = defaultdict(list)
    by_bank: dict[str, list[Decimal]] = defaultdict(list)
    debits: dict[str, list[Decimal]] = defaultdict(list)
    for line in lines:
        by_code[line.code or "BELUM_DIPROSES"].append(Decimal(line.amount))
        (by_bank if line.direction == "CR" else debits)[line.bank.upper()].append(Decimal(line.amount))
    rows: list[list] = [[f"Mutasi tanggal {day:%d/%m/%Y}, per kode", None, None, None]]
    rows += [[label(code), code, len(amounts), sum(amounts)] for code, amounts in sorted(by_code.items())]
    rows += [["Kredit per bank (hari ini)", None, None, None]]
    rows += [[f"Kredit {bank}", None, len(amounts), sum(amounts)] for bank, amounts in sorted(by_bank.items())]
    rows += [[f"Debet {bank}", None, len(amounts), sum(amounts)] for bank, amounts in sorted(debits.items())]
    rows += [["Cocok saldo per rekening (lihat Saldo Harian)", None, None, None]]
    rows += [[f"{b.upper()} {a}: {label(code)}", code, None, t.difference] for (b, a), t, code in ties]
    open_ones = [e for e in escalations if e.status == "OPEN"]
    rows += [["Eskalasi belum selesai, semua hari, umur dihitung dari waktu transfer", None, None, None]]
    for name, _ in AGES:
        aged = [e for e in open_ones if age_bucket(now - _transfer_moment(e)) == name]
        rows.append([f"Umur {name}", None, len(aged), sum((e.amount for e in aged), Decimal(0))])
    oldest = min(open_ones, key=_transfer_moment, default=None)
    rows.append(["Eskalasi terlama belum selesai",
                 f"ESK-{oldest.id}" if oldest else None,
                 None, oldest.amount if oldest else None])
    if late:
        rows += [["Mutasi terlambat dibaca hari ini, dicatat di hari transaksinya", None, None, None]]
        rows += [[f"ke rekonsiliasi-{d:%Y-%m-%d}.xlsx", None, n, None] for d, n in sorted(late.items())]
    counts = Counter(line.code for line in lines if line.direction == "CR")
    credit_lines = sum(v for k, v in counts.items() if k != DEBIT_IGNORED)
    return Sheet("Ringkasan", [Column("Keterangan", width=60), Column("Kode", width=26), Column("Jumlah", "int"),
                               Column("Nominal", "rupiah")], rows,
                 title=[f"Rekonsiliasi bank ↔ tiket deposit {day:%d/%m/%Y}",
                        f"Dibuat {now.astimezone(JAKARTA):%d/%m/%Y %H:%M} WIB dari data bot; mutasi kredit: {credit_lines}"])
