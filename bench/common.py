"""What every benchmark shares: a mock world in its own process, bot environments, figures.

A figure is a median over repeated runs with its min–max, beside a baseline measured in the
same run on the same machine, and the issue's target. Timings are reported, never asserted.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mock_portals.process import WorldProcess

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "fixtures" / "world"
DEMO_ENV = ROOT / "config" / "demo.env"
PYTHON = sys.executable


@dataclass
class Options:
    """How much to measure: `quick` trades repeats and sizes for a run of a few minutes."""

    quick: bool
    workdir: Path

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def folder(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Stat:
    """Samples of one quantity (seconds, bytes, a rate…)."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        if len(ordered) == 1:
            return ordered[0]
        position = q * (len(ordered) - 1)
        below = int(position)
        above = min(below + 1, len(ordered) - 1)
        return ordered[below] + (ordered[above] - ordered[below]) * (position - below)

    def as_json(self) -> dict:
        return {"median": self.median, "min": self.low, "max": self.high, "n": len(self.samples),
                "samples": [round(s, 6) for s in self.samples]}


@dataclass
class Figure:
    """One row of the table."""

    name: str
    value: str             # as shown: "123 ms (110–140)"
    baseline: str          # as shown, or "—"
    ratio: float | None    # value / baseline where both are times
    target: str
    met: bool | None       # None: reported only (no target)
    note: str = ""
    data: dict = field(default_factory=dict)  # everything measured, for the JSON copy


def timed(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def shown(stat: Stat, unit=seconds) -> str:
    if len(stat.samples) == 1:
        return f"{unit(stat.median)} (n=1)"
    return f"{unit(stat.median)} ({unit(stat.low)}–{unit(stat.high)}, n={len(stat.samples)})"


class World(WorldProcess):
    """A mock world in its own process, like the tests' and the chaos harness's."""

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


_OUR_PREFIXES = ("BOTS_", "PORTALS_", "DATABASE_URL", "REPORTS_DIR", "LOGS_DIR", "VAR_DIR", "OTOMAX_",
                 "BANK_", "SUPPLIER_", "INDIANA_", "AGGREGATOR_", "DUKCAPIL_", "ISMARA_", "HELPDESK_",
                 "NOTIFY_")


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without the developer's own bot settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUR_PREFIXES)}
    env.update(extra)
    return env


def bot_env(world_url: str, folder: Path, env_file: Path = DEMO_ENV, **extra: str) -> dict[str, str]:
    """Environment for a `python -m bots` process against a world, with its own folders."""
    return clean_env(BOTS_ENV_FILE=str(env_file), PORTALS_BASE_URL=world_url,
                     VAR_DIR=str(folder / "var"), REPORTS_DIR=str(folder / "reports"),
                     LOGS_DIR=str(folder / "logs"), **extra)


def settings_for(world_url: str, folder: Path, env_file: Path = DEMO_ENV, **extra: str):
    """In-process settings, as a bot run against `world_url` would read them."""
    from bots.settings import load_settings

    return load_settings(env_file=env_file, environ={}, root=ROOT, overrides={
        "PORTALS_BASE_URL": world_url, "REPORTS_DIR": str(folder / "reports"), "VAR_DIR": str(folder / "var"),
        "LOGS_DIR": str(folder / "logs"), "BOTS_TRACE": "off", **extra})


def run_bot(bot: str, env: dict, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
    """`python -m bots run BOT` in a process of its own; (wall seconds, the finished process)."""
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "bots", "run", bot], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return time.perf_counter() - start, done


def quiet_logs() -> None:
    """The benchmark's own in-process bot code logs only warnings (a line per credit is noise here)."""
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")


def write_csv(folder: Path, name: str, header: str, rows) -> None:
    with open(folder / name, "w", encoding="utf-8", newline="") as handle:
        handle.write(header + "\n")
        for row in rows:
            handle.write(row + "\n")
