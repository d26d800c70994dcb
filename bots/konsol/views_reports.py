"""Laporan: the workbooks the bots wrote, by date and kind, to download.

An activation batch (`esim-batch`) holds NIK and KK: it is listed and sent only to roles
with `esim.view` (GraPARI, supervisors); everyone else gets 403 for it, even by its address.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request

from bots.konsol.auth import konsol
from bots.konsol.roles import may, requires
from bots.konsol.services import NotFound, reports
from bots.konsol.views_shared import day_arg, send

blueprint = Blueprint("laporan", __name__, url_prefix="/laporan")


def _personal_allowed() -> bool:
    return may(g.user.role, "esim.view")


@blueprint.get("")
@requires("laporan.view")
def index():
    allowed = _personal_allowed()
    kinds = {k: label for k, (_, _, label) in reports.KINDS.items() if allowed or k != "esim-batch"}
    chosen = {k: request.args.get(k, "").strip() for k in ("jenis", "dari", "sampai")}
    kind = chosen["jenis"] if chosen["jenis"] in kinds else None
    listed = reports.list_reports(konsol().settings, kind=kind, start=day_arg("dari"), end=day_arg("sampai"),
                                  store=konsol().store)
    found = [r for r in listed if allowed or not r.personal_data]
    return render_template("laporan.html", reports=found, kinds=kinds, chosen=chosen)


@blueprint.get("/unduh/<folder>/<name>")
@requires("laporan.view")
def download(folder: str, name: str):
    where, pattern, _ = reports.KINDS["esim-batch"]
    if folder == where and pattern.fullmatch(name) and not _personal_allowed():
        abort(403)
    try:
        return send(reports.report_file(konsol().settings, f"{folder}/{name}", konsol().store))
    except NotFound:
        abort(404)
