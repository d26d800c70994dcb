"""eSIM (GraPARI, supervisors): refunds waiting for a person, GraPARI's filled batch, the batches.

**Konfirmasi refund** and **Batalkan** (no refund now, by agreement with the customer) go
through the commands' own functions (`esim confirm-refund`, `esim hold-refund`), journaled
as `person:<login>`, a note required. **Unggah batch** is `esim import` (the file checked
whole, the error naming its cell, nothing recorded from a bad file; **Terima perubahan** is
`--accept-changes`). A batch workbook holds NIK and KK: it is sent as a download, and only the
batch download sets `g.personal_data`; the page itself shows no NIK.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from bots.errors import BusinessError, RunLocked
from bots.konsol import audit
from bots.konsol.auth import address, konsol
from bots.konsol.format import rupiah
from bots.konsol.roles import requires
from bots.konsol.services import NotFound, esim
from bots.konsol.views_shared import send, uploaded, words

blueprint = Blueprint("esim", __name__, url_prefix="/esim")

#: How a confirmed refund ended (bots/esim/confirm.py RefundConfirmation.refund_state), in words.
REFUND_STATES = {"done": "refund diminta ke aggregator", "nothing": "tidak ada refund yang perlu diminta",
                 "refused": "aggregator menolak refund", "in_doubt": "hasil refund belum pasti (lihat Tindakan Ragu)",
                 "busy": "refund diminta oleh run yang sedang berjalan", "failed": "refund gagal diminta, dicoba lagi"}
_BUSY = "esim_activation_queue sedang berjalan (kuncinya dipegang): tunggu sebentar, lalu coba lagi."


@blueprint.get("")
@requires("esim.view")
def index():
    state = konsol()
    return render_template("esim.html", waiting=esim.waiting_refunds(state.store), held=esim.held_refunds(state.store),
                           batches=esim.list_batches(state.settings, state.store))


def _back():
    return redirect(url_for("esim.index"), code=303)


def _refused(what: str, exc: Exception):
    """A refusal flashed in words (the bot's lock held, or the command's own error), then back."""
    flash(f"{what}: {_BUSY if isinstance(exc, RunLocked) else words(exc)}", "error")
    return _back()


def _audit(action: str, item: str, **change) -> None:
    state = konsol()
    audit.record(state.store, state.clock.now(), g.user.login, action, address=address(), object=item, **change)


def _refund_act(action: str):
    order, note = request.form.get("order", "").strip(), request.form.get("note", "").strip()
    if not order or not note:
        flash("Catatan wajib diisi: tulis apa yang disepakati dengan pelanggan.", "error")
        return _back()
    state, login = konsol(), g.user.login
    try:
        if action == "refund_confirmed":
            done = esim.confirm_refund(state.settings, order, note=note, by=login)
            refund = REFUND_STATES.get(done.refund_state, done.refund_state)
            text = (f"{order}: refund sudah dikonfirmasi {done.confirmed_by} sebelumnya; {refund}." if done.already
                    else f"{order}: refund dikonfirmasi; {refund}"
                    + (f" {rupiah(done.amount)}" if done.amount else "")
                    + (f" ({done.reference})" if done.reference else "") + ".")
            after = f"{done.refund_state} {done.reference or ''}".strip()
            if done.refund_state not in ("done", "nothing") and done.messages:
                text += " " + " ".join(done.messages)
        else:
            held = esim.cancel_refund_wait(state.settings, order, note=note, by=login)
            text = (f"{order}: refund sudah ditahan {held.held_by} sebelumnya." if held.already else
                    f"{order}: menunggu konfirmasi dibatalkan, tidak ada refund sekarang (tetap diperiksa setiap run).")
            after = "ditahan"
    except (RunLocked, BusinessError) as exc:
        return _refused(f"{order} tidak diubah", exc)
    _audit(action, order, before="menunggu konfirmasi", after=after, note=note)
    flash(text, "ok")
    return _back()


@blueprint.post("/konfirmasi-refund")
@requires("esim.act")
def confirm():
    return _refund_act("refund_confirmed")


@blueprint.post("/batalkan")
@requires("esim.act")
def cancel():
    return _refund_act("refund_held")


@blueprint.post("/unggah-batch")
@requires("esim.act")
def upload():
    file = uploaded("Pilih berkas batch yang sudah diisi GraPARI dulu.")
    if file is None:
        return _back()
    try:
        done = esim.import_batch(konsol().settings, *file, by=g.user.login,
                                 accept_changes=request.form.get("terima", "") in ("1", "on"))
    except (RunLocked, BusinessError) as exc:  # InputFileError names the cell
        return _refused("Batch tidak dicatat, tidak ada yang dicatat dari berkas ini", exc)
    _audit("batch_imported", done.batch_id, after=f"{len(done.rows)} dari {done.total} pesanan terisi")
    changed = f"; {len(done.changed)} nilai diubah (nilai lama di jurnal)" if done.changed else ""
    flash(f"Batch {done.batch_id} dicatat: {len(done.rows)} dari {done.total} pesanan terisi{changed}. "
          f"Laporan status: {done.report.name}.", "ok")
    return _back()


@blueprint.get("/batch/<batch_id>/unduh")
@requires("esim.view")
def download(batch_id: str):
    g.personal_data = True  # the batch holds NIK and KK: GraPARI's and supervisors' only
    try:
        return send(esim.batch_file(konsol().settings, batch_id, konsol().store))
    except NotFound:
        abort(404)


@blueprint.post("/batch/<batch_id>/terbitkan-ulang")
@requires("esim.act")
def reissue(batch_id: str):
    try:
        esim.reissue_batch(konsol().settings, batch_id, by=g.user.login)
    except (RunLocked, BusinessError) as exc:
        return _refused(f"Batch {batch_id} tidak diterbitkan ulang", exc)
    _audit("batch_reissued", batch_id, after="diterbitkan ulang")
    flash(f"Batch {batch_id} diterbitkan ulang: berkas yang sama seperti diterbitkan, bukan batch kedua.", "ok")
    return _back()
