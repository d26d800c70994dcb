"""Audit (supervisor only): every change anyone made in the console, filtered, and as xlsx.

The rows are the console's own (logins, users, takes, resolves, decisions) and the journal's
events a person caused (`person:<login>` in action_events: the manual credit's steps, a doubt
decided), newest first. **Unduh xlsx** writes what the filters show with bots/workbook.py
under `reports/audit/` and sends it.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request, send_file

from bots.konsol import audit
from bots.konsol.auth import konsol
from bots.konsol.roles import requires

blueprint = Blueprint("audit", __name__, url_prefix="/audit")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filtered():
    state = konsol()
    chosen = {k: request.args.get(k, "").strip() for k in ("siapa", "aksi", "q", "dari", "sampai")}
    since, until = audit.day_range(_day(chosen["dari"]), _day(chosen["sampai"]), state.settings.tz)
    rows = audit.trail(state.store, login=chosen["siapa"], action=chosen["aksi"], text=chosen["q"], since=since,
                       until=until)
    return rows, chosen


@blueprint.get("")
@requires("audit.view")
def index():
    rows, chosen = _filtered()
    return render_template("audit.html", rows=rows, chosen=chosen, actions=audit.ACTIONS)


@blueprint.get("/unduh")
@requires("audit.view")
def export():
    rows, chosen = _filtered()
    now = konsol().clock.now().astimezone(konsol().settings.tz)
    shown = ", ".join(f"{k}={v}" for k, v in chosen.items() if v) or "semua"
    path = konsol().settings.reports_dir / "audit" / f"audit-{now:%Y%m%d-%H%M%S}.xlsx"
    written = audit.workbook(rows, path, f"Audit konsol, {now:%d/%m/%Y %H:%M} WIB ({shown})")
    return send_file(written, as_attachment=True, download_name=path.name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
