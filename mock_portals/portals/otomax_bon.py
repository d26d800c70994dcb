"""Otomax's "Bon / TOP" pages: agents' requests for saldo on credit, open bons, repayments.

`add_bon_pages(portal, world)` adds them to an Otomax `Portal`. The server itself is dumb
about the business rule ("grant only when the earlier bon is repaid"): a person, or the bot,
decides; the server only refuses what it cannot do twice:

- "Tembak Saldo" (grant) is checked and written under `world.lock`: a request already
  GRANTED or REFUSED answers "sudah diproses" and nothing changes, as approving an approved
  ticket does; a grant credits the agent (balance_log kind `bon`, ticket_id = the request)
  and books the bon (bon_id = request_id);
- "Catat Pelunasan" (finance marks a repayment) is deliberately *not* idempotent: every POST
  adds to the bon's repaid again; only the repayment list (bon_payments, its note) shows
  what already happened.

A deposit ticket with purpose BON repays a bon when approved (`repay_by_ticket`, called from
the ticket approval): no saldo is credited, the ticket's amount goes to the bon's repaid.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from flask import request

from mock_portals.framework import Column, Portal, rupiah, wib
from mock_portals.listing import ListFilters, Refused, add_listing, refused_page
from mock_portals.portals.otomax_deposits import PORTAL, parse_amount
from mock_portals.world import JAKARTA, World

BALANCE_KIND = "bon"  # the balance_log kind of a granted bon (the contract's spelling)
REQUEST_COLUMNS = [Column("ID Permintaan", "request_id"), Column("ID Agen", "agent_id"),
                   Column("Nominal", "amount", "rupiah"), Column("Diminta", "requested_at", "time"),
                   Column("Status", "status"), Column("Diproses", "granted_at", "time"),
                   Column("Catatan", "note")]
REQUEST_CSV = ("request_id", "agent_id", "amount", "requested_at", "status", "granted_at", "note")
BON_COLUMNS = [Column("ID Bon", "bon_id"), Column("ID Agen", "agent_id"), Column("Nominal", "amount", "rupiah"),
               Column("Dilunasi", "repaid", "rupiah"), Column("Sisa", "outstanding", "rupiah"),
               Column("Diberikan", "granted_at", "time")]
BON_CSV = ("bon_id", "agent_id", "amount", "repaid", "outstanding", "granted_at")
PAYMENT_COLUMNS = [Column("Waktu", "created_at", "time"), Column("ID Bon", "bon_id"),
                   Column("Nominal", "amount", "rupiah"), Column("Tiket", "ticket_id"), Column("Keterangan", "note")]
PAYMENT_CSV = ("bon_id", "amount", "ticket_id", "note", "created_at")
REQUEST_STATUS = [("PENDING", "Menunggu"), ("GRANTED", "Diberikan"), ("REFUSED", "Ditolak")]
NAV = [("Bon / TOP", "bon_requests"), ("Bon Agen", "bons"), ("Catat Pelunasan", "bon_repayment")]
REPAY_FIELDS = [{"name": "bon_id", "label": "ID Bon"}, {"name": "amount", "label": "Nominal"},
                {"name": "note", "label": "Keterangan"}]


# -- reading ----------------------------------------------------------------------------------

def request_rows(world: World, args) -> list[dict]:
    """Bon requests for the filters status, agen, dari, sampai, q (request or agent id), newest first."""
    wanted = ListFilters.read(args)
    agent = args.get("agen", "").strip().lower()
    with world.lock:
        rows = [{**r, "status": r.get("status") or "PENDING", "granted_at": r.get("granted_at"),
                 "note": r.get("note")} for r in world.table("bon_requests")]
    chosen = [r for r in rows if (not agent or r["agent_id"].lower() == agent)
              and wanted.keep(r["status"], r["requested_at"].astimezone(JAKARTA).date(),
                              r["request_id"], r["agent_id"])]
    return sorted(chosen, key=lambda r: (r["requested_at"], r["request_id"]), reverse=True)


def bon_rows(world: World, args) -> list[dict]:
    """Bons for the filters agen and status (OPEN: something outstanding; LUNAS: repaid), oldest first."""
    agent = args.get("agen", "").strip().lower()
    status = args.get("status", "").strip().upper()
    with world.lock:
        rows = [{**b, "repaid": b.get("repaid") or 0, "outstanding": b["amount"] - (b.get("repaid") or 0)}
                for b in world.table("bons")]
    chosen = [b for b in rows if (not agent or b["agent_id"].lower() == agent)
              and (status != "OPEN" or b["outstanding"] > 0) and (status != "LUNAS" or b["outstanding"] <= 0)]
    return sorted(chosen, key=lambda b: (b["granted_at"], b["bon_id"]))


def payment_rows(world: World, args) -> list[dict]:
    """Repayments for the filters bon and q (text in the note), newest first."""
    bon = args.get("bon", "").strip().lower()
    query = args.get("q", "").strip().lower()
    with world.lock:
        rows = list(enumerate(world.table("bon_payments")))
    chosen = [(n, r) for n, r in rows if (not bon or r["bon_id"].lower() == bon)
              and (not query or query in (r.get("note") or "").lower())]
    chosen.sort(key=lambda nr: (nr[1]["created_at"], nr[0]), reverse=True)
    return [r for _, r in chosen]


# -- changing ---------------------------------------------------------------------------------

def _request(world: World, request_id: str) -> dict:
    found = next((r for r in world.table("bon_requests") if r["request_id"] == request_id), None)
    if found is None:
        raise Refused(404, "Permintaan Tidak Ditemukan", f"Permintaan bon {request_id} tidak ditemukan.")
    status = found.get("status") or "PENDING"
    if status != "PENDING":
        when = f" pada {wib(found['granted_at'])}" if found.get("granted_at") else ""
        raise Refused(409, "Bon Sudah Diproses", f"Permintaan bon {request_id} sudah diproses ({status}{when}); "
                      "saldo tidak ditambah lagi.")
    return found


def grant(world: World, request_id: str) -> tuple[dict, dict]:
    """"Tembak Saldo": credit a PENDING request's agent once and book the bon; returns (request, agent)."""
    with world.lock:
        found = _request(world, request_id)
        agent = next((a for a in world.table("agents") if a["agent_id"] == found["agent_id"]), None)
        if agent is None:
            raise Refused(409, "Agen Tidak Ditemukan", f"Agen {found['agent_id']} dari permintaan bon "
                          f"{request_id} tidak terdaftar.")
        if world.refuses(PORTAL):  # fault refuse_rate: the server's own refusal, nothing written
            raise Refused(422, "Bon Tidak Dapat Diberikan", f"Bon {request_id} ditolak server: batas kredit agen "
                          f"{found['agent_id']} sedang dikunci. Hubungi admin pusat; saldo tidak ditambah.")
        now = world.now()
        found["status"], found["granted_at"] = "GRANTED", now
        agent["balance"] += found["amount"]
        world.record("balance_log", agent_id=agent["agent_id"], amount=found["amount"], kind=BALANCE_KIND,
                     ticket_id=request_id, note=f"Bon / TOP {request_id}", created_at=now)
        world.table("bons").append({"bon_id": request_id, "agent_id": agent["agent_id"], "amount": found["amount"],
                                    "repaid": 0, "granted_at": now})
        return dict(found), dict(agent)


