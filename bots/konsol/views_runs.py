"""Riwayat Run and Jalankan: the runs the store recorded, one run's page, and runs started here.

**Riwayat Run** lists the runs (filters: bot, outcome, WIB dates); a run's page shows its log
lines, counts, exit code and failure captures (the screenshot inline; the portal's HTML only
as a text download: it is text from outside). **Jalankan ulang** starts the same bot again.

**Jalankan** starts a run now or a dry run (**Uji coba**) through the app's one Launcher
(services/launch.py): `python -m bots run BOT` in a process of its own, as the scheduler
starts one, refused while the bot's lock is held (the holder named). The launch's page polls
its progress every second (htmx) and shows a dry run's plan as a table.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from bots.errors import BusinessError, RunLocked
from bots.konsol import audit
from bots.konsol.auth import address, konsol
from bots.konsol.roles import requires
from bots.konsol.services import NotFound, runs
from bots.konsol.services.launch import who_holds
from bots.konsol.views_home import OUTCOME_WORDS
from bots.konsol.views_shared import day_arg, launch_page, launcher, send, status_or_404, words

blueprint = Blueprint("runs", __name__)


@blueprint.get("/riwayat-run")
@requires("runs.view")
def history():
    chosen = {k: request.args.get(k, "").strip() for k in ("bot", "hasil", "dari", "sampai")}
    found = runs.list_runs(konsol().store, bot=chosen["bot"] or None, outcome=chosen["hasil"] or None,
                           start=day_arg("dari"), end=day_arg("sampai"))
    return render_template("runs.html", runs=found, filters=runs.run_filters(konsol().store), chosen=chosen,
                           words=OUTCOME_WORDS)


@blueprint.get("/riwayat-run/<run_id>")
@requires("runs.view")
def detail(run_id: str):
    try:
        shown = runs.run_detail(konsol().settings, konsol().store, run_id)
    except NotFound:
        abort(404)
    return render_template("runs_detail.html", d=shown, run=shown.run, words=OUTCOME_WORDS)


@blueprint.get("/riwayat-run/<run_id>/tangkapan/<name>")
@requires("runs.view")
def capture(run_id: str, name: str):
    try:
        return send(runs.capture_file(konsol().settings, run_id, name, konsol().store))
    except NotFound:
        abort(404)


@blueprint.post("/riwayat-run/<run_id>/ulang")
@requires("runs.start")
def rerun(run_id: str):
    try:
        started = launcher().rerun(konsol().store, run_id, by=g.user.login)
    except NotFound:
        abort(404)
    except RunLocked as exc:
        flash(_locked(exc), "error")
        return redirect(url_for("runs.detail", run_id=run_id), code=303)
    return _started(started, f"ulang {run_id}")


# -- Jalankan ----------------------------------------------------------------------------------------

def _holders() -> dict[str, str | None]:
    """bot → who holds its lock, in words (a launch of this console names its person)."""
    from bots.runner import BOTS

    mine = {s.pid: s for s in launcher().launches() if not s.finished}
    held = {}
    for bot in BOTS:
        holder = who_holds(konsol().settings, bot)
        if holder is None:
            held[bot] = None
            continue
        launch = mine.get(holder["pid"])
        held[bot] = holder["detail"] + (f" — dijalankan dari konsol oleh {launch.by}" if launch else "")
    return held


def _locked(exc: RunLocked) -> str:
    who = f"pid {exc.holder_pid}" if getattr(exc, "holder_pid", None) else "run lain"
    since = f" sejak {exc.holder_since}" if getattr(exc, "holder_since", None) else ""
    return (f"Tidak dijalankan: {getattr(exc, 'bot', 'bot ini')} sedang berjalan (kunci dipegang {who}{since}). "
            "Tunggu sampai selesai, lalu coba lagi.")


@blueprint.get("/jalankan")
@requires("runs.start")
def launch_index():
    from bots.runner import BOTS

    return render_template("jalankan.html", bots=BOTS, holders=_holders(), launches=launcher().launches(),
                           last={bot: konsol().store.last_run(bot) for bot in BOTS}, words=OUTCOME_WORDS)


@blueprint.post("/jalankan")
@requires("runs.start")
def start():
    bot, mode = request.form.get("bot", "").strip(), request.form.get("mode", "")
    if mode not in ("sekarang", "uji"):
        flash("Pilih Jalankan sekarang atau Uji coba.", "error")
        return redirect(url_for("runs.launch_index"), code=303)
    try:
        started = launcher().start(bot, by=g.user.login, dry_run=mode == "uji")
    except RunLocked as exc:
        flash(_locked(exc), "error")
        return redirect(url_for("runs.launch_index"), code=303)
    except BusinessError as exc:  # UnknownBot: a hand-made form
        flash(f"Tidak dijalankan: {words(exc)}", "error")
        return redirect(url_for("runs.launch_index"), code=303)
    return _started(started, "uji coba" if started.dry_run else "sekarang")


def _started(started, how: str):
    audit.record(konsol().store, konsol().clock.now(), g.user.login, "run_started", address=address(),
                 object=started.bot, after=f"{how} (pid {started.pid}, {started.id})")
    flash(f"{started.bot} dimulai ({'uji coba' if started.dry_run else 'run'}, proses {started.pid}).", "ok")
    return redirect(url_for("runs.launch", launch_id=started.id), code=303)


@blueprint.get("/jalankan/<launch_id>")
@requires("runs.start")
def launch(launch_id: str):
    status = status_or_404(launch_id)
    return launch_page("jalankan_status.html", status, url_for("runs.launch", launch_id=launch_id))
