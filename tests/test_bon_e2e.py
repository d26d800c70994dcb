"""Bon / TOP end to end: reconcile_payments in a real browser against the mock world grants
exactly the eligible requests once; the rest wait for the supervisor (CLI); a bon repaid by a
transfer; kill -9 during a grant, and a lost store, never grant twice."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from chaos.bon_checks import checks as bon_invariants
from tests.conftest import MockWorld, run_cli
from tests.reconcile_world import BCA, T0, absolute, env_file, write_world
from tests.stores import lose_store

pytestmark = pytest.mark.browser

AGENTS = """agent_id,name,phone,balance
AG1,Cell Jaya Balaraja,081210000001,100000
AG2,Pulsa Murah Tigaraksa,081210000002,0
AG3,Konter Berkah,081210000003,50000
AG4,Sinar Phone,081210000004,0
AG5,Toko Baru Cikupa,081210000005,0
"""
BONS = """bon_id,agent_id,amount,repaid,granted_at
B-OLD1,AG1,400000,400000,-120h
B-OLD2,AG2,300000,100000,-72h
B-OLD3,AG4,250000,,-48h
"""
REQUESTS = """request_id,agent_id,amount,requested_at,status
R1,AG1,600000,-30m,PENDING
R2,AG2,100000,-25m,
R3,AG3,800000,-20m,PENDING
R3B,AG3,100000,-19m,PENDING
R5,AG4,300000,-10m,PENDING
R6,AG9,50000,-9m,PENDING
R7,AG2,5000000,-8m,PENDING
R8,AG5,1500000,-7m,PENDING
R0,AG5,10000,-50m,REFUSED
"""
# AG4 repays B-OLD3 by transfer against a bon-repayment ticket (matched like any deposit ticket)
BON_TICKET = f"TKB,AG4,250071,bca,{BCA},-3h,+6h,OPEN,BON,B-OLD3\n"
BON_TRANSFER = f"bca,{BCA},-45m,TRSF E-BANKING CR 2311/FTSCY/WS95051 250071.00 SINAR PHONE BON,250071,CR\n"

GRANTED = {"R1", "R3", "R5"}
WAITING = {"R2", "R3B", "R6", "R7", "R8"}
#: what the first run adds to each agent's saldo: deposits (TK1, TK2) and the bons granted
FIRST_RUN = {"AG1": 500123 + 600000, "AG2": 250087, "AG3": 800000, "AG4": 300000}


def write_bon_world(folder):
    """The reconcile world (tests/reconcile_world.py) with an agent more, bons, bon requests, and
    a bon-repayment ticket paid by a transfer; times around T0."""
    folder = write_world(folder)
    (folder / "agents.csv").write_text(AGENTS, encoding="utf-8")
    (folder / "bons.csv").write_text(absolute(BONS), encoding="utf-8")
    (folder / "bon_requests.csv").write_text(absolute(REQUESTS), encoding="utf-8")
    tickets = (folder / "tickets.csv").read_text(encoding="utf-8").splitlines()
    (folder / "tickets.csv").write_text("\n".join([tickets[0] + ",purpose,bon_id"] + [t + ",," for t in tickets[1:]])
                                        + "\n" + absolute(BON_TICKET), encoding="utf-8")
    with open(folder / "mutations.csv", "a", encoding="utf-8") as handle:
        handle.write(absolute(BON_TRANSFER))
    return folder


@pytest.fixture
def bon_world(tmp_path, bot_env):
    folder = write_bon_world(tmp_path / "world")
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0.isoformat()})
    env = bot_env(world.url, BOTS_ENV_FILE=str(env_file(folder)), COLUMNS="250", BOTS_NOW=T0.isoformat(),
                  NOTIFY_URLS=f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages")
    yield world, env, tmp_path
    world.stop()


def balances(world) -> dict[str, int]:
    return {a["agent_id"]: a["balance"] for a in world.state()["agents"]}


def changed(before: dict, after: dict) -> dict:
    return {a: after[a] - before[a] for a in after if after[a] != before[a]}


def bon_credits(state) -> list[str]:
    return sorted(r["ticket_id"] for r in state["balance_log"] if r["kind"] == "bon")


def portal_status(state) -> dict[str, str]:
    return {r["request_id"]: r["status"] for r in state["bon_requests"]}


def bon_messages(state) -> list[str]:
    return sorted(m["title"] for m in state["helpdesk_messages"] if m["title"].startswith("[BON-"))


@pytest.mark.timeout(420)  # two runs and nine commands, each its own process and browser
def test_eligible_requests_are_granted_once_the_rest_wait_for_the_supervisor(bon_world):
    world, env, tmp_path = bon_world
    before = balances(world)
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert changed(before, balances(world)) == FIRST_RUN  # the repayment ticket credited nothing
    state = world.state()
    assert bon_credits(state) == sorted(GRANTED)
    status = portal_status(state)
    assert {r for r, s in status.items() if s == "GRANTED"} == GRANTED
    assert {r for r, s in status.items() if s == "PENDING"} == WAITING
    bons = {b["bon_id"]: (b["agent_id"], b["amount"], b["repaid"]) for b in state["bons"]}
    assert bons["R1"] == ("AG1", 600000, 0) and bons["R5"] == ("AG4", 300000, 0)
    assert bons["B-OLD3"] == ("AG4", 250000, 250071)  # repaid by the transfer, so R5 was granted the same run
    assert [(p["bon_id"], p["amount"], p["ticket_id"]) for p in state["bon_payments"]] == [("B-OLD3", 250071, "TKB")]
    messages = bon_messages(state)
    assert [m.split("]")[0] + "]" for m in messages] == sorted(f"[BON-{r}]" for r in WAITING)
    r2 = next(m for m in state["helpdesk_messages"] if m["title"].startswith("[BON-R2]"))
    assert "BON_OUTSTANDING" in r2["title"] and "B-OLD2 Rp 200.000" in r2["body"] and "Rp 100.000" in r2["body"]
    r3b = next(m for m in state["helpdesk_messages"] if m["title"].startswith("[BON-R3B]"))
    assert "R3 Rp 800.000" in r3b["body"]  # two requests at once: the first granted is the open bon
    for request, code in (("R6", "BON_UNKNOWN_AGENT"), ("R7", "BON_OUTSTANDING"), ("R8", "BON_OVER_LIMIT")):
        assert code in next(m["title"] for m in state["helpdesk_messages"] if m["title"].startswith(f"[BON-{request}]"))

    [path] = (tmp_path / "reports" / "rekonsiliasi").glob("rekonsiliasi-*.xlsx")
    book = load_workbook(path)
    sheet = book["Bon"]
    header = [c.value for c in sheet[2]]
    assert header == ["Agen", "Nama", "Bon", "Nominal", "Dilunasi", "Sisa", "Tanggal", "Umur (hari)"]
    rows = {r[2]: r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] and r[0] != "Total"}
    assert set(rows) == {"B-OLD2", "R1", "R3", "R5"}
    assert rows["B-OLD2"][1] == "Pulsa Murah Tigaraksa" and rows["B-OLD2"][5] == 200000 and rows["B-OLD2"][7] == 3
    asked = book["Permintaan Bon"]
    codes = {r[0]: r[5] for r in asked.iter_rows(min_row=2, values_only=True) if r[0] and r[0] != "Total"}
    assert codes == {"R0": "BON_REFUSED", "R1": "BON_GRANTED", "R2": "BON_OUTSTANDING", "R3": "BON_GRANTED",
                     "R3B": "BON_OUTSTANDING", "R5": "BON_GRANTED", "R6": "BON_UNKNOWN_AGENT",
                     "R7": "BON_OUTSTANDING", "R8": "BON_OVER_LIMIT"}
    credited = book["Kredit Otomatis"]
    repay = [r for r in credited.iter_rows(min_row=2, values_only=True) if r[6] == "TKB"]
    assert repay and repay[0][9].startswith("Pelunasan bon B-OLD3")

    after = balances(world)
    again = run_cli("run", "reconcile_payments", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert balances(world) == after and bon_credits(world.state()) == sorted(GRANTED)
    assert bon_messages(world.state()) == messages  # each supervisor told once

    # the supervisor: the waiting list, a grant, a refusal, a second grant, an unknown request
    listed = run_cli("bon", "list", env=env)
    assert listed.returncode == 0 and all(r in listed.stdout for r in WAITING) and "B-OLD2" in listed.stdout
    granted = run_cli("bon", "decide", "R2", "--grant", "--note", "atasan setuju: agen lama", "--by", "spv.budi",
                      env=env)
    assert granted.returncode == 0, granted.stdout + granted.stderr
    refused = run_cli("bon", "decide", "R8", "--refuse", "--note", "agen baru, belum ada riwayat", env=env)
    assert refused.returncode == 0, refused.stdout + refused.stderr
    twice = run_cli("bon", "decide", "R2", "--grant", "--note", "sekali lagi", env=env)
    assert twice.returncode == 0 and "nothing done again" in twice.stdout
    contrary = run_cli("bon", "decide", "R2", "--refuse", "--note", "berubah pikiran", env=env)
    assert contrary.returncode == 2 and "already granted" in contrary.stderr
    unknown = run_cli("bon", "decide", "R99", "--grant", "--note", "x", env=env)
    assert unknown.returncode == 2 and "R99" in unknown.stderr
    state = world.state()
    assert changed(after, balances(world)) == {"AG2": 100000}
    assert bon_credits(state) == sorted(GRANTED | {"R2"})
    assert portal_status(state)["R8"] == "REFUSED"
    assert next(r for r in state["bon_requests"] if r["request_id"] == "R8")["note"] == "agen baru, belum ada riwayat"
    # the chaos invariants: the supervisor's grant over an open bon is theirs to make, the bot's never
    assert bon_invariants(state, by_person={"R2"}) == []
    assert bon_invariants(state) == ["bon R2 granted to AG2 while B-OLD2 still owed Rp 200000"]

    # finance marks a repayment by hand: once, however often the command is repeated
    for _ in range(2):
        paid = run_cli("bon", "repaid", "B-OLD2", "--amount", "200000", "--note", "tunai di kantor", env=env)
        assert paid.returncode == 0, paid.stdout + paid.stderr
    assert "already recorded" in paid.stdout
    payments = [p for p in world.state()["bon_payments"] if p["bon_id"] == "B-OLD2"]
    assert len(payments) == 1 and payments[0]["note"].startswith("BOT:P-") and payments[0]["amount"] == 200000
    assert next(b for b in world.state()["bons"] if b["bon_id"] == "B-OLD2")["repaid"] == 300000
    nobon = run_cli("bon", "repaid", "B-NONE", "--amount", "1000", "--note", "x", env=env)
    assert nobon.returncode == 2 and "B-NONE" in nobon.stderr


BON_KILL_POINTS = ["bon:after_intent", "bon:after_in_flight", "bon:after_click", "bon:after_done"]


@pytest.mark.timeout(420)  # six runs, each its own process and browser
def test_killed_during_a_grant_then_a_lost_store_still_grants_exactly_once(bon_world):
    world, env, tmp_path = bon_world
    before = balances(world)
    for point in BON_KILL_POINTS:
        killed = run_cli("run", "reconcile_payments", env={**env, "BOTS_CRASH_AT": point})
        assert killed.returncode == -9, f"{point} was never reached: {killed.stdout} {killed.stderr}"
        credits = bon_credits(world.state())
        assert len(credits) == len(set(credits))  # never a bon twice, at any moment
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert changed(before, balances(world)) == FIRST_RUN
    state = world.state()
    assert bon_credits(state) == sorted(GRANTED)
    assert len([b for b in state["bons"] if b["bon_id"] in GRANTED]) == 3

    # the store lost (a new host, a restore gone wrong): the portal shows what was granted
    lose_store(tmp_path)
    rebuilt = run_cli("run", "reconcile_payments", env=env)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert changed(before, balances(world)) == FIRST_RUN
    assert bon_credits(world.state()) == sorted(GRANTED)
    assert bon_messages(world.state()) == bon_messages(state)  # the supervisor is not told twice either
    assert bon_invariants(world.state()) == []


# -- the mock Otomax's Bon / TOP pages, over plain HTTP (the contract the bot's page object reads) --

@pytest.fixture
def bon_portal(tmp_path):
    from mock_portals.server import WorldServer
    from mock_portals.world import World
    from tests.conftest import Browserless

    world = World.from_seed(write_bon_world(tmp_path / "world"), T0)
    server = WorldServer(world).start()
    person = Browserless(server.url)
    users = (tmp_path / "world" / "portal_users.csv").read_text(encoding="utf-8").splitlines()
    _, user, password = next(u for u in users if u.startswith("otomax,")).split(",")
    person.login("/otomax", user, password)
    yield world, person
    server.stop()


def post(person, path: str, form: dict | None = None):
    _, _, page = person.open("/otomax/bon")
    return person.open(path, {"csrf_token": person.csrf(page), **(form or {})})


def test_the_portal_grants_once_refuses_with_a_note_and_records_every_repayment_posted(bon_portal):
    world, person = bon_portal
    status, _, page = person.open("/otomax/bon?status=PENDING&per_page=10&q=AG3")
    assert status == 200 and "R3B" in page and "R1<" not in page and "Tembak Saldo" in page
    assert post(person, "/otomax/bon/R3/tembak")[0] == 200
    status, _, page = post(person, "/otomax/bon/R3/tembak")
    assert status == 409 and "sudah diproses" in page
    assert [r["ticket_id"] for r in world.state()["balance_log"] if r["kind"] == "bon"] == ["R3"]
    assert next(a for a in world.state()["agents"] if a["agent_id"] == "AG3")["balance"] == 50000 + 800000
    assert post(person, "/otomax/bon/R6/tolak", {"note": " "})[0] == 400
    assert post(person, "/otomax/bon/R6/tolak", {"note": "agen tidak dikenal"})[0] == 200
    assert post(person, "/otomax/bon/R6/tembak")[0] == 409  # refused stays refused
    _, _, csv = person.open("/otomax/bon/unduh?q=R6")
    assert csv.splitlines()[0] == "request_id,agent_id,amount,requested_at,status,granted_at,note"
    assert ",REFUSED,,agen tidak dikenal" in csv.splitlines()[1]
    for _ in range(2):  # "Catat Pelunasan" is not idempotent: every POST records again
        assert post(person, "/otomax/bon/pelunasan", {"bon_id": "B-OLD2", "amount": "50.000", "note": "tunai"})[0] == 200
    assert next(b for b in world.state()["bons"] if b["bon_id"] == "B-OLD2")["repaid"] == 200000
    status, _, page = post(person, "/otomax/bon/pelunasan", {"bon_id": "B-OLD2", "amount": "100001", "note": "x"})
    assert status == 409 and "Melebihi Sisa Bon" in page
    _, _, csv = person.open("/otomax/bon/agen/unduh?agen=AG2&status=OPEN")
    assert csv.splitlines()[1].startswith("B-OLD2,AG2,300000,200000,100000,")


def test_a_repayment_ticket_without_a_bon_is_refused_and_credits_nothing(bon_portal):
    world, person = bon_portal
    world.append_seed_rows("tickets", [{"ticket_id": "TKX", "agent_id": "AG3", "amount": "100013", "bank": "bca",
                                        "account_no": BCA, "created_at": "-1h", "expires_at": "+6h",
                                        "status": "OPEN", "purpose": "BON"}])
    _, _, page = person.open("/otomax/tiket")
    status, _, page = person.open("/otomax/tiket/TKX/setujui", {"csrf_token": person.csrf(page)})
    assert status == 409 and "Bon Tidak Ditemukan" in page
    state = world.state()
    assert next(t for t in state["tickets"] if t["ticket_id"] == "TKX")["status"] == "OPEN"
    assert state["bon_payments"] == [] and next(a for a in state["agents"] if a["agent_id"] == "AG3")["balance"] == 50000


def test_bon_seed_files_default_their_optional_columns_and_name_a_bad_cell(tmp_path):
    from mock_portals.seed import SeedError, load_table

    (tmp_path / "bon_requests.csv").write_text("request_id,agent_id,amount,requested_at\nQ1,AG1,5000,-1h\n")
    (tmp_path / "bons.csv").write_text("bon_id,agent_id,amount,granted_at\nB1,AG1,5000,-2d\n")
    (tmp_path / "tickets.csv").write_text("ticket_id,agent_id,amount,bank,account_no,created_at,expires_at,status\n"
                                          f"T1,AG1,5000,bca,{BCA},-1h,,OPEN\n")
    assert load_table(tmp_path / "bon_requests.csv", "bon_requests", T0)[0]["status"] == "PENDING"
    assert load_table(tmp_path / "bons.csv", "bons", T0)[0]["repaid"] == 0
    ticket = load_table(tmp_path / "tickets.csv", "tickets", T0)[0]
    assert (ticket["purpose"], ticket["bon_id"]) == ("DEPOSIT", None)
    (tmp_path / "bon_requests.csv").write_text("request_id,agent_id,amount,requested_at,status\n"
                                               "Q1,AG1,5000,-1h,PENDING\nQ2,AG1,5000,-1h,LUNAS\n")
    with pytest.raises(SeedError) as raised:
        load_table(tmp_path / "bon_requests.csv", "bon_requests", T0)
    assert raised.value.line == 3 and "status" in str(raised.value.column) and "PENDING" in str(raised.value)


def test_commit_then_drop_on_the_grant_still_grants_once(bon_world):
    world, env, tmp_path = bon_world
    world.post("/__mock/faults", {"drop_rate": 1.0, "portals": ["otomax"]})
    run_cli("run", "reconcile_payments", env=env)
    world.post("/__mock/faults", {})
    done = run_cli("run", "reconcile_payments", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    state = world.state()
    assert bon_credits(state) == sorted(GRANTED) and bon_invariants(state) == []
    assert {r for r, s in portal_status(state).items() if s == "PENDING"} == WAITING
