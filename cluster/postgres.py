"""The cluster's PostgreSQL: the tests' throwaway server (tests/postgres.py), listening on the bridge.

Beside the tests' settings it listens on TCP at the bridge address (the workers are other
hosts), trusts that subnet, and probes idle client connections every few seconds so that
the sessions of a host cut off end soon (their advisory locks — a bot's run lock, a browser
slot — free with them). A production server wants the same `tcp_keepalives_*`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from cluster.net import HOST_IP
from tests.postgres import Cluster

PORT = 5432
SERVER_OPTIONS = ("-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3 "
                  "-c tcp_user_timeout=10000 -c max_connections=200 -c fsync=off")


class ClusterPostgres(Cluster):
    def __init__(self):
        super().__init__()
        self.port = PORT

    def start(self) -> str:
        import os

        self.folder = Path(tempfile.mkdtemp(prefix="bots-cluster-pg-"))
        data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        done = self._as_server_user([self.initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr}")
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 10.77.0.0/24 trust\n")
        self._pg_ctl("start")
        return self.tcp_url("postgres")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-k {self.folder} -p {self.port} -c listen_addresses='{HOST_IP}' {SERVER_OPTIONS}"
        done = self._as_server_user([self.pg_ctl, "-D", str(self.folder / "data"), "-o", options, "-w", "-l",
                                     str(self.folder / "server.log"), *extra, action])
        if done.returncode:
            raise RuntimeError(f"pg_ctl {action} failed: {done.stderr} {done.stdout}")

    def restart(self) -> None:
        """Stop (fast: every session ends) and start again: what an upgrade or a failover does."""
        self._pg_ctl("restart", "-m", "fast")

    def tcp_url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@{HOST_IP}:{self.port}/{database}"

    def create(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host=str(self.folder), port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.tcp_url(name)
