"""Logging in and out, the login limit, and the session rules every request passes.

- Login: **Nama pengguna**, **Kata sandi**, **Masuk**. Five failed tries within a minute for one
  user name, or from one address, and the next try waits until the oldest of them is a minute
  old (HTTP 429, the wait in seconds shown). Failed tries are audit rows, so the limit holds
  across restarts and across the console's threads and processes.
- A session ends after 15 minutes without a request, and 8 hours after its login, whatever
  happens in between; a disabled account's sessions end at their next request. Times come
  from the injected clock (tests move it).
- Cookies: HttpOnly, SameSite=Lax, Secure when `secure_cookies` (behind TLS).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from bots.konsol import audit, people
from bots.konsol.config import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, LOGIN_TRIES, LOGIN_WINDOW
from bots.konsol.roles import requires

blueprint = Blueprint("auth", __name__)

#: Endpoints open without a session.
OPEN_ENDPOINTS = {"auth.login", "static"}


def konsol():
    """The app's state: settings, store, clock (see app.Konsol)."""
    return current_app.extensions["konsol"]


def address() -> str:
    return request.remote_addr or "?"


def _end_session(why: str, message: str):
    login = session.get("login")
    if login:
        audit.record(konsol().store, konsol().clock.now(), login, "session_ended", address=address(), note=why)
    session.clear()
    flash(message, "error")
    return _to_login()


def _to_login():
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):  # htmx: the whole page goes to the login, not a fragment
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


def guard():
    """Before every request: a live session of an active person, or the login page."""
    g.user = None
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    login = session.get("login")
    if not login:
        return _to_login()
    now = konsol().clock.now()
    try:
        started, seen = datetime.fromisoformat(session["started"]), datetime.fromisoformat(session["seen"])
    except (KeyError, TypeError, ValueError):
        session.clear()
        return _to_login()
    if now - started >= ABSOLUTE_TIMEOUT:
        return _end_session("absolute 8 h", "Sesi berakhir: sudah 8 jam sejak masuk. Silakan masuk lagi.")
    if now - seen >= IDLE_TIMEOUT:
        return _end_session("idle 15 min", "Sesi berakhir karena tidak aktif 15 menit. Silakan masuk lagi.")
    person = people.person(konsol().store, login)
    if person is None or not person.active:
        return _end_session("account disabled", "Akun ini tidak aktif lagi.")
    g.user = person
    session["seen"] = now.isoformat()
    return None


def _wait_seconds(now: datetime, name: str) -> int:
    """Seconds until another try is allowed (0: now), by user name and by address."""
    since = now - LOGIN_WINDOW
    store = konsol().store
    wait = 0
    for failures in (audit.failures_since(store, since, login=name), audit.failures_since(store, since,
                                                                                          address=address())):
        if len(failures) >= LOGIN_TRIES:
            oldest = failures[-LOGIN_TRIES]
            wait = max(wait, int((oldest + LOGIN_WINDOW - now).total_seconds()) + 1)
    return wait


@blueprint.route("/masuk", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", name="")
    store, now = konsol().store, konsol().clock.now()
    name = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")
    wait = _wait_seconds(now, name)
    if wait:
        audit.record(store, now, name or "?", "login_blocked", address=address())
        return render_template("login.html", name=name, error=f"Terlalu banyak percobaan masuk. Tunggu {wait} "
                               "detik, lalu coba lagi."), 429
    person = people.check_password(store, name, password)
    if person is None:
        audit.record(store, now, name or "?", "login_failed", address=address())
        return render_template("login.html", name=name, error="Nama pengguna atau kata sandi salah."), 401
    session.clear()  # a fresh session (and CSRF token) for every login
    session.permanent = True
    session.update(login=person.login, started=now.isoformat(), seen=now.isoformat())
    people.logged_in(store, person.login, now)
    audit.record(store, now, person.login, "login", address=address(), after=person.role)
    target = request.args.get("next") or ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:  # only a path of ours
        target = url_for("ringkasan.index")
    return redirect(target)


@blueprint.post("/keluar")
@requires("ringkasan.view")  # everyone who may open anything may leave
def logout():
    if g.user is not None:
        audit.record(konsol().store, konsol().clock.now(), g.user.login, "logout", address=address())
    session.clear()
    flash("Anda sudah keluar.", "ok")
    return redirect(url_for("auth.login"))
