"""The rules behind Otomax's deposit tickets (tiket deposit) and balance (saldo) pages.

Kept apart from the pages so they read as rules: which tickets a filter shows, when a ticket
may still be approved, how a credit is written. Two rules matter most for exactly-once:

- approving is checked and written under `world.lock`, so two approvals of one ticket
  (two operators, or a bot and its retry) can never both credit the agent;
- the manual balance add is deliberately *not* idempotent, as on the real server: every
  POST adds again, and only the balance log (riwayat saldo) shows what already happened.

The `refuse_rate` fault makes either act refused the way the server refuses on its own (a
`Refused` answer, decided under the lock before anything is written), and `note_limit` cuts
the stored note of a manual add; both are rolled here, where the act is, not in the fault
middleware, so the page is the portal's own.

A ticket still OPEN after its `expires_at` is shown (and refused) as EXPIRED: the real server
expires tickets on its own, and the world's clock can be moved past them at any time. The
stored row is left as seeded, so `/__mock/state` keeps what the world was given.
"""

from __future__ import annotations

import re
from datetime import datetime

from mock_portals.framework import rupiah, wib
from mock_portals.listing import ListFilters, Refused
from mock_portals.listing import csv_answer as csv_answer  # re-exported: the portals' pages import it from here
from mock_portals.world import JAKARTA, World

PORTAL = "otomax"  # the portal key the faults are filtered by
TICKET_CSV = ("ticket_id", "agent_id", "amount", "bank", "account_no", "created_at", "expires_at",
              "status", "approved_at")
BALANCE_LOG_CSV = ("agent_id", "amount", "kind", "ticket_id", "note", "created_at")
STATUS_CHOICES = [("OPEN", "Terbuka"), ("APPROVED", "Disetujui"), ("EXPIRED", "Kedaluwarsa"),
                  ("CANCELLED", "Dibatalkan")]
BANK_CHOICES = [("bca", "BCA"), ("mandiri", "MANDIRI"), ("bri", "BRI"), ("bni", "BNI")]

# What a person types as a rupiah amount: 500123 or 500.123 (dots between thousands only).
_AMOUNT = re.compile(r"\d+|\d{1,3}(?:\.\d{3})+")


# -- reading -------------------------------------------------------------------------------------

def shown_status(ticket: dict, now: datetime) -> str:
    """The status the portal shows: an OPEN ticket past its expiry is EXPIRED."""
    expires = ticket.get("expires_at")
    if ticket["status"] == "OPEN" and expires is not None and now >= expires:
        return "EXPIRED"
    return ticket["status"]


def ticket_rows(world: World, args) -> list[dict]:
    """Tickets matching the request's filters (status, bank, dari, sampai, q), newest first."""
    now = world.now()
    wanted = ListFilters.read(args)
    bank = args.get("bank", "").strip().lower()
    with world.lock:
        rows = [{**t, "status": shown_status(t, now), "bank_label": t["bank"].upper(),
                 "approved_at": t.get("approved_at"), "purpose": t.get("purpose") or "DEPOSIT"}
                for t in world.table("tickets")]
    chosen = [r for r in rows if (not bank or r["bank"] == bank)
              and wanted.keep(r["status"], r["created_at"].astimezone(JAKARTA).date(), r["ticket_id"], r["agent_id"])]
    return sorted(chosen, key=lambda r: (r["created_at"], r["ticket_id"]), reverse=True)


def balance_rows(world: World, args) -> list[dict]:
    """Balance log rows for the filters `agen` (agent id) and `q` (text in the note), newest first."""
    agent = args.get("agen", "").strip().lower()
    query = args.get("q", "").strip().lower()
    with world.lock:
        rows = list(enumerate(world.table("balance_log")))
    chosen = [(n, r) for n, r in rows
              if (not agent or r["agent_id"].lower() == agent)
              and (not query or query in (r.get("note") or "").lower())]
    # two entries in the same second keep the order they were written in
    chosen.sort(key=lambda nr: (nr[1]["created_at"], nr[0]), reverse=True)
    return [r for _, r in chosen]


# -- changing ------------------------------------------------------------------------------------

def _agent(world: World, agent_id: str) -> dict | None:
    return next((a for a in world.table("agents") if a["agent_id"] == agent_id), None)


