"""The moving parts of a chaos scenario: a world process, bot runs, fault profiles, the tally.

A scenario is: new work arrives in a generated world (through the control API), one run of the
bot under a random fault profile and, often, a kill -9 at a named point of the act protocol;
then reruns without faults until one ends cleanly (the world is quiet); then the invariants.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mock_portals.process import WorldProcess

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 240
MAX_RERUNS = 4


class ChaosWorld(WorldProcess):
    """A campaign's world; its server log goes to a file (a campaign runs for many minutes)."""

    def __init__(self, seed: Path, log: Path):
        self.log = log.open("w")
        super().__init__(seed, stderr=self.log)

    def call(self, path: str, body=None):
        return self.control(path, body)

    def stop(self) -> None:
        super().stop()
        self.log.close()


def chaos_config(folder: Path) -> Path:
    """The project's settings with a short retry back-off: faults are many, waiting adds nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    for toml in (ROOT / "config").glob("*.toml"):
        text = re.sub(r"(?m)^backoff_seconds = .*$", "backoff_seconds = 0.2", toml.read_text())
        (folder / toml.name).write_text(text)
    return folder


@dataclass
class Run:
    code: int            # the exit code; -9 when the kill point was reached
    seconds: float
    tail: str            # the end of stderr, for a violation's report


def run_bot(bot: str, env: dict, crash_at: str | None = None) -> Run:
    return run_cli(["run", bot], env, crash_at)


def run_cli(args: list[str], env: dict, crash_at: str | None = None) -> Run:
    """One `python -m bots ARGS…` to its end (or its kill point)."""
    return run_at_once([(args, env, crash_at)])[0]


def run_at_once(commands: list[tuple[list[str], dict, str | None]]) -> list[Run]:
    """Several `python -m bots …` processes started together (two hosts, one store), each waited for."""
    started, processes = time.monotonic(), []
    for args, env, crash_at in commands:
        env = dict(env)
        if crash_at:
            env["BOTS_CRASH_AT"] = crash_at
        processes.append(subprocess.Popen([sys.executable, "-m", "bots", *args], cwd=ROOT, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    runs = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=max(1.0, RUN_TIMEOUT_S - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            runs.append(Run(124, time.monotonic() - started, f"no answer after {RUN_TIMEOUT_S} s"))
            continue
        runs.append(Run(process.returncode, time.monotonic() - started, out[-1500:]))
    return runs


def fault_profile(rng: random.Random, portals: tuple[str, ...]) -> dict:
    """A random profile for `POST /__mock/faults` within the issue's bounds (errors ≤ 30 %)."""
    profile = {"error_rate": round(rng.choice([0, 0.05, 0.1, 0.2, 0.3]), 2),
               "latency_ms": rng.choice([0, 0, 10, 50, 150]),
               "drop_rate": rng.choice([0, 0, 0.1, 0.3, 0.5]),
               "maintenance": rng.random() < 0.06,
               "seed": rng.randrange(1 << 30)}
    if rng.random() < 0.5:  # sometimes only some portals misbehave
        profile["portals"] = sorted(rng.sample(portals, rng.randint(1, len(portals))))
    if rng.random() < 0.25:
        profile["expire_sessions"] = True
    return profile


@dataclass
class Tally:
    """What `make chaos` reports: scenarios, faults by kind, kills by point, violations."""
    scenarios: Counter = field(default_factory=Counter)      # per bot
    runs: Counter = field(default_factory=Counter)           # per bot, every bot process started
    faults: Counter = field(default_factory=Counter)         # per kind, as the world counted them
    kills: Counter = field(default_factory=Counter)          # per point actually reached
    kills_missed: Counter = field(default_factory=Counter)   # a point asked for but never reached
    items: Counter = field(default_factory=Counter)          # tickets, transactions, orders made
    families: Counter = field(default_factory=Counter)       # scenarios per family (chaos/families.py)
    family_violations: Counter = field(default_factory=Counter)  # violations per family
    events: Counter = field(default_factory=Counter)         # stores deleted, processes side by side…
    run_seconds: list[float] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: "Tally") -> None:
        for name in ("scenarios", "runs", "faults", "kills", "kills_missed", "items", "families",
                     "family_violations", "events"):
            getattr(self, name).update(getattr(other, name))
        self.violations += other.violations
        self.run_seconds += other.run_seconds


def fresh_folder(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def bot_env(world: WorldProcess, folder: Path, config: Path, logs: Path, database_url: str | None = None) -> dict:
    """The environment of every run of one campaign: demo credentials, its own store (SQLite in
    its folder, or ``database_url``) and reports."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("BOTS_", "DATABASE_URL", "VAR_DIR", "REPORTS_DIR", "LOGS_DIR", "BANK_", "OTOMAX_", "SUPPLIER_", "INDIANA_", "AGGREGATOR_",
                                 "DUKCAPIL_", "ISMARA_", "HELPDESK_", "NOTIFY_", "PORTALS_"))}
    # DATABASE_URL named, not derived from VAR_DIR: a run given another VAR_DIR (a second host)
    # still shares the campaign's store
    return {**keep, "BOTS_ENV_FILE": str(ROOT / "config" / "demo.env"), "BOTS_CONFIG_DIR": str(config),
            "PORTALS_BASE_URL": world.url, "VAR_DIR": str(folder / "var"),
            "DATABASE_URL": database_url or f"sqlite:///{folder / 'var' / 'bots.sqlite3'}",
            "REPORTS_DIR": str(folder / "reports"), "LOGS_DIR": str(logs), "BOTS_RETRY_ATTEMPTS": "3",
            "NOTIFY_URLS": f"json://finance:Hlp-demo-8253@{world.url[7:]}/helpdesk/api/messages",
            "COLUMNS": "160"}
