"""Eskalasi: finance's queue of escalated statement lines, one line's page, and the three acts.

**Ambil** records who took the item. **Selesaikan** and **Tolak** go through exactly the path
of `python -m bots escalations resolve` (`bots.escalations.resolve_escalation`: reconcile's
lock, the journal's `manual:<line>` with the marker `BOT:M-…` at the start of the balance
note), with the person named `person:<login>` in the journal. Every act answers with a
redirect to the item's page (POST-redirect-GET): a reload shows the result and sends nothing,
and a double click or a second browser finds the escalation resolved or the lock held.
"""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from bots.errors import BotError, RunLocked
from bots.konsol import audit
from bots.konsol.auth import address, konsol
from bots.konsol.format import rupiah
from bots.konsol.roles import requires
from bots.konsol.tables import konsol_audit, konsol_takes
from bots.store.models import action_events

blueprint = Blueprint("eskalasi", __name__, url_prefix="/eskalasi")

STATUSES = {"OPEN": "Terbuka", "RESOLVED": "Selesai", "REJECTED": "Ditolak"}


def _ledger():
    from bots.reconcile.ledger import Ledger

    return Ledger(konsol().store)


def item(escalation_id: int) -> str:
    return f"ESK-{escalation_id}"


def takes() -> dict[str, tuple[str, object]]:
    with konsol().store.read() as conn:
        return {r.item: (r.login, r.taken_at) for r in conn.execute(sa.select(konsol_takes))}


def _matches(e, code: str, status: str, bank: str, text: str) -> bool:
    if code and e.code != code or status and e.status != status or bank and e.bank != bank:
        return False
    if text:
        haystack = " ".join((item(e.id), e.description, e.reason, e.account_no, e.agent_id or "", e.note or "",
                             " ".join(e.candidates))).lower()
        return text.lower() in haystack
    return True


@blueprint.get("")
@requires("eskalasi.view")
def queue():
    every = _ledger().escalations()
    code, bank, text = (request.args.get(k, "").strip() for k in ("kode", "bank", "q"))
    status = request.args.get("status", "OPEN").strip()
    shown = [e for e in every if _matches(e, code, "" if status == "SEMUA" else status, bank, text)]
    return render_template("eskalasi_list.html", escalations=shown, takes=takes(), statuses=STATUSES,
                           codes=sorted({e.code for e in every}), banks=sorted({e.bank for e in every}),
                           chosen={"kode": code, "status": status, "bank": bank, "q": text})


def _escalation(escalation_id: int):
    found = _ledger().escalations(escalation_id=escalation_id)
    if not found:
        abort(404)
    return found[0]


def history(e) -> list[dict]:
    """What happened to the item: its own moments, the journal's events of its line, the console's rows."""
    keys = [f"manual:{e.fingerprint}", f"notify:line:{e.fingerprint}", f"notify:reversed:{e.fingerprint}"]
    rows = [{"at": e.created_at, "who": "bot", "what": f"dieskalasi: {e.code}", "note": e.reason}]
    if e.notified_at:
        rows.append({"at": e.notified_at, "who": "bot", "what": "dinotifikasi ke finance", "note": ""})
    with konsol().store.read() as conn:
        for ev in conn.execute(sa.select(action_events).where(action_events.c.key.in_(keys))):
            rows.append({"at": ev.at, "who": ev.actor, "what": f"{ev.key.split(':')[0]}: {ev.from_state or '-'} → "
                                                              f"{ev.to_state}", "note": ev.note or ""})
        for r in conn.execute(sa.select(konsol_audit).where(konsol_audit.c.object == item(e.id))):
            rows.append({"at": r.at, "who": r.login, "what": f"{audit.ACTIONS.get(r.action, r.action)}: "
                                                             f"{r.before or '-'} → {r.after or '-'}",
                         "note": r.note or ""})
    return sorted(rows, key=lambda r: r["at"])


def candidates(e, names: dict[str, str] | None = None) -> list[dict]:
    """The escalation's candidate tickets as the store saw them, with their agents' names when
    given (read from the transaction server: the page loads them after it shows)."""
    from bots.reconcile.tables import deposit_tickets

    if not e.candidates:
        return []
    with konsol().store.read() as conn:
        tickets = {t.ticket_id: t for t in conn.execute(sa.select(deposit_tickets).where(
            deposit_tickets.c.ticket_id.in_(list(e.candidates))))}
    names = names if names is not None else {}
    out = []
    for ticket_id in e.candidates:
        t = tickets.get(ticket_id)
        out.append({"ticket_id": ticket_id, "agent_id": t.agent_id if t else "", "amount": t.amount if t else None,
                    "created_at": t.created_at if t else None, "status": t.status if t else "?",
                    "name": names.get(t.agent_id, "") if t else ""})
    return out