def refuse(world: World, request_id: str, note: str) -> dict:
    """"Tolak": a PENDING request is REFUSED with a note; nothing is credited."""
    note = note.strip()
    if not note:
        raise Refused(400, "Data Tidak Valid", "Catatan penolakan wajib diisi.")
    with world.lock:
        found = _request(world, request_id)
        found["status"], found["note"], found["refused_at"] = "REFUSED", world.kept_note(PORTAL, note), world.now()
        return dict(found)


def _bon(world: World, bon_id: str) -> dict | None:
    return next((b for b in world.table("bons") if b["bon_id"] == bon_id), None)


def _repay(world: World, bon: dict, amount: int, ticket_id: str | None, note: str, now: datetime) -> dict:
    bon["repaid"] = (bon.get("repaid") or 0) + amount
    return world.record("bon_payments", bon_id=bon["bon_id"], amount=amount, ticket_id=ticket_id, note=note,
                        created_at=now)


def record_repayment(world: World, bon_id: str, amount_text: str, note: str) -> tuple[dict, int]:
    """"Catat Pelunasan": add to a bon's repaid (every call adds again); returns (bon, amount)."""
    bon_id, note = bon_id.strip(), note.strip()
    amount = parse_amount(amount_text)
    if not note:
        raise Refused(400, "Data Tidak Valid", "Keterangan wajib diisi.")
    with world.lock:
        bon = _bon(world, bon_id)
        if bon is None:
            raise Refused(404, "Bon Tidak Ditemukan", f"Bon {bon_id or '(kosong)'} tidak ditemukan.")
        outstanding = bon["amount"] - (bon.get("repaid") or 0)
        if amount > outstanding:
            raise Refused(409, "Melebihi Sisa Bon", f"Pelunasan {rupiah(amount)} melebihi sisa bon {bon_id} "
                          f"({rupiah(outstanding)}); tidak dicatat.")
        _repay(world, bon, amount, None, world.kept_note(PORTAL, note), world.now())
        return dict(bon), amount


