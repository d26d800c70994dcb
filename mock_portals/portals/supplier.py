"""`/supplier/<code>/`: an upstream supplier's (H2H) portal — status, complaints, their history.

Suppliers differ the way real ones do (shared/BANK-EXPORTS.md, "Pulsa deposit and complaint
conventions"): each speaks its own status words (Sukses/Proses/Gagal, SUCCESS/PENDING/FAILED,
BERHASIL/DIPROSES/GAGAL), and some put error text in the SN field — the SN is not always a
serial number. A code without a profile gets a style picked by hashing the code, so any
world's suppliers look the same from run to run.

A transaction shows what the `transactions` table says until a complaint resolves it, as its
`supplier_behaviour` row tells: `complaint` after any complaint, `hard_complaint` only after a
hard one, `never` not at all; without a row it stays as seeded. It resolves `RESOLVE_DELAY`
after the complaint that triggers it. `settle` makes that happen lazily, whenever a page reads
the world, so moving the world's clock is enough; it writes the final status, SN and
`resolved_at` into the transactions row, as the transaction server learns it from the
supplier's callback. Complaints are not idempotent: every POST is a new complaint. Under the
`refuse_rate` fault a complaint the form would take is refused instead ("Komplain Ditolak",
422, nothing recorded); under `note_limit` only the start of its message is kept.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Response, request

from mock_portals.framework import Column, Portal
from mock_portals.world import JAKARTA, World

RESOLVE_DELAY = timedelta(seconds=60)  # world time from the triggering complaint to the answer

LEVELS = {"normal": "Normal", "hard": "Keras"}
STATUS_COLUMNS = [Column("ID Transaksi", "trx_id"), Column("Produk", "product"),
                  Column("Tujuan", "destination"), Column("Status", "word"), Column("SN", "sn_field"),
                  Column("Keterangan", "note")]
HISTORY_COLUMNS = [Column("Waktu", "created_at", "time"), Column("Referensi", "reference"),
                   Column("ID Transaksi", "trx_id"), Column("Jenis", "level_word"),
                   Column("Pesan", "message"), Column("Balasan", "reply")]
STATUS_CSV = ("trx_id", "product", "destination", "word", "sn_field", "updated_at")
HISTORY_CSV = ("reference", "trx_id", "level_word", "message", "created_at", "reply")
NOTES = {"SUKSES": "Transaksi sukses", "PENDING": "Transaksi sedang diproses",
         "GAGAL": "Transaksi gagal, saldo dikembalikan"}


@dataclass(frozen=True)
class Profile:
    """How one supplier writes things: its status words and what its SN field holds."""

    words: dict[str, str]  # SUKSES / PENDING / GAGAL → the supplier's own word
    failed_sn: str         # the SN field of a failure that names no reason of its own
    empty_sn: str = ""     # the SN field while there is no SN ("-" on some portals)


STYLES = (
    Profile({"SUKSES": "Sukses", "PENDING": "Proses", "GAGAL": "Gagal"}, "Nomor tujuan salah"),
    Profile({"SUKSES": "SUCCESS", "PENDING": "PENDING", "GAGAL": "FAILED"}, "error_require_login", "-"),
    Profile({"SUKSES": "BERHASIL", "PENDING": "DIPROSES", "GAGAL": "GAGAL"}, ""),
)
PROFILES = {"mitra": STYLES[0], "sinar": STYLES[1]}


def profile_for(code: str) -> Profile:
    """The supplier's profile; unknown codes get a style by a stable hash of the code."""
    code = code.lower()
    if code in PROFILES:
        return PROFILES[code]
    # hashlib, not hash(): Python salts str hashes per process, and worlds restart
    return STYLES[int(hashlib.sha256(code.encode()).hexdigest(), 16) % len(STYLES)]


def serial_for(trx_id: str) -> str:
    """A 16-digit serial like 0144700123456789 for a success whose seed gives no SN."""
    return "01447" + str(int(hashlib.sha256(trx_id.encode()).hexdigest(), 16))[-11:].zfill(11)


# -- resolution ----------------------------------------------------------------------------------

