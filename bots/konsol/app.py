"""The console's Flask app: the factory, its state, and the server behind `python -m bots console`.

    python -m bots console [--host H] [--port N] [--demo]

`create_app(settings, clock=...)` builds the app; every screen is a blueprint registered in
`blueprints()` (add yours there: its views take `@requires("<permission>")` from roles.py and
render templates that extend `base.html`). Pages are server-rendered Jinja in Indonesian;
htmx (static/htmx-2.0.11.min.js: npm htmx.org 2.0.11, 0BSD, vendored) only where a part of a
page refreshes alone (the queue as filters change, agents' names, a portal's answer, progress).
Waitress serves it (threads; a resolve runs its browser in the request's thread).
"""

from __future__ import annotations

import socket
import sys
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from bots.clock import Clock, clock_for
from bots.konsol import auth, format as fmt
from bots.konsol.config import ABSOLUTE_TIMEOUT, console_options
from bots.konsol.roles import NAVIGATION, may
from bots.settings import Settings
from bots.store import Store

#: How long agents' names read from the transaction server are kept (they rarely change).
AGENTS_KEPT = timedelta(minutes=5)


@dataclass
class Konsol:
    """What every view needs: the settings, the store, the clock, and a few caches."""

    settings: Settings
    store: Store
    clock: Clock
    _agents: tuple | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def agent_names(self) -> dict[str, str]:
        """Agent ID → name as the transaction server lists them (read through its page object,
        kept for a few minutes); empty, with the reason logged, when it cannot be read."""
        now = self.clock.now()
        with self._lock:
            if self._agents is not None and now - self._agents[0] < AGENTS_KEPT:
                return self._agents[1]
        from loguru import logger

        from bots.errors import BotError
        from bots.portals.otomax import OtomaxAdmin
        from bots.portals.session import PortalBrowser

        try:
            with PortalBrowser(self.settings, f"konsol-agents-{now:%Y%m%d-%H%M%S}") as browser:
                otomax = OtomaxAdmin(browser, self.settings.portal("otomax"), attempts=1,
                                     backoff_seconds=self.settings.retry_backoff_seconds)
                names = {a.agent_id: a.name for a in otomax.list_agents()}
        except BotError as exc:
            logger.warning("console: agents' names not read from the transaction server: {}", exc)
            return {}
        with self._lock:
            self._agents = (now, names)
        return names


def blueprints():
    from bots.konsol import (views_audit, views_bon, views_complaints, views_doubts, views_esim, views_escalations,
                             views_home, views_reports, views_runs, views_statements)

    return [auth.blueprint, views_home.blueprint, views_escalations.blueprint, views_doubts.blueprint,
            views_audit.blueprint, views_runs.blueprint, views_statements.blueprint, views_esim.blueprint,
            views_complaints.blueprint, views_reports.blueprint, views_bon.blueprint]


def create_app(settings: Settings, *, clock: Clock | None = None, store: Store | None = None) -> Flask:
    """The console for these settings (ConfigError naming the key for a bad console setting)."""
    options = console_options(settings)
    store = store or Store(settings.database_url)
    store.migrate()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=options.secret_key, SESSION_COOKIE_NAME="konsol_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=options.secure_cookies,
        PERMANENT_SESSION_LIFETIME=ABSOLUTE_TIMEOUT, WTF_CSRF_TIME_LIMIT=None,  # the session's own limits rule
        MAX_CONTENT_LENGTH=20 * 1024 * 1024)
    app.extensions["konsol"] = Konsol(settings, store, clock or clock_for(settings))
    # the one Launcher (Jalankan, Proses): each run its own process, given the console's own flags
    from bots.konsol.services.launch import Launcher
    from bots.scheduler import env_args_from_argv

    app.extensions["konsol.launcher"] = Launcher(settings, env_args=env_args_from_argv())
    if options.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = options.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)  # type: ignore[method-assign]
    app.before_request(auth.guard)   # before CSRF: an ended session goes to the login, not to 400
    CSRFProtect(app)
    for blueprint in blueprints():
        app.register_blueprint(blueprint)
    _templates(app)
    _errors(app)
    return app


def _templates(app: Flask) -> None:
    app.jinja_env.filters.update(rupiah=fmt.rupiah, wib=fmt.wib)

    def finalize(value):
        # a NIK or KK (16 digits) is shown only on pages that say they need it (GraPARI's)
        if isinstance(value, str) and not g.get("personal_data"):
            return fmt.no_personal_data(value)
        return value

    app.jinja_env.finalize = finalize

    @app.context_processor
    def navigation():
        user = g.get("user")
        links = [(label, endpoint) for label, endpoint, permission in NAVIGATION
                 if user is not None and may(user.role, permission)]
        return {"navigation": links, "user": user, "may": lambda p: user is not None and may(user.role, p),
                "now": app.extensions["konsol"].clock.now()}


def _errors(app: Flask) -> None:
    @app.after_request
    def headers(response):
        # no framing, no sniffing, scripts only from here (htmx and konsol.js are files, no inline code)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        if g.get("user") is not None:
            response.headers.setdefault("Cache-Control", "no-store")  # a person's pages stay off shared caches
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("error.html", code=400, title="Permintaan ditolak",
                               text="Formulir ini tidak membawa token keamanan yang sah (CSRF). Muat ulang "
                                    "halaman, lalu kirim lagi."), 400

    @app.errorhandler(403)
    def forbidden(error):
        return render_template("error.html", code=403, title="Tidak diizinkan",
                               text="Peran Anda tidak boleh membuka halaman atau melakukan aksi ini."), 403

    @app.errorhandler(404)
    def not_found(error):
        return render_template("error.html", code=404, title="Tidak ditemukan",
                               text=f"Tidak ada halaman {request.path}."), 404


class ConsoleServer:
    """The console served by waitress in a thread (tests, the demo) or in the foreground."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0, threads: int = 8,
                 sock: socket.socket | None = None):
        from waitress.server import create_server

        where = {"sockets": [sock]} if sock is not None else {"host": host, "port": port}
        self.server = create_server(app, threads=threads, ident="konsol", **where)
        self.url = f"http://{host if sock is None else sock.getsockname()[0]}:{self.server.effective_port}"
        self._thread: threading.Thread | None = None

    @staticmethod
    def bind(host: str = "127.0.0.1", port: int = 0) -> "BoundPort":
        """Take the port before the app exists (the demo's notifications must name the URL)."""
        sock = socket.create_server((host, port))
        return BoundPort(sock, f"http://{host}:{sock.getsockname()[1]}")

    def start(self) -> "ConsoleServer":
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.run()

    def stop(self) -> None:
        self.server.close()
        if self._thread is not None:
            self._thread.join(5)


@dataclass
class BoundPort:
    sock: socket.socket
    url: str

    def serving(self, app: Flask, threads: int = 8) -> ConsoleServer:
        return ConsoleServer(app, sock=self.sock, threads=threads)


def stop_on_sigterm() -> None:
    """SIGTERM (a service manager, `kill`) stops the console as Ctrl-C does."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """`python -m bots console`: the URL on the first line, then serve until Ctrl-C or SIGTERM."""
    stop_on_sigterm()
    server = ConsoleServer(create_app(settings), host, port)
    print(server.url, flush=True)
    print(f"konsol: store {Store(settings.database_url).url}; Ctrl-C stops it", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.close()
