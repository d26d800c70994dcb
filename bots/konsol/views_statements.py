"""Unggah Mutasi: finance uploads a bank export, sees a preview, and **Proses** reconciles it.

The upload is read by the bot's own parser and checks (services/statements.py) without acting
on anything: a bad file answers with its line and column, and is not kept. The preview
(format, account, period, lines, totals, which lines are new) is a page of its own, reached by
the kept file's hash, so a reload reads it again and sends nothing. **Proses** runs
`python -m bots run reconcile_payments --statement FILE` in its own process (the same lock,
checks, exit codes and journal as at a terminal); its page polls the run's progress and shows
what it refused (an account that is not the company's, exit 2: nothing acted on).
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from bots.errors import BusinessError, RunLocked
from bots.konsol import audit
from bots.konsol.auth import address, konsol
from bots.konsol.roles import requires
from bots.konsol.services import NotFound, statements
from bots.konsol.views_shared import launch_page, launcher, status_or_404, uploaded, words

blueprint = Blueprint("mutasi", __name__, url_prefix="/unggah-mutasi")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_ACCOUNT = re.compile(r"[0-9]{6,20}")


def _options(source) -> tuple[str | None, bool]:
    """The form's or the link's account (KlikBCA Bisnis) and "accept an old period"."""
    account = source.get("rekening", "").strip().replace(" ", "").replace("-", "") or None
    return account, source.get("lama", "") in ("1", "on")


@blueprint.get("")
@requires("mutasi.upload")
def index():
    return render_template("mutasi.html")


@blueprint.post("")
@requires("mutasi.upload")
def upload():
    file = uploaded("Pilih berkas ekspor mutasi bank dulu.")
    account, old = _options(request.form)
    if file is None:
        return redirect(url_for("mutasi.index"), code=303)
    if account is not None and not _ACCOUNT.fullmatch(account):
        flash(f"Rekening harus angka saja (6–20 digit), bukan {account!r}.", "error")
        return redirect(url_for("mutasi.index"), code=303)
    try:
        preview = statements.preview_statement(konsol().settings, konsol().store, *file, by=g.user.login,
                                               account=account, accept_old=old)
    except BusinessError as exc:  # InputFileError: the file, its line and column
        flash(f"Berkas tidak dibaca, tidak ada yang diproses: {words(exc)}", "error")
        return redirect(url_for("mutasi.index"), code=303)
    audit.record(konsol().store, konsol().clock.now(), g.user.login, "statement_uploaded", address=address(),
                 object=preview.file_name, after=f"{preview.bank.upper()} {preview.account_no}, "
                                                 f"{len(preview.lines)} baris ({preview.new_count} baru)")
    return redirect(_preview_url(preview.sha256, account, old), code=303)


def _preview_url(sha256: str, account: str | None, old: bool) -> str:
    return url_for("mutasi.preview", sha256=sha256, rekening=account or None, lama="1" if old else None)


def _kept(sha256: str) -> tuple[bytes, str]:
    """The kept upload's bytes and the name finance gave it; 404 for anything else."""
    if not _SHA256.fullmatch(sha256):
        abort(404)
    try:
        path = statements.upload_path(konsol().settings, sha256)
    except NotFound:
        abort(404)
    try:
        name = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["file_name"]
    except (OSError, ValueError, KeyError):
        name = "mutasi.csv"
    return path.read_bytes(), name


@blueprint.get("/pratinjau/<sha256>")
@requires("mutasi.upload")
def preview(sha256: str):
    data, name = _kept(sha256)
    account, old = _options(request.args)
    try:
        shown = statements.preview_statement(konsol().settings, konsol().store, data, name, by=g.user.login,
                                             account=account, accept_old=old)
    except BusinessError as exc:
        flash(f"Berkas tidak dibaca, tidak ada yang diproses: {words(exc)}", "error")
        return redirect(url_for("mutasi.index"), code=303)
    return render_template("mutasi_preview.html", p=shown, account=account, old=old)


@blueprint.post("/proses")
@requires("mutasi.upload")
def process():
    sha256 = request.form.get("sha256", "")
    _kept(sha256)
    account, old = _options(request.form)
    state = konsol()
    try:
        started = statements.process_statement(state.settings, launcher(), sha256, by=g.user.login,
                                               account=account, accept_old=old)
    except RunLocked as exc:
        flash(f"Belum diproses: rekonsiliasi sedang berjalan (kunci dipegang pid {exc.holder_pid}). Tunggu "
              "sampai selesai, lalu tekan Proses lagi.", "error")
        return redirect(_preview_url(sha256, account, old), code=303)
    audit.record(state.store, state.clock.now(), g.user.login, "statement_processed", address=address(),
                 object=sha256[:12], after=f"reconcile_payments pid {started.pid} ({started.id})")
    flash("Proses dimulai: rekonsiliasi membaca berkas ini sebagai proses sendiri.", "ok")
    return redirect(url_for("mutasi.result", launch_id=started.id), code=303)


@blueprint.get("/hasil/<launch_id>")
@requires("mutasi.upload")
def result(launch_id: str):
    status = status_or_404(launch_id)
    if status.bot != "reconcile_payments":
        abort(404)
    return launch_page("mutasi_result.html", status, url_for("mutasi.result", launch_id=launch_id))