@blueprint.get("/<int:escalation_id>/kandidat")
@requires("eskalasi.view")
def candidates_table(escalation_id: int):
    """The candidate tickets with agents' names (htmx loads it into the page; alone it is a page)."""
    e = _escalation(escalation_id)
    names = konsol().agent_names()
    template = "eskalasi_kandidat.html" if request.headers.get("HX-Request") else "eskalasi_kandidat_page.html"
    return render_template(template, e=e, candidates=candidates(e, names), loading=False)


@blueprint.get("/<int:escalation_id>")
@requires("eskalasi.view")
def detail(escalation_id: int):
    e = _escalation(escalation_id)
    return render_template("eskalasi_detail.html", e=e, candidates=candidates(e), history=history(e), loading=True,
                           taken=takes().get(item(e.id)), statuses=STATUSES,
                           default_amount=rupiah(e.amount).removeprefix("Rp ") if e.amount == int(e.amount) else "")


def _back(escalation_id: int):
    return redirect(url_for("eskalasi.detail", escalation_id=escalation_id), code=303)


@blueprint.post("/<int:escalation_id>/ambil")
@requires("eskalasi.act")
def take(escalation_id: int):
    e = _escalation(escalation_id)
    state, now, login = konsol(), konsol().clock.now(), g.user.login
    before = takes().get(item(e.id))
    if before is None or before[0] != login:
        with state.store.write() as conn:
            conn.execute(konsol_takes.delete().where(konsol_takes.c.item == item(e.id)))
            conn.execute(konsol_takes.insert().values(item=item(e.id), login=login, taken_at=now))
        audit.record(state.store, now, login, "take", address=address(), object=item(e.id),
                     before=before[0] if before else None, after=login)
    flash(f"{item(e.id)} Anda ambil.", "ok")
    return _back(e.id)


_MONEY = re.compile(r"^(?:rp\.?\s*)?(\d{1,3}(?:\.\d{3})+|\d+)$", re.IGNORECASE)


def _amount(text: str, line: Decimal) -> int | None:
    """The form's amount (`1.500.000`, `Rp 1.500.000`, `1500000`) in rupiah; None: the line's own."""
    found = _MONEY.match(text.strip())
    if not found:
        raise ValueError(text)
    amount = int(found.group(1).replace(".", ""))
    return None if amount == line else amount


@blueprint.post("/<int:escalation_id>/selesaikan")
@requires("eskalasi.act")
def resolve(escalation_id: int):
    e = _escalation(escalation_id)
    agent, note = request.form.get("agent", "").strip().upper(), request.form.get("note", "").strip()
    if not agent or not note:
        flash("Isi ID agen dan catatan: keduanya wajib.", "error")
        return _back(e.id)
    try:
        amount = _amount(request.form.get("amount", "") or str(int(e.amount)), e.amount)
    except ValueError:
        flash("Nominal harus angka rupiah, mis. 1.500.000.", "error")
        return _back(e.id)
    return _close(e, "resolve", agent=agent, note=note, amount=amount)


@blueprint.post("/<int:escalation_id>/tolak")
@requires("eskalasi.act")
def reject(escalation_id: int):
    e = _escalation(escalation_id)
    note = request.form.get("note", "").strip()
    if not note:
        flash("Catatan wajib diisi: tulis mengapa eskalasi ini ditolak.", "error")
        return _back(e.id)
    return _close(e, "reject", agent=None, note=note, amount=None)


def _close(e, action: str, *, agent: str | None, note: str, amount: int | None):
    """The CLI's resolve, for the person logged in; the outcome flashed, audited, then redirect."""
    from bots.escalations import resolve_escalation
    from bots.logs import mask

    state = konsol()
    try:
        done = resolve_escalation(state.settings, e.id, agent=agent, note=note, reject=agent is None, amount=amount,
                                  person=g.user.login)
    except RunLocked:
        flash(f"{item(e.id)} sedang diproses (rekonsiliasi atau orang lain memegang kuncinya). Tunggu sebentar, "
              "lalu muat ulang halaman ini.", "error")
        return _back(e.id)
    except BotError as exc:
        flash(f"{item(e.id)} tidak diubah: {mask(str(exc))}", "error")
        return _back(e.id)
    after = _escalation(e.id)
    if after.status != e.status:
        credited = f" {after.agent_id} {rupiah(amount or e.amount)}" if after.agent_id else ""
        audit.record(state.store, state.clock.now(), g.user.login, action, address=address(), object=item(e.id),
                     before=e.status, after=after.status + credited, note=note)
    if done.code == 0 and after.status == "RESOLVED":
        name = state.agent_names().get(after.agent_id or "", "")
        flash(f"{item(e.id)} selesai: dikredit ke {after.agent_id}" + (f" ({name})" if name else "")
              + f". {done.message}", "ok")
    elif done.code == 0:
        flash(f"{item(e.id)} {STATUSES.get(after.status, after.status).lower()}. {done.message}", "ok")
    else:
        flash(f"{item(e.id)}: {done.message}", "error")
    return _back(e.id)
