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
T6,AG3,S10,081234500006,10250,sinar,2026-11-23T09:00:00+07:00,SUKSES,0144700000000006
T7,AG3,S10,081234500007,10250,mitra,2026-11-23T09:30:00+07:00,GAGAL,
T8,AG1,PLN20,5123400008,20500,mitra,2026-11-20T09:00:00+07:00,SUKSES,0144700000000008
"""
BEHAVIOUR = """trx_id,resolves_after,final_status,sn
T1,complaint,SUKSES,0144700000000001
T2,hard_complaint,GAGAL,
T3,never,,
T4,never,,
T6,complaint,SUKSES,0144700000000066
T8,never,,
"""
AGENT_COMPLAINTS = """complaint_id,trx_id,reported_at,kind,note
K1,T4,2026-11-23T09:55:00+07:00,PRODUCT_NOT_RECEIVED,token belum masuk
K2,T5,2026-11-23T09:58:00+07:00,WRONG_NUMBER,salah ketik nomor
K3,T3,2026-11-23T10:00:00+07:00,PRODUCT_NOT_RECEIVED,pulsa belum masuk
K4,T6,2026-11-23T09:58:00+07:00,PRODUCT_NOT_RECEIVED,belum masuk
K5,T7,2026-11-23T09:45:00+07:00,WRONG_NUMBER,salah nomor
K6,T8,2026-11-23T09:50:00+07:00,PRODUCT_NOT_RECEIVED,token 3 hari lalu belum masuk
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
    world.post("/__mock/clock", {"set": T0, "frozen": True})  # moves only when the test advances it
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
    # T3's report joins its pending ladder (1 minute old: nothing yet); T8, older than the report's
    # window and than 1x24 h, gets the hard complaint at once; wrong numbers send nothing
    first = expected(("T1", "complaint", "normal"), ("T2", "hard_complaint", "hard"), ("T4", "pnr_complaint", "normal"),
                     ("T6", "pnr_complaint", "normal"), ("T8", "pnr_hard_complaint", "hard"))
    assert complaints(world) == first
    assert run_at_world_time(world, env).returncode == 0
    assert complaints(world) == first  # however often the bot runs

    world.post("/__mock/clock", {"advance": "3m"})  # T1, T2 and T6 resolve; T3 is 4 minutes old
    assert run_at_world_time(world, env).returncode == 0
    second = first + expected(("T3", "complaint", "normal"))
    assert complaints(world) == sorted(second)
    world.post("/__mock/clock", {"advance": "13m"})  # T3: 17 minutes
    assert run_at_world_time(world, env).returncode == 0
    third = sorted(second + expected(("T3", "hard_complaint", "hard")))
    assert complaints(world) == third
    world.post("/__mock/clock", {"advance": "13m"})  # T4: 29 minutes after its complaint, no follow-up yet
    assert run_at_world_time(world, env).returncode == 0
    assert complaints(world) == third
    world.post("/__mock/clock", {"advance": "18m"})  # 31 minutes after T3's hard complaint; T4 47 after its one
    assert run_at_world_time(world, env).returncode == 0
    # T6's supplier answered with an SN: its chase stopped; T8 waits a day for the supervisor
    assert complaints(world) == sorted(third + expected(("T4", "pnr_followup_1", "normal")))
    titles = [m["title"] for m in world.state()["helpdesk_messages"]]
    assert len([t for t in titles if t.startswith("[SPV-T3]")]) == 1
    assert run_at_world_time(world, env).returncode == 0
    assert len(world.state()["complaints"]) == len(third) + 1 and len(world.state()["helpdesk_messages"]) == 1

    [path] = list((tmp_path / "reports" / "komplain").glob("komplain-*.xlsx"))
    book = load_workbook(path)
    assert book.sheetnames == ["Ringkasan", "Komplain", "Skor Supplier"]
    header = [c.value for c in book["Komplain"][1]]
    rows = [dict(zip(header, r)) for r in book["Komplain"].iter_rows(min_row=2, values_only=True)]
    by_step = {(r["Transaksi"], r["Kode"]): r for r in rows}
    t1 = by_step[("T1", "COMPLAINT_SENT")]
    assert t1["Resolusi"].startswith("SUKSES (SN 0144700000000001") and t1["Langkah"] == "Komplain pending"
    assert t1["Agen"] == "AG1" and t1["Harga"] == 10250 and t1["Status Server"] == "Sukses"
    assert t1["Supplier"] == "Mitra Pulsa Nusantara" and t1["Umur Saat Langkah (j:mm)"] == "0:03"
    assert t1["Waktu ke Resolusi (j:mm)"] in ("0:01", "0:02", "0:03")
    t6 = by_step[("T6", "PNR_COMPLAINT_SENT")]
    assert t6["Resolusi"] == "SUKSES (SN 0144700000000066)"  # from the supplier's reply: the chase stopped
    assert by_step[("T5", "WRONG_NUMBER_NON_REFUNDABLE")]["Langkah"].startswith("Salah nomor")
    assert ("T7", "WRONG_NUMBER_ALREADY_REFUNDED") in by_step  # GAGAL: never "non-refundable"
    assert by_step[("T8", "PNR_HARD_COMPLAINT_SENT")]["Umur Saat Langkah (j:mm)"] == "73:00"
    assert by_step[("T4", "PNR_FOLLOWUP_SENT")]["Langkah"] == "Follow-up ke-1 produk belum masuk"
    score_header = [c.value for c in book["Skor Supplier"][1]]
    score = [dict(zip(score_header, r)) for r in book["Skor Supplier"].iter_rows(min_row=2, values_only=True)]
    for row in score:
        assert row["Total Langkah"] == len([r for r in rows if r["Supplier"] == row["Supplier"]])
    assert sum(r["Total Langkah"] for r in score) == len(rows)
    assert all(r["Selesai Setelah Komplain Keras"] is None or r["Selesai Setelah Komplain Keras"].endswith("%")
               for r in score)
    assert "Periode: 23/11/2026 00:00" in book["Ringkasan"]["A2"].value
    assert book["Komplain"].page_setup.orientation == "landscape"


@pytest.mark.parametrize("point", ["complaint:after_send"])
def test_killed_between_sending_and_recording_sends_nothing_more(pending, point):
    world, env, _ = pending
    killed = run_at_world_time(world, env, BOTS_CRASH_AT=point)
    assert killed.returncode == -9
    done = run_at_world_time(world, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert complaints(world) == expected(("T1", "complaint", "normal"), ("T2", "hard_complaint", "hard"),
                                         ("T4", "pnr_complaint", "normal"), ("T6", "pnr_complaint", "normal"),
                                         ("T8", "pnr_hard_complaint", "hard"))
