"""Hosts for the cluster proof: one network namespace per worker, a bridge in the root namespace.

    root namespace: bridge botsbr0 10.77.0.1/24 ── PostgreSQL :5432, the mock world :8765
      ├── veth bw1 ══ eth0 10.77.0.11 in namespace bots-w1  (worker w1)
      ├── veth bw2 ══ eth0 10.77.0.12 in namespace bots-w2  (worker w2)
      └── veth bw3 ══ eth0 10.77.0.13 in namespace bots-w3  (worker w3)

A worker is "cut off" with `ip link set bwN down` (its cable pulled: PostgreSQL and the world
both unreachable, its processes running on) and "killed" with kill -9 on every process in
its namespace (the host gone, its browsers with it). Needs root and `ip netns`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

BRIDGE, HOST_IP = "botsbr0", "10.77.0.1"


def unavailable() -> str | None:
    """Why the cluster cannot be built here, or None."""
    if os.geteuid() != 0:
        return "the cluster proof needs root (network namespaces)"
    if not shutil.which("ip"):
        return "no `ip` command (iproute2)"
    probe = subprocess.run(["ip", "netns", "add", "bots-probe"], capture_output=True, text=True)
    if probe.returncode:
        return f"`ip netns add` does not work here: {probe.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", "bots-probe"], capture_output=True)
    return None


def _ip(*args: str, check: bool = True) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Network:
    def __init__(self, hosts: int):
        self.hosts = [f"w{n}" for n in range(1, hosts + 1)]

    @staticmethod
    def namespace(host: str) -> str:
        return f"bots-{host}"

    @staticmethod
    def address(host: str) -> str:
        return f"10.77.0.{10 + int(host[1:])}"

    def up(self) -> None:
        self.down()
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{HOST_IP}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        for host in self.hosts:
            ns, veth = self.namespace(host), f"b{host}"
            _ip("netns", "add", ns)
            _ip("link", "add", veth, "type", "veth", "peer", "name", f"{veth}p")
            _ip("link", "set", f"{veth}p", "netns", ns)
            _ip("link", "set", veth, "master", BRIDGE)
            _ip("link", "set", veth, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", f"{veth}p", "name", "eth0")
            _ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")

    def down(self) -> None:
        for host in self.hosts:
            self.kill(host)
            _ip("netns", "del", self.namespace(host), check=False)
            _ip("link", "del", f"b{host}", check=False)
        _ip("link", "del", BRIDGE, check=False)

    def cut(self, host: str) -> None:
        _ip("link", "set", f"b{host}", "down")

    def mend(self, host: str) -> None:
        _ip("link", "set", f"b{host}", "up")

    def pids(self, host: str) -> list[int]:
        done = subprocess.run(["ip", "netns", "pids", self.namespace(host)], capture_output=True, text=True)
        return [int(p) for p in done.stdout.split()]

    def kill(self, host: str) -> int:
        """kill -9 every process of the host; how many there were."""
        pids = self.pids(host)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return len(pids)

    def command(self, host: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(host), *argv]
