"""The seed loader: world files -> typed rows, and every bad cell named by file, line, column."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bots.errors import EXIT_BAD_INPUT, InputFileError
from mock_portals.seed import TABLES, SeedError, load_table, load_world, parse_seed_row, parse_time

WIB = timezone(timedelta(hours=7))
START = datetime(2026, 11, 22, 10, 0, tzinfo=WIB)
DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "world"

TICKETS_HEADER = "ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status\n"
TICKET = "TK001,AG0001,500123,BCA,5270418836,-3m,+6h,OPEN\n"


def load(tmp_path: Path, table: str, text: str | bytes) -> list[dict]:
    path = tmp_path / f"{table}.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return load_table(path, table, START)


def load_error(tmp_path: Path, table: str, text: str | bytes) -> SeedError:
    with pytest.raises(SeedError) as caught:
        load(tmp_path, table, text)
    return caught.value


def one_ticket(tmp_path: Path, **cells: str) -> dict:
    values = dict(zip(TICKETS_HEADER.strip().split(","), TICKET.strip().split(",")))
    values.update(cells)
    return load(tmp_path, "tickets", TICKETS_HEADER + ",".join(values.values()) + "\n")[0]


# --- the contract -------------------------------------------------------------------------

CONTRACT = {
    "portal_users": "portal,username,password",
    "bank_accounts": "bank,account_no,holder,opening_balance",
    "mutations": "bank,account_no,posted_at,description,amount,direction",
    "agents": "agent_id,name,phone,balance",
    # purpose (DEPOSIT | BON) and bon_id, both optional: added by issue 16 (bon repayments)
    "tickets": "ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status,purpose,bon_id",
    "transactions": "trx_id,agent_id,product,destination,price,supplier,created_at,status,sn",
    "supplier_behaviour": "trx_id,resolves_after,final_status,sn",
    "agent_complaints": "complaint_id,trx_id,reported_at,kind,note",
    "esim_orders": "order_id,submitted_at,sales_agent,customer_name,nik,kk,phone,email,device,"
                   "package,upfront_amount,esim_fee,payment_method,form_completed",
    "esim_payments": "order_id,amount,paid_at,channel",
    "esim_deposits": "order_id,msisdn,amount,deposited_at,reference",  # added by issue 13
    "dukcapil": "nik,kk,name",
    "ismara": "nik,outstanding",
    # added by issue 16: Bon / TOP on the transaction server, deposits through the payment gateway
    "bon_requests": "request_id,agent_id,amount,requested_at,status",
    "bons": "bon_id,agent_id,amount,repaid,granted_at",
    "gateway_payments": "payment_id,reference,channel,amount,fee,status,created_at,paid_at,settled_at",
    "deposit_requests": "reference,agent_id,amount,channel,created_at,expires_at,status",
}


def test_tables_are_the_contract():
    assert {name: ",".join(spec.column_names) for name, spec in TABLES.items()} == CONTRACT
    assert TABLES["tickets"].file_name == "tickets.csv"
    assert TABLES["portal_users"].key == ("portal", "username")
    assert TABLES["mutations"].key == ()


# --- times --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("now", START),
    (" NOW ", START),
    ("-3m", START - timedelta(minutes=3)),
    ("-25h", START - timedelta(hours=25)),
    ("-4d", START - timedelta(days=4)),
    ("+6h", START + timedelta(hours=6)),
    ("-90s", START - timedelta(seconds=90)),
    ("-1d2h", START - timedelta(days=1, hours=2)),
    ("-1d2h30m", START - timedelta(days=1, hours=2, minutes=30)),
    ("  -3m ", START - timedelta(minutes=3)),
])
def test_relative_times_count_from_the_start(text, expected):
    assert parse_time(text, START) == expected


def test_relative_time_keeps_the_start_offset():
    utc_start = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
    moment = parse_time("+6h", utc_start)
    assert moment == datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
    assert moment.utcoffset() == timedelta(0)


def test_iso_time_keeps_its_offset():
    moment = parse_time("2026-11-22T09:15:00+08:00", START)
    assert (moment.hour, moment.minute, moment.utcoffset()) == (9, 15, timedelta(hours=8))
    assert parse_time("2026-11-22T02:15:00Z", START).utcoffset() == timedelta(0)


def test_time_without_offset_is_jakarta():
    moment = parse_time("2026-11-22 09:15", START)
    assert moment == datetime(2026, 11, 22, 9, 15, tzinfo=WIB)
    assert moment.utcoffset() == timedelta(hours=7)


def test_date_only_is_midnight_in_jakarta():
    assert parse_time("2026-11-22", START) == datetime(2026, 11, 22, 0, 0, tzinfo=WIB)


@pytest.mark.parametrize("text", ["yesterday", "3m", "-3x", "-", "+", "-3M", "-2h1d",
                                  "20261122", "2026-13-01", "22/11/2026", ""])
def test_bad_times_are_refused_readably(text):
    with pytest.raises(ValueError, match="not a time"):
        parse_time(text, START)


def test_naive_start_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_time("now", datetime(2026, 11, 22, 10, 0))


def test_times_in_a_file_are_typed(tmp_path):
    row = one_ticket(tmp_path, created_at="2026-11-22", expires_at=" -1d2h ")
    assert row["created_at"] == datetime(2026, 11, 22, tzinfo=WIB)
    assert row["expires_at"] == START - timedelta(days=1, hours=2)


def test_bad_time_names_line_and_column(tmp_path):
    err = load_error(tmp_path, "tickets", TICKETS_HEADER + TICKET
                     + "TK002,AG0001,500124,bca,5270418836,kemarin,,OPEN\n")
    assert (err.line, err.column, err.value) == (3, "6 (created_at)", "kemarin")
    assert str(err).startswith("tickets.csv, line 3, column 6 (created_at): not a time")


# --- amounts ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [("500123", 500123), ("500123.00", 500123),
                                            ("500123.0", 500123), (" 75000 ", 75000)])
def test_plain_rupiah_amounts(tmp_path, text, expected):
    amount = one_ticket(tmp_path, amount=text)["amount"]
    assert amount == expected and type(amount) is int


@pytest.mark.parametrize("text", ["1.500.000", "1.000", "500123.000", "Rp 5000", "12,5",
                                  "12.5", "5e5", "500 000", "+500", "-"])
def test_formatted_amounts_are_refused(tmp_path, text):
    err = load_error(tmp_path, "tickets", TICKETS_HEADER + f'TK1,AG1,"{text}",bca,1,now,,OPEN\n')
    assert err.reason == "not a plain rupiah number"
    assert (err.line, err.column, err.value) == (2, "3 (amount)", text)


def test_error_message_shape(tmp_path):
    err = load_error(tmp_path, "tickets", TICKETS_HEADER + TICKET
                     + TICKET.replace("TK001", "TK002")
                     + "TK003,AG0002,1.500.000,bca,5270418836,now,,OPEN\n")
    assert str(err) == ("tickets.csv, line 4, column 3 (amount): not a plain rupiah number "
                        "(value '1.500.000')")
    assert isinstance(err, InputFileError) and err.exit_code == EXIT_BAD_INPUT
    assert err.path == "tickets.csv"
    assert err.full_path == tmp_path / "tickets.csv"


def test_empty_required_amount_is_an_error(tmp_path):
    err = load_error(tmp_path, "tickets", TICKETS_HEADER + "TK1,AG1,,bca,1,now,,OPEN\n")
    assert (err.line, err.column, err.reason) == (2, "3 (amount)", "required value is empty")


@pytest.mark.parametrize("table, header, row, column", [
    ("mutations", "bank,account_no,posted_at,description,amount,direction",
     "bca,1,now,TRSF,0,CR", "5 (amount)"),
    ("tickets", TICKETS_HEADER.strip(), "TK1,AG1,-5,bca,1,now,,OPEN", "3 (amount)"),
    ("esim_payments", "order_id,amount,paid_at,channel", "ORD1,0,now,QRIS", "2 (amount)"),
])
def test_money_received_must_be_positive(tmp_path, table, header, row, column):
    err = load_error(tmp_path, table, f"{header}\n{row}\n")
    assert (err.column, err.reason) == (column, "must be greater than 0")


def test_balances_may_be_zero_or_negative(tmp_path):
    rows = load(tmp_path, "agents", "agent_id,name,phone,balance\n"
                "AG1,A,0811,0\nAG2,B,0812,-25000\nAG3,C,0813,1250000.00\n")
    assert [r["balance"] for r in rows] == [0, -25000, 1250000]
    accounts = load(tmp_path, "bank_accounts", "bank,account_no,holder,opening_balance\n"
                    "bca,123,PT X,-1\n")
    assert accounts[0]["opening_balance"] == -1


@pytest.mark.parametrize("table, header, row, column", [
    ("ismara", "nik,outstanding", "3603120101900001,-1", "2 (outstanding)"),
    ("transactions", "trx_id,agent_id,product,destination,price,supplier,created_at,status,sn",
     "T1,AG1,S10,0812,-100,mitra,now,PENDING,", "5 (price)"),
    ("esim_orders", CONTRACT["esim_orders"],
     "O1,now,Sales,Budi,,,,,,,-1,0,QRIS,ya", "11 (upfront_amount)"),
])
def test_amounts_that_cannot_be_negative(tmp_path, table, header, row, column):
    err = load_error(tmp_path, table, f"{header}\n{row}\n")
    assert (err.column, err.reason) == (column, "must not be negative")


def test_zero_price_and_outstanding_are_fine(tmp_path):
    assert load(tmp_path, "ismara", "nik,outstanding\n3603120101900001,0\n")[0]["outstanding"] == 0
    rows = load(tmp_path, "transactions", CONTRACT["transactions"] + "\n"
                "T1,AG1,S10,0812,0,mitra,now,pending,\n")
    assert rows[0]["price"] == 0


# --- banks, accounts, enums, flags, portals -----------------------------------------------

@pytest.mark.parametrize("text, expected", [("BCA", "bca"), ("bca", "bca"),
                                            ("Mandiri", "mandiri"), ("BRI", "bri"),
                                            ("bNi", "bni")])
def test_bank_codes_are_case_insensitive(tmp_path, text, expected):
    assert one_ticket(tmp_path, bank=text)["bank"] == expected


def test_unknown_bank_is_an_error(tmp_path):
    err = load_error(tmp_path, "mutations", CONTRACT["mutations"] + "\nBSI,1,now,X,100,CR\n")
    assert (err.line, err.column, err.value) == (2, "1 (bank)", "BSI")
    assert "bca, mandiri, bri, bni" in err.reason


@pytest.mark.parametrize("text", ["'5270418836", "527 041 8836", " 5270418836 "])
def test_account_numbers_are_digits(tmp_path, text):
    assert one_ticket(tmp_path, account_no=text)["account_no"] == "5270418836"


def test_account_number_keeps_leading_zero(tmp_path):
    assert one_ticket(tmp_path, account_no="0823417769")["account_no"] == "0823417769"


@pytest.mark.parametrize("text", ["527-041-8836", "52704188x6", "'"])
def test_account_number_with_other_characters_is_an_error(tmp_path, text):
    err = load_error(tmp_path, "tickets", TICKETS_HEADER + f"TK1,AG1,100,bca,{text},now,,OPEN\n")
    assert (err.column, err.reason) == ("5 (account_no)", "account number must be digits only")


@pytest.mark.parametrize("table, header, row, column, expected", [
    ("mutations", CONTRACT["mutations"], "bca,1,now,TRSF,100,cr", "direction", "CR"),
    ("mutations", CONTRACT["mutations"], "bca,1,now,TRSF,100,Db", "direction", "DB"),
    ("tickets", TICKETS_HEADER.strip(), "T,A,1,bca,1,now,,approved", "status", "APPROVED"),
    ("tickets", TICKETS_HEADER.strip(), "T,A,1,bca,1,now,,Cancelled", "status", "CANCELLED"),
    ("tickets", TICKETS_HEADER.strip(), "T,A,1,bca,1,now,,expired", "status", "EXPIRED"),
    ("transactions", CONTRACT["transactions"], "T,A,P,D,1,s,now,sukses,SN1", "status", "SUKSES"),
    ("transactions", CONTRACT["transactions"], "T,A,P,D,1,s,now,Gagal,", "status", "GAGAL"),
    ("supplier_behaviour", CONTRACT["supplier_behaviour"], "T,NEVER,,", "resolves_after",
     "never"),
    ("supplier_behaviour", CONTRACT["supplier_behaviour"], "T,Hard_Complaint,gagal,",
     "resolves_after", "hard_complaint"),
    ("supplier_behaviour", CONTRACT["supplier_behaviour"], "T,complaint,Sukses,SN9",
     "final_status", "SUKSES"),
    ("agent_complaints", CONTRACT["agent_complaints"], "C,T,now,product_not_received,",
     "kind", "PRODUCT_NOT_RECEIVED"),
    ("agent_complaints", CONTRACT["agent_complaints"], "C,T,now,Wrong_Number,x", "kind",
     "WRONG_NUMBER"),
])
def test_enums_are_case_insensitive_and_canonical(tmp_path, table, header, row, column,
                                                  expected):
    assert load(tmp_path, table, f"{header}\n{row}\n")[0][column] == expected


def test_unknown_enum_value_is_an_error(tmp_path):
    err = load_error(tmp_path, "tickets", TICKETS_HEADER + "T,A,1,bca,1,now,,PAID\n")
    assert (err.column, err.value) == ("8 (status)", "PAID")
    assert err.reason == "must be one of OPEN, APPROVED, EXPIRED, CANCELLED"


ORDER = "O1,now,Sales Balaraja,Budi Santoso,{nik},{kk},081234567890,,,,150000,25000,QRIS,{flag}"


@pytest.mark.parametrize("text, expected", [
    ("yes", True), ("YA", True), ("true", True), ("1", True), ("Y", True),
    ("no", False), ("Tidak", False), ("FALSE", False), ("0", False), ("n", False)])
def test_form_completed_flag(tmp_path, text, expected):
    row = load(tmp_path, "esim_orders", CONTRACT["esim_orders"] + "\n"
               + ORDER.format(nik="3603120101900001", kk="3603120101900002", flag=text) + "\n")[0]
    assert row["form_completed"] is expected


def test_bad_flag_is_an_error(tmp_path):
    err = load_error(tmp_path, "esim_orders", CONTRACT["esim_orders"] + "\n"
                     + ORDER.format(nik="1", kk="2", flag="mungkin") + "\n")
    assert (err.line, err.column, err.value) == (2, "14 (form_completed)", "mungkin")


@pytest.mark.parametrize("text, expected", [
    ("bank_bca", "bank_bca"), ("bank_mandiri", "bank_mandiri"), ("bank_bri", "bank_bri"),
    ("bank_bni", "bank_bni"), ("otomax", "otomax"), ("supplier_mitra", "supplier_mitra"),
    ("supplier_mitra_2", "supplier_mitra_2"), ("indiana", "indiana"),
    ("aggregator", "aggregator"), ("dukcapil", "dukcapil"), ("ismara", "ismara"),
    ("helpdesk", "helpdesk"), ("BANK_BCA", "bank_bca")])
def test_portal_keys(tmp_path, text, expected):
    assert load(tmp_path, "portal_users", f"portal,username,password\n{text},u,p\n")[0][
        "portal"] == expected


@pytest.mark.parametrize("text", ["bank_bsi", "supplier_", "supplier_mitra-2", "otomax2", "bca"])
def test_unknown_portal_key_is_an_error(tmp_path, text):
    err = load_error(tmp_path, "portal_users", f"portal,username,password\n{text},u,p\n")
    assert (err.line, err.column, err.value) == (2, "1 (portal)", text)
    assert err.reason.startswith("unknown portal key")


# --- optional and required cells ----------------------------------------------------------

def test_optional_cells_may_be_empty(tmp_path):
    assert one_ticket(tmp_path, expires_at="")["expires_at"] is None
    trx = load(tmp_path, "transactions", CONTRACT["transactions"] + "\nT,A,P,D,1,s,now,PENDING,\n")
    assert trx[0]["sn"] is None
    note = load(tmp_path, "agent_complaints", CONTRACT["agent_complaints"] + "\nC,T,now,"
                "WRONG_NUMBER,  \n")
    assert note[0]["note"] is None
    never = load(tmp_path, "supplier_behaviour", CONTRACT["supplier_behaviour"] + "\nT,never,,\n")
    assert (never[0]["final_status"], never[0]["sn"]) == (None, None)
    order = load(tmp_path, "esim_orders", CONTRACT["esim_orders"] + "\n"
                 "O1,now,Sales,Budi,,,,,,,0,0,QRIS,no\n")[0]
    assert all(order[c] is None for c in ("nik", "kk", "phone", "email", "device", "package"))


def test_final_status_required_unless_never(tmp_path):
    err = load_error(tmp_path, "supplier_behaviour", CONTRACT["supplier_behaviour"]
                     + "\nT1,never,,\nT2,complaint,,\n")
    assert (err.line, err.column) == (3, "3 (final_status)")
    assert "final_status is required" in err.reason


@pytest.mark.parametrize("column, position", [("ticket_id", 1), ("agent_id", 2),
                                              ("created_at", 6), ("status", 8)])
def test_required_cells_may_not_be_empty(tmp_path, column, position):
    cells = dict(zip(TICKETS_HEADER.strip().split(","), TICKET.strip().split(",")))
    cells[column] = "   "
    err = load_error(tmp_path, "tickets", TICKETS_HEADER + ",".join(cells.values()) + "\n")
    assert (err.line, err.column, err.reason) == (2, f"{position} ({column})",
                                                  "required value is empty")


def test_cells_are_stripped(tmp_path):
    row = load(tmp_path, "agents", "agent_id,name,phone,balance\n AG1 , Toko Ani ,0811, 5 \n")[0]
    assert row == {"agent_id": "AG1", "name": "Toko Ani", "phone": "0811", "balance": 5}


# --- NIK and KK ---------------------------------------------------------------------------

@pytest.mark.parametrize("nik", ["3603120101900001", "0036031201019000", "36031201",
                                 "3.60312E+15", "'3603120101900001", "3603-1201-0190-0001"])
def test_nik_and_kk_stay_as_given(tmp_path, nik):
    row = load(tmp_path, "esim_orders", CONTRACT["esim_orders"] + "\n"
               + ORDER.format(nik=nik, kk=nik, flag="ya") + "\n")[0]
    assert row["nik"] == nik and row["kk"] == nik and type(row["nik"]) is str


def test_duplicate_nik_is_not_echoed(tmp_path):
    nik = "3603120101900001"
    err = load_error(tmp_path, "dukcapil", f"nik,kk,name\n{nik},3603120101900099,Budi\n"
                     f"{nik},3603120101900099,Budi S\n")
    assert (err.line, err.column) == (3, "1 (nik)")
    assert "first on line 2" in str(err)
    assert nik not in str(err) and "3603120101900099" not in str(err) and err.value is None


def test_error_elsewhere_in_a_row_does_not_echo_the_nik(tmp_path):
    nik, kk = "3603120101900001", "3603120101900002"
    row = ORDER.format(nik=nik, kk=kk, flag="ya").replace("150000", "Rp 150.000")
    err = load_error(tmp_path, "esim_orders", CONTRACT["esim_orders"] + "\n" + row + "\n")
    assert err.column == "11 (upfront_amount)"
    assert nik not in str(err) and kk not in str(err)


def test_duplicate_nik_in_control_rows_is_not_echoed():
    nik = "3603120101900001"
    existing = [parse_seed_row("ismara", {"nik": nik, "outstanding": "0"}, START)]
    with pytest.raises(SeedError) as caught:
        parse_seed_row("ismara", {"nik": nik, "outstanding": "5000"}, START, existing)
    assert nik not in str(caught.value)
    assert str(caught.value) == "rows/ismara, column nik: duplicate nik (already in the world)"


# --- duplicates ---------------------------------------------------------------------------

def test_duplicate_key_names_both_lines(tmp_path):
    err = load_error(tmp_path, "tickets", TICKETS_HEADER + TICKET + "\n"
                     + TICKET.replace("TK001", "TK002") + TICKET)
    assert (err.line, err.column) == (5, "1 (ticket_id)")
    assert err.reason == "duplicate ticket_id 'TK001' (first on line 2)"


def test_duplicate_bank_account_after_normalising(tmp_path):
    err = load_error(tmp_path, "bank_accounts", "bank,account_no,holder,opening_balance\n"
                     "bca,5270418836,PT X,0\nBCA,'5270418836,PT X,0\n")
    assert err.line == 3 and "first on line 2" in err.reason


def test_same_account_number_at_two_banks_is_fine(tmp_path):
    rows = load(tmp_path, "bank_accounts", "bank,account_no,holder,opening_balance\n"
                "bca,1234567890,PT X,0\nbni,1234567890,PT X,0\n")
    assert len(rows) == 2


def test_portal_users_key_is_portal_and_username(tmp_path):
    ok = load(tmp_path, "portal_users", "portal,username,password\n"
              "supplier_mitra,h2h,a\nsupplier_sinar,h2h,b\n")
    assert [r["portal"] for r in ok] == ["supplier_mitra", "supplier_sinar"]
    err = load_error(tmp_path, "portal_users", "portal,username,password\n"
                     "otomax,admin,a\nOTOMAX,admin,b\n")
    assert err.line == 3 and "first on line 2" in err.reason and "'b'" not in str(err)


def test_tables_without_a_key_accept_identical_rows(tmp_path):
    line = "bca,5270418836,now,TRSF E-BANKING CR 2211/FTSCY/WS95031,500123,CR\n"
    assert len(load(tmp_path, "mutations", CONTRACT["mutations"] + "\n" + line + line)) == 2


# --- file shape ---------------------------------------------------------------------------

def test_utf8_bom_is_accepted(tmp_path):
    rows = load(tmp_path, "agents", "\ufeffagent_id,name,phone,balance\nAG1,Toko Ani,0811,5\n")
    assert rows == [{"agent_id": "AG1", "name": "Toko Ani", "phone": "0811", "balance": 5}]


def test_non_utf8_names_the_line_of_the_first_bad_byte(tmp_path):
    data = "agent_id,name,phone,balance\nAG1,Toko Ani,0811,5\nAG2,Caf\u00e9,0812,5\n"
    err = load_error(tmp_path, "agents", data.encode("cp1252"))
    assert (err.path, err.line) == ("agents.csv", 3)
    assert "UTF-8" in err.reason


def test_columns_in_any_order_and_extra_columns_ignored(tmp_path):
    rows = load(tmp_path, "agents", "Catatan,balance,PHONE, name ,agent_id\n"
                "VIP,1000,0811,Toko Ani,AG1\n")
    assert rows == [{"agent_id": "AG1", "name": "Toko Ani", "phone": "0811", "balance": 1000}]


def test_column_number_is_the_position_in_the_file(tmp_path):
    err = load_error(tmp_path, "agents", "note,balance,phone,name,agent_id\nx,1.000,0811,A,AG1\n")
    assert err.column == "2 (balance)"


def test_missing_header_column_is_an_error_at_line_1(tmp_path):
    err = load_error(tmp_path, "agents", "agent_id,name,balance\nAG1,A,5\n")
    assert (err.line, err.column) == (1, None)
    assert err.reason == "missing column phone in the header"


def test_semicolon_file_gets_a_hint(tmp_path):
    err = load_error(tmp_path, "agents", "agent_id;name;phone;balance\nAG1;A;0811;5\n")
    assert err.line == 1 and "commas" in err.reason


def test_known_column_twice_is_an_error(tmp_path):
    err = load_error(tmp_path, "agents", "agent_id,name,phone,balance,name\nAG1,A,0811,5,B\n")
    assert err.line == 1 and "columns 2 and 5" in err.reason


@pytest.mark.parametrize("row, fields", [("AG1,A,0811", 3), ("AG1,A,0811,5,extra", 5)])
def test_wrong_number_of_fields_is_an_error(tmp_path, row, fields):
    err = load_error(tmp_path, "agents", f"agent_id,name,phone,balance\nAG1,A,0811,5\n{row}\n")
    assert (err.path, err.line) == ("agents.csv", 3)
    assert err.reason == f"row has {fields} fields, the header has 4"


def test_blank_lines_are_skipped_but_counted(tmp_path):
    err = load_error(tmp_path, "agents", "agent_id,name,phone,balance\n\nAG1,A,0811,5\n"
                     "\n,,,\n\r\nAG2,B,0812,x\n")
    assert err.line == 7


def test_multi_line_cell_reports_the_line_the_row_starts_on(tmp_path):
    rows = load(tmp_path, "agents", 'agent_id,name,phone,balance\nAG1,"Toko\nAni",0811,5\n')
    assert rows[0]["name"] == "Toko\nAni"
    err = load_error(tmp_path, "agents", 'agent_id,name,phone,balance\nAG1,"Toko\nAni",0811,5\n'
                     "AG2,B,0812,bad\n")
    assert err.line == 4


def test_crlf_line_endings(tmp_path):
    rows = load(tmp_path, "agents", "agent_id,name,phone,balance\r\nAG1,A,0811,5\r\n")
    assert rows[0]["balance"] == 5


def test_header_only_and_empty_files_are_empty_tables(tmp_path):
    assert load(tmp_path, "agents", "agent_id,name,phone,balance\n") == []
    assert load(tmp_path, "agents", "") == []


def test_missing_file_is_an_empty_table(tmp_path):
    assert load_table(tmp_path / "tickets.csv", "tickets", START) == []


# --- the world folder ---------------------------------------------------------------------

def test_empty_world_folder_has_every_table_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("not a table")
    (tmp_path / "Tickets.CSV").write_text("garbage,,,\n")
    assert load_world(tmp_path, START) == {name: [] for name in CONTRACT}


def test_world_folder_loads_each_file(tmp_path):
    (tmp_path / "agents.csv").write_text("agent_id,name,phone,balance\nAG1,A,0811,5\n")
    (tmp_path / "tickets.csv").write_text(TICKETS_HEADER + TICKET)
    world = load_world(tmp_path, START)
    assert list(world) == list(CONTRACT)
    assert world["agents"][0]["agent_id"] == "AG1"
    assert world["tickets"][0]["created_at"] == START - timedelta(minutes=3)
    assert world["mutations"] == []


def test_error_in_world_names_the_file_not_the_folder(tmp_path):
    (tmp_path / "agents.csv").write_text("agent_id,name,phone,balance\nAG1,A,0811,Rp 5\n")
    with pytest.raises(SeedError) as caught:
        load_world(tmp_path, START)
    assert caught.value.path == "agents.csv"
    assert caught.value.full_path == tmp_path / "agents.csv"
    assert str(caught.value).startswith("agents.csv, line 2, column 4 (balance): ")


def test_missing_world_folder_is_a_seed_error(tmp_path):
    with pytest.raises(SeedError, match="world folder not found"):
        load_world(tmp_path / "nowhere", START)


def test_demo_world_loads():
    world = load_world(DEMO, START)
    users = world["portal_users"]
    assert {u["portal"] for u in users} >= {"bank_bca", "bank_mandiri", "bank_bri", "bank_bni",
                                            "otomax", "indiana", "aggregator", "dukcapil",
                                            "ismara", "helpdesk"}
    agents = world["agents"]
    assert len(agents) == 8 and all(a["agent_id"].startswith("AG") for a in agents)
    assert all(a["phone"].startswith("08") for a in agents)
    accounts = {a["bank"]: a for a in world["bank_accounts"]}
    assert {bank: len(a["account_no"]) for bank, a in accounts.items()} == {
        "bca": 10, "mandiri": 13, "bri": 15, "bni": 10}
    assert {a["holder"] for a in accounts.values()} == {"PT TRAVELPULSA NUSANTARA"}


# --- rows POSTed to the control API -------------------------------------------------------

def test_seed_row_is_typed_like_a_file_row():
    row = parse_seed_row("tickets", {"ticket_id": "TK9", "agent_id": "AG1", "amount": "500123",
                                     "bank": "BCA", "account_no": "5270418836",
                                     "created_at": "now", "expires_at": "", "status": "open",
                                     "unknown": "ignored"}, START)
    assert row == {"ticket_id": "TK9", "agent_id": "AG1", "amount": 500123, "bank": "bca",
                   "account_no": "5270418836", "created_at": START, "expires_at": None,
                   "status": "OPEN", "purpose": "DEPOSIT", "bon_id": None}


def test_seed_row_error_names_where_and_column():
    values = {"bank": "bca", "account_no": "1", "posted_at": "now", "description": "TRSF",
              "amount": "12,5", "direction": "CR"}
    with pytest.raises(SeedError) as caught:
        parse_seed_row("mutations", values, START)
    assert str(caught.value) == ("rows/mutations, column amount: not a plain rupiah number "
                                 "(value '12,5')")
    with pytest.raises(SeedError, match=r"^rows/mutations row 2, column direction: "):
        parse_seed_row("mutations", {**values, "amount": "5", "direction": "KREDIT"}, START,
                       where="rows/mutations row 2")


def test_seed_row_missing_required_column():
    with pytest.raises(SeedError, match="column phone: required value is empty"):
        parse_seed_row("agents", {"agent_id": "AG9", "name": "X", "balance": "0"}, START)


def test_seed_row_duplicate_against_existing():
    existing = load_world(DEMO, START)["agents"]
    with pytest.raises(SeedError, match=r"duplicate agent_id 'AG0001' \(already in the world\)"):
        parse_seed_row("agents", {"agent_id": "AG0001", "name": "X", "phone": "0811",
                                  "balance": "0"}, START, existing)
    fresh = parse_seed_row("agents", {"agent_id": "AG0099", "name": "X", "phone": "0811",
                                      "balance": "0"}, START, existing)
    assert fresh["agent_id"] == "AG0099"


def test_seed_row_unknown_table():
    with pytest.raises(SeedError, match="unknown table 'saldo'"):
        parse_seed_row("saldo", {}, START)
