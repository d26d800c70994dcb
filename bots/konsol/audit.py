"""The console's audit trail: every change a person made, and the journal's person-made steps.

`record` writes one row of konsol_audit; `trail` reads it together with the journal's events
whose actor is a person (`person:<login>`: a manual credit, a doubt decided), newest first,
so the Audit screen shows one list. `workbook` exports what the screen shows to xlsx with
bots/workbook.py (every cell text: never a formula).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bots.konsol.tables import konsol_audit
from bots.store import Store
from bots.store.models import action_events

#: The audit actions, in words (the Audit screen and its export).
ACTIONS = {
    "login": "Masuk", "login_failed": "Gagal masuk", "login_blocked": "Masuk ditahan (batas percobaan)",
    "logout": "Keluar", "session_ended": "Sesi berakhir", "take": "Ambil", "resolve": "Selesaikan",
    "reject": "Tolak", "doubt_decided": "Keputusan tindakan ragu", "user_added": "Pengguna ditambah",
    "user_disabled": "Pengguna dinonaktifkan", "journal": "Jurnal (aksi uang)",
    "run_started": "Run dijalankan", "statement_uploaded": "Mutasi diunggah", "statement_processed": "Mutasi diproses",
    "refund_confirmed": "Refund dikonfirmasi", "refund_held": "Refund ditahan", "batch_imported": "Batch diimpor",
    "batch_reissued": "Batch diterbitkan ulang",
}


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    login: str
    address: str | None
    action: str
    object: str | None
    before: str | None
    after: str | None
    note: str | None

    @property
    def action_label(self) -> str:
        return ACTIONS.get(self.action, self.action)


def record(store: Store, now: datetime, login: str, action: str, *, address: str | None = None,
           object: str | None = None, before: str | None = None, after: str | None = None,
           note: str | None = None) -> None:
    """One row of the audit trail (its own short transaction)."""
    with store.write() as conn:
        conn.execute(konsol_audit.insert().values(at=now, login=login, address=address, action=action,
                                                  object=object, before=before, after=after, note=note))


def failures_since(store: Store, since: datetime, *, login: str | None = None, address: str | None = None) -> list:
    """Times of the failed logins since ``since`` of one login name or one address, oldest first."""
    c = konsol_audit.c
    query = sa.select(c.at).where(c.action == "login_failed", c.at >= since)
    query = query.where(c.login == login) if login is not None else query.where(c.address == address)
    with store.read() as conn:
        return list(conn.execute(query.order_by(c.at)).scalars())


def trail(store: Store, *, login: str = "", action: str = "", text: str = "", since: datetime | None = None,
          until: datetime | None = None, limit: int = 500) -> list[AuditRow]:
    """The console's rows and the journal's person-made events, filtered, newest first."""
    a, e = konsol_audit.c, action_events.c
    own = sa.select(konsol_audit)
    journal = sa.select(action_events).where(e.actor.like("person:%"))
    if login:
        own = own.where(a.login == login)
        journal = journal.where(e.actor == f"person:{login}")
    if text:
        pattern = f"%{text}%"
        own = own.where(sa.or_(a.object.ilike(pattern), a.note.ilike(pattern), a.before.ilike(pattern),
                               a.after.ilike(pattern)))
        journal = journal.where(sa.or_(e.key.ilike(pattern), e.note.ilike(pattern)))
    if since is not None:
        own, journal = own.where(a.at >= since), journal.where(e.at >= since)
    if until is not None:
        own, journal = own.where(a.at < until), journal.where(e.at < until)
    rows: list[AuditRow] = []
    with store.read() as conn:
        if action != "journal":
            if action:
                own = own.where(a.action == action)
            rows += [AuditRow(r.at, r.login, r.address, r.action, r.object, r.before, r.after, r.note)
                     for r in conn.execute(own.order_by(a.at.desc(), a.id.desc()).limit(limit))]
        if action in ("", "journal"):
            rows += [AuditRow(r.at, r.actor.split(":", 1)[1], r.host, "journal", r.key, r.from_state, r.to_state,
                              r.note) for r in conn.execute(journal.order_by(e.at.desc(), e.id.desc()).limit(limit))]
    return sorted(rows, key=lambda r: r.at, reverse=True)[:limit]


def day_range(day_from, day_to, tz) -> tuple[datetime | None, datetime | None]:
    """The moments that bound WIB dates ``day_from``..``day_to`` (both included; None: open)."""
    since = datetime.combine(day_from, datetime.min.time(), tz) if day_from else None
    until = datetime.combine(day_to, datetime.min.time(), tz) + timedelta(days=1) if day_to else None
    return since, until


def workbook(rows: list[AuditRow], path: Path, title: str) -> Path:
    """The rows as reports' workbooks are written (typed cells, frozen and filtered header; outside
    text stays text)."""
    from bots.workbook import Column, Sheet, write

    columns = [Column("Waktu (WIB)", "datetime"), Column("Siapa"), Column("Alamat"), Column("Aksi"),
               Column("Kode Aksi"), Column("Objek"), Column("Sebelum"), Column("Sesudah"), Column("Catatan")]
    sheet = Sheet("Audit", columns, [[r.at, r.login, r.address or "", r.action_label, r.action, r.object or "",
                                      r.before or "", r.after or "", r.note or ""] for r in rows], title=[title])
    written, _ = write(path, [sheet])
    return written
