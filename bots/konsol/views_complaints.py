"""Komplain (CS, supervisors): the open complaint cases, each with its ladder step and the next
one due; the supervisor's view lists the cases past the last rung (supervisor told, or the PNR
hard complaint sent) with their daily reminders. Read only: the ladder acts in check_pending_tx.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from bots.konsol.auth import konsol
from bots.konsol.roles import requires
from bots.konsol.services import complaints

blueprint = Blueprint("komplain", __name__, url_prefix="/komplain")


def _page(cases, supervisor: bool):
    now = konsol().clock.now()
    return render_template("komplain.html", cases=cases, supervisor=supervisor, now=now)


@blueprint.get("")
@requires("komplain.view")
def index():
    state = konsol()
    return _page(complaints.open_cases(state.settings, state.store, state.clock.now()), False)


@blueprint.get("/supervisor")
@requires("komplain.supervise")
def supervisor():
    state = konsol()
    return _page(complaints.supervisor_cases(state.settings, state.store, state.clock.now()), True)
