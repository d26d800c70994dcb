"""One process serving the whole mock world: every portal under its prefix, plus `/__mock/`.

    python -m bots portals --seed fixtures/world --port 8765

prints the base URL as its first line (port 0 picks a free port), then serves until stopped.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from pathlib import Path

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server

from mock_portals.control import create_control_app
from mock_portals.faults import FaultInjector
from mock_portals.portals import build_portals
from mock_portals.world import World


def build_app(world: World):
    """The world's WSGI app: portals (behind fault injection) and the control API."""
    portals = build_portals(world)
    mounts = {prefix: FaultInjector(p.app, world, p.key) for prefix, p in portals.items()}
    mounts["/__mock"] = create_control_app(world)
    return DispatcherMiddleware(_index(portals), mounts)


def _index(portals) -> Flask:
    app = Flask("mock_portals.index")

    @app.get("/")
    def index():
        items = "".join(f'<li><a href="{prefix}/">{p.title}</a> <code>{p.key}</code></li>'
                        for prefix, p in sorted(portals.items()))
        return (f"<!doctype html><html lang='id'><head><meta charset='utf-8'><title>Dunia tiruan</title>"
                f"</head><body><h1>Dunia tiruan (mock world)</h1><ul>{items}</ul>"
                f"<p><a href='/__mock/state'>/__mock/state</a></p></body></html>")

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):  # one line per request is noise for the bots' logs
        pass


class WorldServer:
    """A running mock world (threaded WSGI server) that can be stopped; used by tests too."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0):
        self.world = world
        self.server = make_server(host, port, build_app(world), threaded=True,
                                  request_handler=_QuietHandler)
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "WorldServer":
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(seed: Path, host: str = "127.0.0.1", port: int = 8765, start: datetime | None = None) -> None:
    """Load the world from `seed` (errors name file, line, column) and serve it until stopped."""
    world = World.from_seed(seed, start)
    server = WorldServer(world, host, port)
    print(server.url, flush=True)
    print(f"mock world from {seed}: {sum(len(r) for r in world.tables.values())} rows, "
          f"portals: {', '.join(sorted(p for p in build_portals(world)))}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()