def settle(world: World) -> None:
    """Resolve every transaction whose triggering complaint is RESOLVE_DELAY old by now."""
    now = world.now()
    with world.lock:
        waiting = {b["trx_id"]: b for b in world.table("supplier_behaviour")
                   if b["resolves_after"] != "never"}
        due: dict[str, datetime] = {}
        for complaint in world.table("complaints"):
            behaviour = waiting.get(complaint["trx_id"])
            if behaviour is None or (behaviour["resolves_after"] == "hard_complaint"
                                     and complaint["level"] != "hard"):
                continue
            at, trx_id = complaint["created_at"] + RESOLVE_DELAY, complaint["trx_id"]
            if at <= now:
                due[trx_id] = min(at, due.get(trx_id, at))  # the earliest trigger counts
        if not due:
            return
        for trx in world.table("transactions"):
            if trx["trx_id"] in due and "resolved_at" not in trx:
                _resolve(trx, waiting[trx["trx_id"]], due[trx["trx_id"]])


def _resolve(trx: dict, behaviour: dict, at: datetime) -> None:
    final = behaviour["final_status"]
    if final == "SUKSES":
        sn = behaviour["sn"] or trx.get("sn") or serial_for(trx["trx_id"])
    else:  # the supplier's callback carries its failure text in the SN field
        sn = behaviour["sn"] or profile_for(trx["supplier"]).failed_sn or None
    trx.update(status=final, sn=sn, resolved_at=at)


def shown(trx: dict, profile: Profile) -> dict:
    """A transaction as this supplier shows it: its own word, its SN field, its note."""
    status, sn = trx["status"], trx.get("sn") or ""
    if status == "GAGAL":
        sn = sn or profile.failed_sn
    return {**trx, "word": profile.words[status], "sn_field": sn or profile.empty_sn,
            "note": NOTES[status], "updated_at": trx.get("resolved_at") or trx["created_at"]}


def reply_to(complaint: dict, trx: dict, behaviour: dict | None = None) -> str:
    """The supplier's answer to a complaint, as the transaction stands now.

    A SUKSES transaction with a `supplier_behaviour` row ("product not received") is still
    being checked until that row resolves it (the SN sent again); without a row the supplier
    answers with the SN it has."""
    checking = behaviour is not None and "resolved_at" not in trx
    if trx["status"] == "SUKSES" and not checking:
        return f"Sudah sukses SN {trx['sn']}" if trx.get("sn") else "Sudah sukses"
    if trx["status"] == "GAGAL":
        return NOTES["GAGAL"]
    if complaint["level"] == "hard":
        return "Sudah kami eskalasi ke operator, mohon ditunggu"
    return "Sedang kami cek ke operator"


