"""A throwaway PostgreSQL cluster for the tests that need the real server (Debian's package).

Started once per test session in a temporary folder, listening only on a Unix socket there,
run as the `postgres` user when the tests run as root (the server refuses root); stopped at
the end. `postgres_url()` gives its SQLAlchemy URL, or a reason to skip when the machine has
no PostgreSQL server (set-up installs it as root: scripts/setup.sh).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        self.initdb, self.pg_ctl = _bin("initdb"), _bin("pg_ctl")
        self.folder: Path | None = None
        self.port = _free_port()

    def unavailable(self) -> str | None:
        if not (self.initdb and self.pg_ctl):
            return "no PostgreSQL server binaries (Debian's postgresql package) on this machine"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root without a postgres user to run the server as"
        return None

    def _as_server_user(self, argv: list[str]) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    def start(self) -> str:
        self.folder = Path(tempfile.mkdtemp(prefix="bots-pg-"))
        data, sock = self.folder / "data", self.folder
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        done = self._as_server_user([self.initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr}")
        options = f"-k {sock} -p {self.port} -c listen_addresses='' -c fsync=off"
        done = self._as_server_user([self.pg_ctl, "-D", str(data), "-o", options, "-w", "-l",
                                     str(self.folder / "server.log"), "start"])
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr} {done.stdout}")
        return f"postgresql+psycopg://postgres@/postgres?host={sock}&port={self.port}"

    def stop(self) -> None:
        if self.folder is None:
            return
        self._as_server_user([self.pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate", "stop"])
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
