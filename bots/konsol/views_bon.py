"""Bon / TOP: the requests for saldo on credit the bot left to the supervisor (atasan).

The page lists each waiting request with what the agent still owes; **Setujui** and **Tolak**
(a note required) go through `bots.bon.decide_request`, the path of `python -m bots bon decide`:
reconcile's lock, the journal key `bon:<request_id>` the bot uses (so the bot and a person can
never both grant), the person named `person:<login>`. Finance sees the page, read-only.
POST-redirect-GET: a reload sends nothing again.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from bots.errors import BotError, RunLocked
from bots.konsol import audit
from bots.konsol.auth import address, konsol
from bots.konsol.roles import requires

blueprint = Blueprint("bon", __name__, url_prefix="/bon")


@blueprint.get("")
@requires("bon.view")
def index():
    from bots.bon import STATUS_WORDS, requests

    show_all = request.args.get("status") == "SEMUA"
    return render_template("bon.html", rows=requests(konsol().settings, show_all=show_all), statuses=STATUS_WORDS,
                           show_all=show_all)


@blueprint.post("/<request_id>/putuskan")
@requires("bon.decide")
def decide(request_id: str):
    from bots.bon import decide_request
    from bots.logs import mask

    verdict, note = request.form.get("verdict", ""), request.form.get("note", "").strip()
    back = redirect(url_for("bon.index"), code=303)
    if verdict not in ("grant", "refuse") or not note:
        flash(f"{request_id}: pilih Setujui atau Tolak dan isi catatan (wajib).", "error")
        return back
    state = konsol()
    try:
        done = decide_request(state.settings, request_id, grant=verdict == "grant", note=note, person=g.user.login)
    except RunLocked:
        flash(f"{request_id} sedang diproses (rekonsiliasi atau orang lain memegang kuncinya). Tunggu sebentar, "
              "lalu muat ulang halaman ini.", "error")
        return back
    except BotError as exc:
        flash(f"{request_id} tidak diubah: {mask(str(exc))}", "error")
        return back
    audit.record(state.store, state.clock.now(), g.user.login, "bon_decided", address=address(),
                 object=f"BON-{request_id}", before="WAITING_SUPERVISOR",
                 after="GRANTED" if verdict == "grant" else "REFUSED", note=note)
    flash(done.message, "ok" if done.code == 0 else "error")
    return back