def csv_answer(rows: list[dict], keys: tuple[str, ...], header: tuple[str, ...], stem: str,
               now: datetime) -> Response:
    """A CSV attachment written in one pass; times ISO 8601 in WIB."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(row.get(k)) for k in keys] for row in rows)
    name = f"{stem}-{now.astimezone(JAKARTA):%Y%m%d-%H%M%S}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _cell(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(JAKARTA).isoformat(timespec="seconds")
    return "" if value is None else str(value)


def _behaviour_of(world: World, trx_id: str) -> dict | None:
    return next((b for b in world.table("supplier_behaviour") if b["trx_id"] == trx_id), None)


# -- the portal ----------------------------------------------------------------------------------

def build(world: World, key: str, title: str) -> Portal:
    code = key.removeprefix("supplier_")
    profile = profile_for(code)
    portal = Portal(world, key, title, nav=[
        ("Cek Status", "status"), ("Transaksi", "transactions"), ("Kirim Komplain", "complaint"),
        ("Riwayat Komplain", "complaint_history")])
    portal.app.before_request(lambda: settle(world))
    if settle not in world.settlers:
        world.settlers.append(settle)
    status_filter = [{"name": "status", "label": "Status",
                      "choices": [(w, w) for w in profile.words.values()]},
                     {"name": "q", "label": "ID transaksi atau tujuan"}]

    def mine() -> dict[str, dict]:
        with world.lock:
            return {t["trx_id"]: t for t in world.table("transactions")
                    if t["supplier"].lower() == code}

    def transaction_rows() -> list[dict]:
        word, query = request.args.get("status", "").strip(), request.args.get("q", "").strip().lower()
        rows = [shown(t, profile) for t in mine().values()]
        rows = [r for r in rows if (not word or r["word"].lower() == word.lower())
                and (not query or query in r["trx_id"].lower() or query in r["destination"])]
        return sorted(rows, key=lambda r: (r["created_at"], r["trx_id"]), reverse=True)

    def history_rows() -> list[dict]:
        ours = mine()
        query = request.args.get("q", "").strip().lower()
        with world.lock:
            complaints = [c for c in world.table("complaints") if c["supplier"] == code]
            behaviour = {b["trx_id"]: b for b in world.table("supplier_behaviour")}
        rows = [{**c, "level_word": LEVELS[c["level"]],
                 "reply": reply_to(c, ours[c["trx_id"]], behaviour.get(c["trx_id"]))}
                for c in complaints if c["trx_id"] in ours]
        rows = [r for r in rows if not query or query in r["trx_id"].lower()
                or query in (r["reference"] or "").lower()]
        return list(reversed(rows))  # newest first; the table is in the order complaints came

    def export_link(path: str) -> str:
        # the export takes the listing's filters, without its pagination
        args = {k: v for k, v in request.args.items() if k not in ("page", "per_page") and v}
        return request.script_root + path + (f"?{urlencode(args)}" if args else "")

    @portal.page("/")
    def home():
        ours = mine().values()
        return portal.render("home.html", cards=[
            ("Transaksi", len(ours)),
            (f"Status {profile.words['PENDING']}", sum(t["status"] == "PENDING" for t in ours))])

    @portal.page("/status")
    def status():
        asked = request.args.get("trx_id", "").strip()
        found = mine().get(asked) if asked else None
        row = shown(found, profile) if found else None
        answer = portal.render("supplier_status.html", title="Cek Status Transaksi", asked=asked,
                               row=row, columns=STATUS_COLUMNS)
        return answer, (404 if asked and row is None else 200)

    @portal.page("/transaksi")
    def transactions():
        return portal.listing("Transaksi", STATUS_COLUMNS, transaction_rows(), filters=status_filter,
                              export=export_link("/transaksi/unduh"))

    @portal.page("/transaksi/unduh")
    def transactions_export():
        return csv_answer(transaction_rows(), STATUS_CSV,
                          ("trx_id", "product", "destination", "status", "sn", "updated_at"),
                          f"transaksi-{code}", world.now())

    @portal.page("/komplain", methods=["GET", "POST"])
    def complaint():
        if request.method == "GET":
            return portal.render("supplier_komplain.html", title="Kirim Komplain", levels=LEVELS)
        form = {k: request.form.get(k, "").strip() for k in ("trx_id", "level", "message", "reference")}
        back = f"{request.script_root}/komplain"
        if not form["trx_id"] or form["level"] not in LEVELS or not form["message"]:
            return portal.message("Data Tidak Valid", "Isi ID transaksi, pilih jenis komplain dan "
                                  "tulis pesan.", status=400, back=back)
        trx = mine().get(form["trx_id"])
        if trx is None:
            return portal.message("Transaksi Tidak Ditemukan", f"Transaksi {form['trx_id']} tidak "
                                  "ditemukan di akun ini.", status=404, back=back)
        with world.lock:
            if world.refuses(key):  # fault refuse_rate: the supplier's own refusal, nothing recorded
                return portal.message("Komplain Ditolak", f"Komplain untuk transaksi {trx['trx_id']} "
                                      "ditolak: transaksi sedang dalam antrean pengecekan operator, "
                                      "komplain belum dapat diterima.", status=422, back=back)
            reference = form["reference"] or f"{code.upper()}-{len(world.table('complaints')) + 1:05d}"
            row = world.record("complaints", supplier=code, trx_id=trx["trx_id"], level=form["level"],
                               message=world.kept_note(key, form["message"]), reference=reference,
                               created_at=world.now())
        return portal.message("Komplain Terkirim", f"Komplain {LEVELS[row['level']]} untuk transaksi "
                              f"{trx['trx_id']} diterima, referensi {reference}. Balasan: "
                              f"{reply_to(row, trx, _behaviour_of(world, trx['trx_id']))}.", back=f"{request.script_root}/komplain/riwayat")

    @portal.page("/komplain/riwayat")
    def complaint_history():
        return portal.listing("Riwayat Komplain", HISTORY_COLUMNS, history_rows(),
                              filters=[{"name": "q", "label": "ID transaksi atau referensi"}],
                              export=export_link("/komplain/riwayat/unduh"))

    @portal.page("/komplain/riwayat/unduh")
    def complaint_history_export():
        return csv_answer(history_rows(), HISTORY_CSV,
                          ("reference", "trx_id", "level", "message", "created_at", "reply"),
                          f"riwayat-komplain-{code}", world.now())

    return portal
