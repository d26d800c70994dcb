"""The day's reconciliation workbook with 100,000 statement lines: time and peak memory.

Each write runs in a process of its own (`bench.workbook_job`), which reports its own peak
RSS (VmHWM). The baseline writes the same lines with openpyxl in normal mode.
"""

from __future__ import annotations

import subprocess
import time

from bench.common import PYTHON, ROOT, Figure, Options, Stat, clean_env, shown

ORDER = 70
LINES = 100_000


def _job(*args: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one `bench.workbook_job` process (its own VmHWM)."""
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "bench.workbook_job", *args], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"bench.workbook_job {args[0]} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    peak = next(int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("peak_rss_kb "))
    return wall, peak / 1024


def _mb(value: float) -> str:
    return f"{value:.0f} MB"


def run(options: Options) -> list[Figure]:
    folder = options.folder("workbook")
    db = folder / "bots.sqlite3"
    if db.exists():
        db.unlink()
    _job("build", str(db), str(LINES))
    repeats = options.n(3, 1)
    ours = [_job("ours", str(db), str(folder / "reports")) for _ in range(repeats)]
    plain = [_job("openpyxl", str(db), str(folder / "plain")) for _ in range(max(1, repeats - 1))]
    time_ours, rss_ours = Stat([w for w, _ in ours]), Stat([r for _, r in ours])
    time_plain, rss_plain = Stat([w for w, _ in plain]), Stat([r for _, r in plain])
    met = time_ours.median <= 15 and rss_ours.high <= 300
    return [Figure(f"reconciliation workbook, {LINES:,} statement lines (whole process)",
                   f"{shown(time_ours)}; peak RSS {shown(rss_ours, _mb)}",
                   f"openpyxl normal mode (Mutasi sheet only) {shown(time_plain)}; peak RSS {shown(rss_plain, _mb)}",
                   time_ours.median / time_plain.median, "≤ 15 s and ≤ 300 MB", met,
                   "store read + five sheets + atomic save, in its own process",
                   {"ours_seconds": time_ours.as_json(), "ours_peak_rss_mb": rss_ours.as_json(),
                    "openpyxl_seconds": time_plain.as_json(), "openpyxl_peak_rss_mb": rss_plain.as_json()})]
