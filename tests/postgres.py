"""A throwaway PostgreSQL cluster for the tests that need the real server (Debian's package).

Started once per test session (per xdist worker) in a temporary folder, listening only on a
Unix socket there, run as the `postgres` user when the tests run as root (the server refuses
root); stopped at the end. `start()` gives its SQLAlchemy URL; `unavailable()` a reason to
skip when the machine has no PostgreSQL server (set-up installs it as root: scripts/setup.sh).
`create_database()` gives each test a database of its own (copied from a template: fast),
`drop_database()` removes it, connections and all.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from itertools import count
from pathlib import Path

import sqlalchemy as sa


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
        self._names = count(1)
        self._admin: sa.Engine | None = None

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
        options = (f"-k {sock} -p {self.port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
                   " -c full_page_writes=off -c max_connections=200")
        done = self._as_server_user([self.pg_ctl, "-D", str(data), "-o", options, "-w", "-l",
                                     str(self.folder / "server.log"), "start"])
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr} {done.stdout}")
        return self.url("postgres")

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database of the cluster (over its Unix socket)."""
        return f"postgresql+psycopg://postgres@/{database}?host={self.folder}&port={self.port}"

    def _admin_run(self, sql: str) -> None:
        if self._admin is None:
            self._admin = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT",
                                           poolclass=sa.pool.NullPool)
        with self._admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def create_database(self, template: str | None = None, prefix: str = "t") -> str:
        """A new empty database (or a copy of ``template``); returns its name."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        copy = f" TEMPLATE {template}" if template else ""
        self._admin_run(f"CREATE DATABASE {name}{copy}")
        return name

    def empty_database(self, name: str) -> None:
        """Empty every table of ``name`` but the migration record (ids start at 1 again), once
        whoever is still connected to it (a killed run's session, a leaked lock) is gone."""
        self._admin_run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                        "AND pid <> pg_backend_pid()")
        engine = sa.create_engine(self.url(name), poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                tables = conn.exec_driver_sql("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = "
                                              "'public' AND tablename <> 'alembic_version'").scalars().all()
                if tables:
                    conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        finally:
            engine.dispose()

    def drop_database(self, name: str) -> None:
        self._admin_run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def recreate_database(self, name: str) -> None:
        """``name`` dropped (whoever is connected) and made again, empty: a store lost."""
        self.drop_database(name)
        self._admin_run(f"CREATE DATABASE {name}")

    def stop(self) -> None:
        if self.folder is None:
            return
        if self._admin is not None:
            self._admin.dispose()
            self._admin = None
        self._as_server_user([self.pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate", "stop"])
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
