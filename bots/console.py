"""What a person at the terminal sees: progress on long work, then a summary table."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bots.errors import BotError
from bots.logs import mask
from bots.runner import RunResult, run_bot


def run_and_report(bot: str, settings, *, dry_run: bool = False, statements=(), result_json=None) -> int:
    """Run a bot, print its summary; exit code 0 or the error's (raised for the CLI).

    ``result_json``: a path to write the result to as JSON as well (``write_result``)."""
    console = Console(stderr=False)
    interactive = sys.stderr.isatty()
    with _progress(interactive) as track:
        result = run_bot(bot, settings, dry_run=dry_run, statements=statements, progress=track)
    if result_json is not None:
        write_result(result_json, bot, result, dry_run)
    print_summary(console, bot, result, dry_run)
    for problem in result.problems:
        print(f"error: {mask(problem)}", file=sys.stderr)
    return 2 if result.problems else 0


def write_result(path, bot: str, result: RunResult, dry_run: bool = False) -> None:
    """The run's result as JSON (`run --result-json FILE`), masked like the summary: what the
    console shows as a table (a dry run's plan: `detail_header` and `details`)."""
    data = {"bot": bot, "dry_run": dry_run, "counts": result.counts,
            "summary": [[mask(str(label)), mask(str(value))] for label, value in result.summary],
            "detail_header": list(result.detail_header),
            "details": [[mask(str(cell)) for cell in row] for row in result.details],
            "reports": [str(p) for p in result.reports], "problems": [mask(p) for p in result.problems]}
    target = Path(path)
    scratch = target.with_name(f".{target.name}.tmp")
    scratch.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(scratch, target)


def print_summary(console: Console, bot: str, result: RunResult, dry_run: bool = False) -> None:
    title = f"{bot}{' (dry run: nothing changed)' if dry_run else ''}"
    if result.details:
        table = Table(title=title, header_style="bold")
        for column in result.detail_header:
            table.add_column(column)
        for row in result.details:
            table.add_row(*[mask(str(cell)) for cell in row])
        console.print(table)
    summary = Table(show_header=False, title=None if result.details else title)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    for label, value in result.summary:
        summary.add_row(label, mask(str(value)))
    console.print(summary)
    for path in result.reports:  # whole paths, never cut to the terminal's width
        console.print(f"Report: {path}", soft_wrap=True, highlight=False)


@contextmanager
def _progress(interactive: bool):
    if not interactive:
        yield None
        return
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)

    class Task:
        def __init__(self, description: str, total: int):
            self.id = bar.add_task(description, total=total)

        def advance(self, steps: int = 1) -> None:
            bar.advance(self.id, steps)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            bar.remove_task(self.id)

    with bar:
        yield Task


__all__ = ["run_and_report", "print_summary", "write_result", "BotError"]