def repay_by_ticket(world: World, ticket: dict, now: datetime) -> dict:
    """A BON ticket approved (under the caller's lock): its amount repays the ticket's bon, or
    else the agent's oldest open bon; Refused (nothing written) when there is none."""
    bon = _bon(world, ticket["bon_id"]) if ticket.get("bon_id") else next(
        (b for b in sorted(world.table("bons"), key=lambda b: (b["granted_at"], b["bon_id"]))
         if b["agent_id"] == ticket["agent_id"] and b["amount"] - (b.get("repaid") or 0) > 0), None)
    if bon is None or bon["agent_id"] != ticket["agent_id"]:
        raise Refused(409, "Bon Tidak Ditemukan", f"Tiket pelunasan {ticket['ticket_id']}: agen "
                      f"{ticket['agent_id']} tidak punya bon {ticket.get('bon_id') or 'terbuka'}.")
    return _repay(world, bon, ticket["amount"], ticket["ticket_id"], f"Pelunasan tiket {ticket['ticket_id']}", now)


# -- pages ------------------------------------------------------------------------------------

def add_bon_pages(portal: Portal, world: World) -> None:
    """Register the Bon / TOP pages on an Otomax portal."""
    portal.nav.extend(NAV)

    def buttons(row: dict) -> list[dict]:
        if row["status"] != "PENDING":
            return []
        base = f"{request.script_root}/bon/{quote(row['request_id'], safe='')}"
        return [{"label": "Tembak Saldo", "method": "post", "url": f"{base}/tembak"},
                {"label": "Tolak", "method": "get", "url": f"{base}/tolak"}]

    request_filters = [{"name": "status", "label": "Status", "choices": REQUEST_STATUS},
                       {"name": "dari", "label": "Dari tanggal", "type": "date"},
                       {"name": "sampai", "label": "Sampai tanggal", "type": "date"},
                       {"name": "q", "label": "ID permintaan atau agen"}]

    add_listing(portal, world, "/bon", "bon_requests", "Permintaan Bon", REQUEST_COLUMNS, request_rows,
                REQUEST_CSV, "permintaan-bon", filters=request_filters, actions=buttons)

    @portal.page("/bon/<request_id>/tembak", methods=["POST"])
    def bon_grant(request_id: str):
        try:
            found, agent = grant(world, request_id)
        except Refused as exc:
            return refused_page(portal, exc)
        return portal.message("Saldo Bon Ditembak", f"Bon {found['request_id']} diberikan: saldo agen "
                              f"{agent['agent_id']} ditambah {rupiah(found['amount'])}. Saldo baru: "
                              f"{rupiah(agent['balance'])}.", back=f"{request.script_root}/bon")

    @portal.page("/bon/<request_id>/tolak", methods=["GET", "POST"])
    def bon_refuse(request_id: str):
        fields = [{"name": "note", "label": "Catatan"}]
        if request.method == "GET":
            return portal.render("form.html", title=f"Tolak Bon {request_id}", fields=fields, button="Tolak")
        try:
            refuse(world, request_id, request.form.get("note", ""))
        except Refused as exc:
            return refused_page(portal, exc)
        return portal.message("Bon Ditolak", f"Permintaan bon {request_id} ditolak; saldo tidak ditambah.",
                              back=f"{request.script_root}/bon")

    bon_filters = [{"name": "agen", "label": "ID Agen"},
                   {"name": "status", "label": "Status", "choices": [("OPEN", "Belum lunas"), ("LUNAS", "Lunas")]}]

    add_listing(portal, world, "/bon/agen", "bons", "Bon Agen", BON_COLUMNS, bon_rows, BON_CSV, "bon-agen",
                filters=bon_filters)

    @portal.page("/bon/pelunasan", methods=["GET", "POST"])
    def bon_repayment():
        title = "Catat Pelunasan"
        intro = "Setiap kali formulir ini dikirim, pelunasan dicatat lagi. Periksa Riwayat Pelunasan sebelum mengulang."
        if request.method == "GET":
            return portal.render("form.html", title=title, fields=REPAY_FIELDS, button="Catat Pelunasan", intro=intro)
        try:
            bon, amount = record_repayment(world, request.form.get("bon_id", ""), request.form.get("amount", ""),
                                           request.form.get("note", ""))
        except Refused as exc:
            return refused_page(portal, exc)
        return portal.message("Pelunasan Dicatat", f"Pelunasan bon {bon['bon_id']} {rupiah(amount)} dicatat. "
                              f"Sisa bon: {rupiah(bon['amount'] - bon['repaid'])}.",
                              back=f"{request.script_root}/bon/pelunasan/riwayat")

    add_listing(portal, world, "/bon/pelunasan/riwayat", "bon_payments", "Riwayat Pelunasan", PAYMENT_COLUMNS,
                payment_rows, PAYMENT_CSV, "riwayat-pelunasan",
                filters=[{"name": "bon", "label": "ID Bon"}, {"name": "q", "label": "Keterangan memuat"}])
