"""Faults the world injects on purpose, as WSGI middleware in front of each portal.

Real portals time out, answer 500, show a maintenance page, log us out, and — worst for
exactly-once — carry out a POST and then lose the connection before the answer arrives.
`POST /__mock/faults` sets what happens; every injected fault is counted for the reports.
"""

from __future__ import annotations

import socket
import time

from mock_portals.world import World

_PAGE = """<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p role="alert">{text}</p></body></html>"""


def _html(status: str, title: str, text: str, start_response):
    body = _PAGE.format(title=title, text=text).encode()
    start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Length", str(len(body))), ("Retry-After", "5")])
    return [body]


class FaultInjector:
    """Wraps one portal's WSGI app and misbehaves as `world.faults` says."""

    def __init__(self, app, world: World, portal: str):
        self.app, self.world, self.portal = app, world, portal

    def __call__(self, environ, start_response):
        faults = self.world.faults
        if not faults.applies_to(self.portal):
            return self.app(environ, start_response)
        if faults.latency_ms:
            self.world.count_fault("latency")
            time.sleep(faults.latency_ms / 1000)
        if faults.maintenance:
            self.world.count_fault("maintenance")
            return _html("503 Service Unavailable", "Sedang Pemeliharaan",
                         "Layanan sedang dalam pemeliharaan sistem. Silakan coba beberapa saat lagi.",
                         start_response)
        if faults.error_rate and self._roll(faults.error_rate):
            self.world.count_fault("error")
            return _html("500 Internal Server Error", "Terjadi kesalahan",
                         "Terjadi kesalahan pada server. Silakan coba lagi.", start_response)
        if environ.get("REQUEST_METHOD") == "POST" and faults.drop_rate and self._roll(faults.drop_rate):
            return self._commit_then_drop(environ)
        return self.app(environ, start_response)

    def _roll(self, rate: float) -> bool:
        with self.world.lock:
            return self.world.rng.random() < rate

    def _commit_then_drop(self, environ):
        # Run the request to the end (its writes happen), then cut the connection before a
        # single byte of the answer leaves: the client cannot know whether it worked.
        result = self.app(environ, lambda status, headers, exc_info=None: None)
        try:
            b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        self.world.count_fault("drop_after_commit")
        conn = environ.get("werkzeug.socket")
        if conn is not None:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionResetError("mock world: connection dropped after commit (fault injection)")
