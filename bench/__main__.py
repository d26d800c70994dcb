"""`python -m bench [--quick] [--only NAME ...]` (`make bench`): every figure of issue 7, one table.

Each `bench/bench_*.py` module has `run(options) -> list[Figure]`; one with `BACKGROUND =
True` (the 15-minute deposit-to-credit latency under the real scheduler) runs in a thread
beside the others, so the whole suite takes about as long as that one. The table goes to the
terminal and, with every sample, to `reports/bench/bench-YYYY-MM-DD.json`.
`--quick` (or BENCH_QUICK=1) measures fewer repeats on smaller worlds, for development.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path

from bench.common import ROOT, Figure, Options

REPORTS = ROOT / "reports" / "bench"


def modules(only: list[str]) -> list:
    found = []
    for path in sorted((ROOT / "bench").glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        found.append(importlib.import_module(f"bench.{path.stem}"))
    return sorted(found, key=lambda m: getattr(m, "ORDER", 50))


def measure(module, options: Options, results: dict, log) -> None:
    name = module.__name__.removeprefix("bench.bench_")
    start = time.perf_counter()
    log(f"bench: {name} …")
    try:
        results[name] = module.run(options)
    except Exception as exc:  # noqa: BLE001 - one broken figure must not lose the others
        traceback.print_exc()
        results[name] = [Figure(f"{name}: failed", f"{type(exc).__name__}: {exc}", "—", None, "—", False)]
    log(f"bench: {name} done in {time.perf_counter() - start:.0f} s")


def machine() -> dict:
    from bots.browser import resolve_browser

    try:
        choice = resolve_browser(os.environ.get("BOTS_BROWSER") or None)
        browser = choice.executable or "Playwright Chromium"
    except Exception as exc:  # noqa: BLE001
        browser = f"none ({exc})"
    os_name = platform.platform()
    try:
        os_name = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines()
                       if "=" in line).get("PRETTY_NAME", os_name).strip('"')
    except OSError:
        pass
    return {"os": os_name, "cores": os.cpu_count(), "python": platform.python_version(), "browser": browser,
            "load_average_at_start": os.getloadavg()}


def table(figures: list[Figure], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    grid = Table(title=title, show_lines=True)
    for column in ("figure", "value (median, min–max)", "baseline in the same run", "ratio", "target", "met"):
        grid.add_column(column, overflow="fold")
    for f in figures:
        grid.add_row(f.name + (f"\n[dim]{f.note}[/dim]" if f.note else ""), f.value, f.baseline,
                     _ratio(f.ratio), f.target,
                     {True: "[green]met[/green]", False: "[red]not met[/red]", None: "reported"}[f.met])
    Console(width=max(160, shutil.get_terminal_size().columns)).print(grid)


def as_markdown(figures: list[Figure], title: str) -> str:
    cell = lambda text: str(text).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = [f"_{title}_", "", "| figure | value (median, min–max) | baseline in the same run | ratio | target | met |",
             "|---|---|---|---|---|---|"]
    for f in figures:
        lines.append("| " + " | ".join(cell(x) for x in (
            f.name + (f" — {f.note}" if f.note else ""), f.value, f.baseline, _ratio(f.ratio), f.target,
            {True: "met", False: "**not met**", None: "reported"}[f.met])) + " |")
    return "\n".join(lines) + "\n"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"{ratio:.2f}×" if ratio >= 0.1 else f"1/{1 / ratio:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                        help="fewer repeats, smaller worlds, a 4-minute latency run (development)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="only these benchmarks (latency, credit, reads, pending, parse, workbook, startup)")
    parser.add_argument("--keep", action="store_true", help="keep the worlds, stores and workbooks made")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    started, clock = datetime.now().astimezone(), time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    options = Options(args.quick, workdir)
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    about = machine()
    results: dict[str, list[Figure]] = {}
    chosen = modules(args.only)
    background = [threading.Thread(target=measure, args=(m, options, results, log), daemon=True)
                  for m in chosen if getattr(m, "BACKGROUND", False)]
    for thread in background:
        thread.start()
    try:
        for module in chosen:
            if not getattr(module, "BACKGROUND", False):
                measure(module, options, results, log)
        for thread in background:
            thread.join()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    wall = time.perf_counter() - clock
    figures = [f for m in chosen for f in results.get(m.__name__.removeprefix("bench.bench_"), [])]
    title = (f"make bench{' --quick' if args.quick else ''} — {started:%Y-%m-%d %H:%M %Z}; {about['os']}, "
             f"{about['cores']} cores, Python {about['python']}, {about['browser']}; wall {wall / 60:.1f} min")
    table(figures, title)
    REPORTS.mkdir(parents=True, exist_ok=True)
    out = REPORTS / f"bench-{started:%Y-%m-%d}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps({
        "started": started.isoformat(), "wall_seconds": wall, "quick": args.quick, "machine": about,
        "figures": [{"figure": f.name, "value": f.value, "baseline": f.baseline, "ratio": f.ratio,
                     "target": f.target, "met": f.met, "note": f.note, "data": f.data} for f in figures],
    }, indent=2, default=str) + "\n", encoding="utf-8")
    markdown = out.with_suffix(".md")
    markdown.write_text(as_markdown(figures, title), encoding="utf-8")
    print(f"JSON copy: {out.relative_to(ROOT)}; the table as Markdown (for the README): {markdown.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
