"""check_pending_tx end to end: the world's clock moves, complaints go out once per step."""

from __future__ import annotations



import pytest
from openpyxl import load_workbook

from bots.complaints.act import reference_for
from tests.conftest import WORLD, MockWorld, run_cli

pytestmark = pytest.mark.browser

T0 = "2026-11-23T10:00:00+07:00"
TRANSACTIONS = """trx_id,agent_id,product,destination,price,supplier,created_at,status,sn
T1,AG1,S10,081234500001,10250,mitra,2026-11-23T09:57:00+07:00,PENDING,
T2,AG2,X25,087812300002,25100,sinar,2026-11-23T09:40:00+07:00,PENDING,
T3,AG3,S20,081234500003,20150,mitra,2026-11-23T09:59:00+07:00,PENDING,
T4,AG1,PLN50,5123400004,50500,mitra,2026-11-23T08:00:00+07:00,SUKSES,0144700000000004
T5,AG2,S5,081234500005,5200,sinar,2026-11-23T09:00:00+07:00,SUKSES,0144700000000005
"""
BEHAVIOUR = """trx_id,resolves_after,final_status,sn
T1,complaint,SUKSES,0144700000000001
T2,hard_complaint,GAGAL,
T3,never,,
"""
AGENT_COMPLAINTS = """complaint_id,trx_id,reported_at,kind,note
K1,T4,2026-11-23T09:55:00+07:00,PRODUCT_NOT_RECEIVED,token belum masuk
K2,T5,2026-11-23T09:58:00+07:00,WRONG_NUMBER,salah ketik nomor
"""
AGENTS = "agent_id,name,phone,balance\nAG1,Cell Jaya,0812,100000\nAG2,Pulsa Murah,0813,0\nAG3,Konter Berkah,0814,0\n"


def expected(*pairs):
    """(trx, step, level) → what the supplier's complaint table must hold."""
    return sorted((trx, level, reference_for(f"complaint:{trx}:{step}")) for trx, step, level in pairs)


@pytest.fixture
def pending(tmp_path, bot_env):
    folder = tmp_path / "world"
    folder.mkdir()
    users = (WORLD / "portal_users.csv").read_text().splitlines()
    (folder / "portal_users.csv").write_text("\n".join(
        [users[0]] + [u for u in users[1:] if u.split(",")[0] in ("otomax", "supplier_mitra", "supplier_sinar",
                                                                   "helpdesk")]) + "\n")
    for name, text in (("transactions.csv", TRANSACTIONS), ("supplier_behaviour.csv", BEHAVIOUR),
                       ("agent_complaints.csv", AGENT_COMPLAINTS), ("agents.csv", AGENTS)):
        (folder / name).write_text(text)
    world = MockWorld(seed=folder)
    world.post("/__mock/clock", {"set": T0})
    env = bot_env(world.url, NOTIFY_URLS=f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages")
    yield world, env, tmp_path
    world.stop()


def run_at_world_time(world, env, **extra):
    now = world.get("/__mock/clock")["now"]
    return run_cli("run", "check_pending_tx", env={**env, "BOTS_NOW": now, **extra})


def complaints(world):
    return sorted((c["trx_id"], c["level"], c["reference"]) for c in world.state()["complaints"])


def test_the_ladder_against_the_world_with_its_clock_moving(pending):
    world, env, tmp_path = pending
    done = run_at_world_time(world, env)
    assert done.returncode == 0, done.stdout + done.stderr
    first = expected(("T1", "complaint", "normal"), ("T2", "hard_complaint", "hard"), ("T4", "pnr_complaint", "normal"))
    assert complaints(world) == first
    assert run_at_world_time(world, env).returncode == 0
    assert complaints(world) == first  # however often the bot runs

    world.post("/__mock/clock", {"advance": "3m"})  # T1 and T2 resolve; T3 is 4 minutes old
    assert run_at_world_time(world, env).returncode == 0
    second = first + expected(("T3", "complaint", "normal"))
    assert complaints(world) == sorted(second)
    world.post("/__mock/clock", {"advance": "13m"})  # T3: 17 minutes
    assert run_at_world_time(world, env).returncode == 0
    third = sorted(second + expected(("T3", "hard_complaint", "hard")))
    assert complaints(world) == third
    world.post("/__mock/clock", {"advance": "31m"})  # 31 minutes after T3's hard complaint; K1 52 min old
    assert run_at_world_time(world, env).returncode == 0
    assert complaints(world) == sorted(third + expected(("T4", "pnr_followup_1", "normal")))
    titles = [m["title"] for m in world.state()["helpdesk_messages"]]
    assert len([t for t in titles if t.startswith("[SPV-T3]")]) == 1
    assert run_at_world_time(world, env).returncode == 0
    assert len(world.state()["complaints"]) == len(third) + 1 and len(world.state()["helpdesk_messages"]) == 1

    [path] = list((tmp_path / "reports" / "komplain").glob("komplain-*.xlsx"))
    book = load_workbook(path)
    assert book.sheetnames == ["Ringkasan", "Komplain", "Skor Supplier"]
    rows = list(book["Komplain"].iter_rows(min_row=2, values_only=True))
    header = [c.value for c in book["Komplain"][1]]
    by_step = {(r[0], r[header.index("Langkah")]): r for r in rows}
    t1 = by_step[("T1", "complaint")]
    assert t1[header.index("Resolusi")] == "SUKSES" and 0 < t1[header.index("Waktu ke Resolusi (menit)")] <= 4
    assert by_step[("T5", "wrong_number")][header.index("Kode")] == "WRONG_NUMBER_NON_REFUNDABLE"
    score = list(book["Skor Supplier"].iter_rows(min_row=2, values_only=True))
    score_header = [c.value for c in book["Skor Supplier"][1]]
    for row in score:
        steps_of_supplier = [r for r in rows if r[1] == row[0]]
        assert row[score_header.index("Total Langkah")] == len(steps_of_supplier)
    assert sum(r[score_header.index("Total Langkah")] for r in score) == len(rows)


@pytest.mark.parametrize("point", ["complaint:after_send"])
def test_killed_between_sending_and_recording_sends_nothing_more(pending, point):
    world, env, _ = pending
    killed = run_at_world_time(world, env, BOTS_CRASH_AT=point)
    assert killed.returncode == -9
    done = run_at_world_time(world, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert complaints(world) == expected(("T1", "complaint", "normal"), ("T2", "hard_complaint", "hard"),
                                         ("T4", "pnr_complaint", "normal"))
