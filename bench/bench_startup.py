"""`python -m bots run X`: from the process starting to its first portal request.

The "portal" is a one-line HTTP server in this process that notes when the first request
arrives and answers it with a maintenance page, so the run ends at once (exit 3). The
baseline is `python -c pass`: what any Python program pays before its first line.
"""

from __future__ import annotations

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import DEMO_ENV, PYTHON, ROOT, Figure, Options, Stat, clean_env, seconds, shown

ORDER = 10
BOTS = ("reconcile_payments", "check_pending_tx")


class _FirstRequest(BaseHTTPRequestHandler):
    arrived: list[float] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).arrived.append(time.perf_counter())
        body = b"<html><body><h1>Sedang Pemeliharaan</h1></body></html>"
        self.send_response(503)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def _to_first_request(bot: str, env: dict) -> float:
    _FirstRequest.arrived = []
    start = time.perf_counter()
    process = subprocess.Popen([PYTHON, "-m", "bots", "run", bot], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process.wait(120)
    if not _FirstRequest.arrived:
        raise RuntimeError(f"{bot} made no portal request (exit {process.returncode})")
    return _FirstRequest.arrived[0] - start


def run(options: Options) -> list[Figure]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FirstRequest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    folder = options.folder("startup")
    env_file = folder / "otomax.env"  # the transaction server only: the first request is its login page
    env_file.write_text("".join(line + "\n" for line in DEMO_ENV.read_text().splitlines()
                                if line.startswith("OTOMAX_")))
    env = clean_env(BOTS_ENV_FILE=str(env_file), PORTALS_BASE_URL=f"http://127.0.0.1:{server.server_port}",
                    VAR_DIR=str(folder / "var"), REPORTS_DIR=str(folder / "reports"),
                    LOGS_DIR=str(folder / "logs"), BOTS_RETRY_ATTEMPTS="1")
    repeats = options.n(7, 3)
    try:
        figures = []
        bare = Stat([_wall([PYTHON, "-c", "pass"]) for _ in range(repeats)])
        for bot in BOTS:
            _to_first_request(bot, env)  # the first run creates and migrates the store: not counted
            stat = Stat([_to_first_request(bot, env) for _ in range(repeats)])
            figures.append(Figure(
                f"`python -m bots run {bot}` start → first portal request", shown(stat),
                f"`python -c pass` {shown(bare)}", stat.median / bare.median, "≤ 2 s", stat.median <= 2.0,
                "includes starting Chromium (headless shell)", {"run": stat.as_json(), "python_c_pass": bare.as_json()}))
        return figures
    finally:
        server.shutdown()


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


__all__ = ["run", "seconds"]
