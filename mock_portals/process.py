"""A mock world in its own process (`python -m bots portals --port 0`), and its control API.

Tests, the chaos harness and the benchmarks start worlds this way: a real server on a free
port, stopped when they are done. Bots never use this: they only see the portals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class WorldProcess:
    def __init__(self, seed: Path, extra_env: dict | None = None, stderr=subprocess.PIPE):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bots", "portals", "--seed", str(seed), "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True, env={**os.environ, **(extra_env or {})})
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.process.kill()
            told = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"mock world did not start: {self.url} {told}")

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as answer:
            return json.load(answer)

    def post(self, path: str, body) -> tuple[int, dict]:
        """POST JSON; the status and the answer, errors included (tests look at both)."""
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def control(self, path: str, body=None):
        """`/__mock/<path>`: GET without a body, POST with one; a refusal raises."""
        if body is None:
            return self.get("/__mock/" + path)
        status, answer = self.post("/__mock/" + path, body)
        if status >= 400:
            raise RuntimeError(f"control API {path}: {status} {answer}")
        return answer

    def state(self) -> dict:
        return self.get("/__mock/state")

    def now(self) -> str:
        return self.get("/__mock/clock")["now"]

    def add(self, table: str, rows: list[dict]) -> None:
        if rows:
            self.control(f"rows/{table}", rows)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
