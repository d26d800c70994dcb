"""Tindakan Ragu: actions whose outcome the portal could not show; a supervisor decides.

The page lists each action in doubt with what the journal knows (key, kind, marker, since,
why, its events); **Periksa portal** reads what the portal shows for its marker (the balance
log for a manual credit, finance's inbox for a notification) through the page objects. The
decision goes through `bots.doubts.decide_doubt`, the path of `python -m bots doubts decide`,
journaled as `person:<login>`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from bots.errors import BotError
from bots.konsol import audit
from bots.konsol.auth import address, konsol
from bots.konsol.roles import requires

blueprint = Blueprint("ragu", __name__, url_prefix="/ragu")

KINDS = {"manual_credit": "kredit manual (saldo agen)", "notify": "notifikasi", "approve_ticket": "setujui tiket",
         "complaint": "komplain supplier", "refund": "permintaan refund", "batch": "batch aktivasi"}
_HIDDEN = ("message", "line")  # long texts the list does not need


@blueprint.get("")
@requires("ragu.view")
def index():
    store = konsol().store
    doubts = store.actions(state="in_doubt")
    events = {a.key: store.events(a.key) for a in doubts}
    return render_template("ragu.html", doubts=doubts, events=events, kinds=KINDS,
                           shown=lambda a: {k: v for k, v in sorted(a.payload.items()) if k not in _HIDDEN})


def portal_shows(action) -> list[str]:
    """What the portal shows for the action's marker, in lines of text (read now)."""
    from bots.portals.helpdesk import HelpdeskInbox
    from bots.portals.otomax import OtomaxAdmin
    from bots.portals.session import PortalBrowser

    settings = konsol().settings
    if not action.marker:
        return ["Tindakan ini tidak membawa penanda: periksa portalnya langsung."]
    with PortalBrowser(settings, f"konsol-ragu-{konsol().clock.now():%Y%m%d-%H%M%S}") as browser:
        def page(cls, key):
            return cls(browser, settings.portal(key), attempts=1, backoff_seconds=settings.retry_backoff_seconds)

        if action.kind == "manual_credit":
            entries = page(OtomaxAdmin, "otomax").balance_log(note_contains=action.marker)
            return [f"{e.created_at:%d/%m/%Y %H:%M} {e.agent_id} Rp {e.amount:,} {e.note}".replace(",", ".")
                    for e in entries] or [f"Riwayat saldo tidak memuat {action.marker}."]
        if action.kind == "notify":
            titles = [m.title for m in page(HelpdeskInbox, "helpdesk").messages() if action.marker in m.title]
            return titles or [f"Kotak masuk helpdesk tidak memuat {action.marker}."]
    return [f"Cari penanda {action.marker} di portal {action.bot}: konsol belum membacanya sendiri."]


@blueprint.get("/portal")
@requires("ragu.view")
def portal():
    action = konsol().store.get_action(request.args.get("key", ""))
    if action is None:
        abort(404)
    try:
        lines = portal_shows(action)
    except BotError as exc:
        lines = [f"Portal tidak terbaca: {exc}"]
    page = "ragu_portal.html" if request.headers.get("HX-Request") else "ragu_portal_page.html"
    return render_template(page, action=action, lines=lines)


@blueprint.post("/putuskan")
@requires("ragu.decide")
def decide():
    from bots.doubts import decide_doubt
    from bots.logs import mask

    key, verdict, note = (request.form.get(k, "").strip() for k in ("key", "verdict", "note"))
    if verdict not in ("done", "not_done") or not note:
        flash("Pilih terjadi / tidak terjadi dan isi catatan: keduanya wajib.", "error")
        return redirect(url_for("ragu.index"), code=303)
    state = konsol()
    try:
        words = decide_doubt(state.settings, key, done=verdict == "done", note=note, person=g.user.login)
    except BotError as exc:
        flash(f"Tidak dicatat: {mask(str(exc))}", "error")
        return redirect(url_for("ragu.index"), code=303)
    audit.record(state.store, state.clock.now(), g.user.login, "doubt_decided", address=address(), object=key,
                 before="in_doubt", after="done" if verdict == "done" else "failed (boleh diulang bot)", note=note)
    flash(f"Keputusan dicatat: {words}", "ok")
    return redirect(url_for("ragu.index"), code=303)
