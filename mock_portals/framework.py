"""What every mock portal has: its own login and session cookie, CSRF, expiry, pagination.

A `Portal` is one Flask app mounted under its own prefix (`/otomax`, `/bank/bca`…). Sessions
live server-side in the `World` (so the control API can force them to expire) and idle out on
the world's clock, as real portals do when the operator walks away. Every form carries a CSRF
token; a POST without the session's token gets an error page, not an action.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlencode

from flask import Flask, Response, abort, g, redirect, render_template, request, url_for

from mock_portals.world import JAKARTA, PortalSession, World

PAGE_SIZES = (10, 25, 50, 100)
_TEMPLATES = Path(__file__).with_name("templates")
COOKIE = "sid"


def rupiah(amount) -> str:
    """1500000 → 'Rp 1.500.000' (dots between thousands, as Indonesian portals show)."""
    if amount is None or amount == "":
        return ""
    value = int(amount)
    text = f"{abs(value):,}".replace(",", ".")
    return f"-Rp {text}" if value < 0 else f"Rp {text}"


def wib(moment: datetime | None, with_seconds: bool = True) -> str:
    if moment is None:
        return ""
    shown = moment.astimezone(JAKARTA)
    return shown.strftime("%d/%m/%Y %H:%M:%S" if with_seconds else "%d/%m/%Y %H:%M") + " WIB"


@dataclass(frozen=True)
class Column:
    """One column of a listing: header label, row key, and how to show the value."""

    label: str
    key: str
    kind: str = "text"  # text | rupiah | time | date

    def show(self, row: dict) -> str:
        value = row.get(self.key)
        if self.kind == "rupiah":
            return rupiah(value)
        if self.kind == "time":
            return wib(value)
        if self.kind == "date":
            return value.strftime("%d/%m/%Y") if value else ""
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Page:
    """One page of a paginated listing."""

    rows: list
    number: int
    size: int
    total: int

    @property
    def count(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    def link(self, number: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "page"}
        args["page"] = number
        return "?" + urlencode(args)


def paginate(rows: list) -> Page:
    """Cut `rows` to the page the request asks for (`page`, `per_page` in PAGE_SIZES)."""
    size = request.args.get("per_page", type=int) or 25
    if size not in PAGE_SIZES:
        size = 25
    total = len(rows)
    count = max(1, math.ceil(total / size))
    number = min(max(1, request.args.get("page", type=int) or 1), count)
    start = (number - 1) * size
    return Page(rows[start:start + size], number, size, total)


class Portal:
    """One portal: a Flask app with login, logout, a home page and a session per user."""

    def __init__(self, world: World, key: str, title: str, *, single_session: bool = False,
                 nav: Iterable[tuple[str, str]] = ()):
        self.world, self.key, self.title = world, key, title
        self.single_session = single_session  # internet banking: a second login ends the first
        self.nav = list(nav)  # (label, endpoint) shown in the menu
        self.csrf_exempt: set[str] = set()  # endpoints that are APIs, not forms
        self.app = Flask(f"mock_portals.{key}", template_folder=_TEMPLATES)
        self.app.config["PROPAGATE_EXCEPTIONS"] = False
        self.app.jinja_env.filters["rupiah"] = rupiah
        self.app.jinja_env.filters["wib"] = wib
        self.app.context_processor(lambda: {"portal": self, "csrf_token": self.csrf_token})
        self.app.before_request(self._load_session)
        self.app.after_request(self._save_cookie)
        self.app.add_url_rule("/login", "login", self._login, methods=["GET", "POST"])
        self.app.add_url_rule("/logout", "logout", self._logout, methods=["POST"])
        self.app.register_error_handler(500, self._server_error)

    # -- sessions --------------------------------------------------------------------------
    @property
    def _sessions(self) -> dict[str, PortalSession]:
        return self.world.sessions.setdefault(self.key, {})

    def _load_session(self) -> Response | None:
        now = self.world.now()
        with self.world.lock:
            found = self._sessions.get(request.cookies.get(COOKIE, ""))
            g.expired = False
            if found and found.user and now - found.last_seen > self.world.session_idle:
                del self._sessions[found.sid]
                found, g.expired = None, True
            elif found is None and request.cookies.get(COOKIE):
                g.expired = True  # the cookie names a session the portal no longer knows
            if found is None:
                found = PortalSession(secrets.token_urlsafe(18), None, secrets.token_urlsafe(24), now)
                self._sessions[found.sid] = found
            found.last_seen = now
            g.session = found
        if (request.method == "POST" and request.endpoint not in self.csrf_exempt | {"login"}
                and not self._csrf_ok()):
            return self.message("Permintaan ditolak", "Token formulir tidak valid atau kedaluwarsa. "
                                "Muat ulang halaman lalu coba lagi.", status=400)
        return None

    def _csrf_ok(self) -> bool:
        sent = request.form.get("csrf_token", "")
        return bool(sent) and secrets.compare_digest(sent, g.session.csrf)

    def _save_cookie(self, response: Response) -> Response:
        session = getattr(g, "session", None)
        if session is not None and request.cookies.get(COOKIE) != session.sid:
            response.set_cookie(COOKIE, session.sid, path=(request.script_root or "") + "/",
                                httponly=True, samesite="Lax")
        return response

    def csrf_token(self) -> str:
        return g.session.csrf

    @property
    def user(self) -> str | None:
        return g.session.user

    def _login(self):
        error = None
        if request.method == "POST":
            username = request.form.get("username", "").strip()
            password = request.form.get("password", "")
            if not self._csrf_ok():
                error = "Token formulir tidak valid. Muat ulang halaman lalu coba lagi."
            elif self.world.check_password(self.key, username, password):
                with self.world.lock:
                    if self.single_session:
                        for sid in [s.sid for s in self._sessions.values() if s.user == username]:
                            del self._sessions[sid]
                            self.world.count_fault(f"session_ended_by_login:{self.key}")  # the tests' witness
                    # a fresh session id at login: the pre-login id must not carry over
                    self._sessions.pop(g.session.sid, None)
                    g.session = PortalSession(secrets.token_urlsafe(18), username,
                                              secrets.token_urlsafe(24), self.world.now())
                    self._sessions[g.session.sid] = g.session
                target = request.args.get("next") or url_for("home")
                return redirect(target if target.startswith("/") else url_for("home"))
            else:
                error = "Nama pengguna atau kata sandi salah."
        ended = g.expired or request.args.get("sesi") == "berakhir"
        notice = "Sesi Anda telah berakhir. Silakan masuk kembali." if ended else None
        status = 401 if error else 200
        return render_template("login.html", error=error, notice=notice), status

    def _logout(self):
        with self.world.lock:
            self._sessions.pop(g.session.sid, None)
        return redirect(url_for("login"))

    def _server_error(self, exc):
        return self.message("Terjadi kesalahan", "Terjadi kesalahan pada server. Silakan coba lagi.",
                            status=500)

    # -- helpers for the portal's own pages ------------------------------------------------------
    def page(self, rule: str, methods=("GET",), login: bool = True):
        """Decorator: a page of this portal, behind the login unless `login=False`."""

        def register(view: Callable):
            @wraps(view)
            def guarded(*args, **kwargs):
                if login and not self.user:
                    ended = {"sesi": "berakhir"} if g.expired else {}
                    return redirect(url_for("login", next=request.script_root + request.full_path.rstrip("?"),
                                            **ended))
                return view(*args, **kwargs)

            self.app.add_url_rule(rule, view.__name__, guarded, methods=list(methods))
            return guarded

        return register

    def message(self, title: str, text: str, status: int = 200, back: str | None = None):
        return render_template("message.html", title=title, text=text, back=back), status

    def render(self, template: str, **context):
        return render_template(template, **context)

    def listing(self, title: str, columns: list[Column], rows: list[dict], *, filters=(),
                actions: Callable[[dict], list[dict]] | None = None, intro: str | None = None,
                export: str | None = None):
        """A paginated table page with optional filter fields and per-row action buttons."""
        return render_template("listing.html", title=title, columns=columns, page=paginate(rows),
                               filters=filters, actions=actions, intro=intro, export=export)

    def require(self, condition: bool, status: int = 404):
        if not condition:
            abort(status)