def approve(world: World, ticket_id: str) -> tuple[dict, dict]:
    """Approve an OPEN, unexpired ticket and credit its agent once; returns (ticket, agent)."""
    with world.lock:
        ticket = next((t for t in world.table("tickets") if t["ticket_id"] == ticket_id), None)
        if ticket is None:
            raise Refused(404, "Tiket Tidak Ditemukan", f"Tiket {ticket_id} tidak ditemukan.")
        now = world.now()
        status = shown_status(ticket, now)
        if status == "APPROVED":
            when = f" pada {wib(ticket['approved_at'])}" if ticket.get("approved_at") else ""
            raise Refused(409, "Tiket Sudah Diproses",
                          f"Tiket {ticket_id} sudah disetujui{when}; saldo tidak ditambah lagi.")
        if status == "EXPIRED":
            raise Refused(409, "Tiket Kedaluwarsa", f"Tiket {ticket_id} sudah kedaluwarsa"
                          f" ({wib(ticket.get('expires_at'))}); minta agen membuat tiket baru.")
        if status == "CANCELLED":
            raise Refused(409, "Tiket Dibatalkan", f"Tiket {ticket_id} sudah dibatalkan.")
        agent = _agent(world, ticket["agent_id"])
        if agent is None:
            raise Refused(409, "Agen Tidak Ditemukan",
                          f"Agen {ticket['agent_id']} dari tiket {ticket_id} tidak terdaftar.")
        if world.refuses(PORTAL):  # fault refuse_rate: the server's own refusal, nothing written
            if world.rng.random() < 0.5:
                raise Refused(409, "Agen Tidak Ditemukan",
                              f"Agen {ticket['agent_id']} dari tiket {ticket_id} tidak terdaftar "
                              "atau sedang dinonaktifkan.")
            raise Refused(422, "Tiket Ditolak", f"Tiket {ticket_id} ditolak: data setoran belum "
                          "lengkap di server. Hubungi admin pusat; saldo tidak ditambah.")
        if ticket.get("purpose") == "BON":  # a bon repayment: the bon is paid down, no saldo credited
            from mock_portals.portals.otomax_bon import repay_by_ticket

            paid = repay_by_ticket(world, ticket, now)
            ticket["status"], ticket["approved_at"], ticket["bon_id"] = "APPROVED", now, paid["bon_id"]
            return dict(ticket), dict(agent)
        ticket["status"], ticket["approved_at"] = "APPROVED", now
        agent["balance"] += ticket["amount"]
        world.record("balance_log", agent_id=agent["agent_id"], amount=ticket["amount"],
                     kind="DEPOSIT", ticket_id=ticket_id, note=f"Deposit tiket {ticket_id}",
                     created_at=now)
        return dict(ticket), dict(agent)


def parse_amount(text: str) -> int:
    """'500123' or '500.123' → 500123; anything else (cents, signs, 'Rp', zero) is refused."""
    text = text.strip()
    if not _AMOUNT.fullmatch(text) or int(text.replace(".", "")) <= 0:
        raise Refused(400, "Data Tidak Valid", f"Nominal '{text}' tidak valid: isi bilangan bulat "
                      "rupiah lebih dari 0, misalnya 500000 atau 500.000.")
    return int(text.replace(".", ""))


def add_balance(world: World, agent_id: str, amount_text: str, note: str) -> tuple[dict, int]:
    """Add to an agent's balance (every call adds again); returns (agent, amount added)."""
    agent_id, note = agent_id.strip(), note.strip()
    amount = parse_amount(amount_text)
    if not note:
        raise Refused(400, "Data Tidak Valid", "Keterangan wajib diisi.")
    with world.lock:
        agent = _agent(world, agent_id)
        if agent is None:
            raise Refused(404, "Agen Tidak Ditemukan", f"Agen {agent_id or '(kosong)'} tidak terdaftar.")
        if world.refuses(PORTAL):  # fault refuse_rate: the server's own refusal, nothing written
            raise Refused(422, "Penambahan Ditolak", f"Penambahan saldo {rupiah(amount)} untuk agen "
                          f"{agent_id} ditolak: melebihi batas penambahan manual harian. Hubungi "
                          "supervisor; saldo tidak berubah.")
        agent["balance"] += amount
        world.record("balance_log", agent_id=agent_id, amount=amount, kind="MANUAL",
                     ticket_id=None, note=world.kept_note(PORTAL, note), created_at=world.now())
        return dict(agent), amount


def credited(agent: dict, amount: int) -> str:
    return (f"saldo agen {agent['agent_id']} ({agent['name']}) ditambah {rupiah(amount)}. "
            f"Saldo baru: {rupiah(agent['balance'])}.")
