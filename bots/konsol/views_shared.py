"""What the run, upload, eSIM and report screens share: the app's one Launcher, a launch's
progress as a fragment the page polls, files sent as the data layer says, and errors in the
staff's words.
"""

from __future__ import annotations

import io
import re
from datetime import date

from flask import abort, current_app, flash, render_template, request, send_file

from bots.errors import InputFileError
from bots.konsol import format as fmt
from bots.konsol.services import NotFound, ServedFile
from bots.konsol.services.launch import Launcher, LaunchStatus

#: A launch's outcome in words (the exit codes' names, bots/runner.py OUTCOMES).
OUTCOMES = {"ok": "berhasil", "dry_run": "uji coba selesai", "bad_input": "input salah (tidak ada yang diproses)",
            "portal_down": "portal tidak bisa dipakai", "locked": "terkunci (run lain berjalan)", "error": "galat",
            None: "sedang berjalan"}


def launcher() -> Launcher:
    """The app's one Launcher (created with the app: runs it started are polled here)."""
    return current_app.extensions["konsol.launcher"]


def status_or_404(launch_id: str) -> LaunchStatus:
    try:
        return launcher().status(launch_id)
    except NotFound:
        abort(404)


def launch_page(page: str, status: LaunchStatus, poll_url: str, **context) -> str:
    """The launch's progress and result: the fragment alone for htmx's poll (every second while
    it runs), else the whole ``page`` (which includes the fragment)."""
    template = "launch_status.html" if request.headers.get("HX-Request") else page
    return render_template(template, status=status, poll_url=poll_url, outcomes=OUTCOMES, cell=plan_cell,
                           **context)


_AMOUNT = re.compile(r"-?\d{1,3}(?:,\d{3})*(?:\.\d+)?|-?\d+")
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def plan_cell(header: str, value: str) -> str:
    """A cell of a run's table as the console writes it: `Rp 1.500.000`, `23/11/2026` (the
    terminal's table writes `1,500,000` and `2026-11-23`); any other text as it is."""
    if header in ("Nominal", "Amount", "Harga") and _AMOUNT.fullmatch(value):
        return fmt.rupiah(value.replace(",", ""))
    day = _ISO_DAY.fullmatch(value)
    return f"{day[3]}/{day[2]}/{day[1]}" if day else value


def day_arg(name: str) -> date | None:
    """A date filter (`2026-11-23`, as the date field sends it); None when empty or not a date."""
    text = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def uploaded(missing: str) -> tuple[bytes, str] | None:
    """The form's file (`berkas`): its bytes and the name it had on the person's computer; None,
    with ``missing`` flashed, when none was chosen."""
    upload = request.files.get("berkas")
    if upload is None or not upload.filename:
        flash(missing, "error")
        return None
    return upload.read(), upload.filename


def send(file: ServedFile):
    """A file of the data layer, with its media type; captured portal HTML only as text to download."""
    source = file.path if file.content is None else io.BytesIO(file.content)
    response = send_file(source, mimetype=file.media_type, as_attachment=file.as_attachment,
                         download_name=file.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def problem(exc: InputFileError) -> str:
    """A bad file's error in the staff's words: file, line, column or cell, what is wrong."""
    place = [exc.path]
    if exc.line is not None:
        place.append(f"baris {exc.line}")
    if exc.column is not None:
        column = str(exc.column)
        place.append(f"sel {column[5:]}" if column.startswith("cell ") else f"kolom {column}")
    value = "" if exc.value is None else f" (nilai {exc.value!r})"
    return f"{', '.join(place)}: {exc.reason}{value}"


def words(exc: Exception) -> str:
    """Any other refusal, as text without a path of this host (masked as the logs are)."""
    from bots.logs import mask

    if isinstance(exc, InputFileError):
        return problem(exc)
    return mask(str(exc))
