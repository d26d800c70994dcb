"""Jalankan: a run now, or a dry run, each in a process of its own exactly as the scheduler
starts one (`python -m bots run BOT`, bots/scheduler.py `run_command`), refused while the bot's
run lock is held; a handle the web polls for progress; a dry run's plan as rows.

    launcher = Launcher(settings, env_args=["--config-dir", "config"])   # one per web app
    launch = launcher.start("reconcile_payments", by="ani", dry_run=True)  # RunLocked if held
    status = launcher.status(launch.id)      # poll: state, run id, exit code, tail, plan
    status = launcher.wait(launch.id, 120)   # or wait for the end
    launcher.rerun(store, run_id, by="ani")  # "Jalankan ulang" of a recorded run
    holder = who_holds(settings, bot)        # None, or who holds the lock (for Ringkasan too)

Each launch keeps its files under `<var>/konsol/launches/<id>/`: `launch.json` (who started
it, when, the command line), `stdout.txt`, `stderr.txt` (the run's log lines, masked as logs
are) and `result.json` (`run --result-json`: counts, summary, the plan's rows, reports). A
run is recorded in the runs table by the child itself, like every run; the console's person
is in `launch.json` (the runs table has no one: neither has a run typed at a terminal).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from bots.errors import RunLocked
from bots.konsol.services import NotFound
from bots.lock import _alive, lock_holder
from bots.logs import Masker
from bots.runner import OUTCOMES, load_bot
from bots.scheduler import run_command
from bots.settings import Settings
from bots.store import Store
from bots.store.models import runs as runs_table

__all__ = ["Launch", "LaunchStatus", "Launcher", "Plan", "who_holds"]

#: The console sink's line (bots/logs.py): time, level, bot, run id | message.
_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (\w+)\s+(\S+) (\S+) \| (.*)$")
_TAIL = 40


def who_holds(settings: Settings, bot: str) -> dict | None:
    """Who holds ``bot``'s run lock now (read only, bots/lock.py ``lock_holder``), or None."""
    return lock_holder(settings, bot)


@dataclass(frozen=True)
class Plan:
    """A run's table (a dry run's plan: one row per action it would take), as the terminal shows it."""

    header: list[str]
    rows: list[dict[str, str]]


@dataclass(frozen=True)
class LaunchStatus:
    """What the web shows while a launch runs and after: ``state`` is `running` or `finished`
    (`lost`: started by an earlier console process, its end not seen)."""

    id: str
    bot: str
    dry_run: bool
    by: str
    pid: int
    started_at: datetime
    state: str
    run_id: str | None
    exit_code: int | None
    outcome: str | None          # ok, dry_run, bad_input, portal_down, locked, error (exit codes' names)
    progress: str                # the last log line's message
    tail: list[str]              # the last lines of its output (log lines, then the summary)
    error: str | None            # the command's own error line (`error: …`), when it ended so
    plan: Plan | None            # the run's table (a dry run's plan), once it ended
    summary: list[tuple[str, str]] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state != "running"


@dataclass
class Launch:
    """One started run: its process and its folder."""

    id: str
    bot: str
    dry_run: bool
    by: str
    argv: list[str]
    pid: int
    started_at: datetime
    folder: Path
    process: subprocess.Popen | None = None


class Launcher:
    """Starts runs as the scheduler does and keeps their handles (one per web app process).

    ``env_args`` are the global flags the console itself was started with (``--env-file``,
    ``--config-dir``, ``--portals-url``), passed on to every run as the scheduler passes its
    own; the child's environment is this process's with the settings' variables on top, and
    its working folder this process's, so it reads the same settings.
    """

    def __init__(self, settings: Settings, *, env_args: list[str] | tuple[str, ...] = (), cwd: Path | None = None):
        self.settings = settings
        self.env_args = list(env_args)
        self.cwd = Path(cwd or Path.cwd())
        self.root = settings.var_dir / "konsol" / "launches"
        self._launches: dict[str, Launch] = {}
        self._masker = Masker(settings.secrets())

    def start(self, bot: str, *, by: str, dry_run: bool = False, statements: list[Path] | tuple[Path, ...] = (),
              account: str | None = None, accept_old_statement: bool = False) -> Launch:
        """Start one run of ``bot`` now (``dry_run``: the plan only). UnknownBot for a bot we do
        not have; RunLocked (naming the holder) while another run of it holds the lock."""
        load_bot(bot)
        holder = who_holds(self.settings, bot)
        if holder is not None:
            error = RunLocked(f"another run of {bot} is in progress ({holder['detail']}); try again when it ends")
            error.bot, error.holder_pid, error.holder_since = bot, holder["pid"], holder["since"]
            raise error
        now = datetime.now(timezone.utc)
        launch_id = f"{now:%Y%m%d-%H%M%S}-{bot}-{uuid.uuid4().hex[:6]}"
        folder = self.root / launch_id
        folder.mkdir(parents=True)
        argv = run_command(bot, self.env_args)
        argv += ["--dry-run"] if dry_run else []
        for path in statements:
            argv += ["--statement", str(path)]
        argv += ["--account", account] if account else []
        argv += ["--accept-old-statement"] if accept_old_statement else []
        argv += ["--result-json", str(folder / "result.json")]
        with open(folder / "stdout.txt", "wb") as out, open(folder / "stderr.txt", "wb") as err:
            process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=self.cwd,
                                       env={**os.environ, **self.settings.env, "COLUMNS": "200"},
                                       start_new_session=True)  # a console stopped with Ctrl-C lets its runs finish
        launch = Launch(launch_id, bot, dry_run, by, argv, process.pid, now, folder, process)
        (folder / "launch.json").write_text(json.dumps(
            {"bot": bot, "dry_run": dry_run, "by": by, "argv": argv, "pid": process.pid,
             "started_at": now.isoformat()}, ensure_ascii=False, indent=1), encoding="utf-8")
        self._launches[launch_id] = launch
        return launch

    def rerun(self, store: Store, run_id: str, *, by: str) -> Launch:
        """"Jalankan ulang": the same bot again (a dry run again if that run was one). NotFound
        for an unknown run or one that is not a bot's (`escalations`, `esim_import`…)."""
        with store.read() as conn:
            record = conn.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).first()
        if record is None:
            raise NotFound(f"no run {run_id!r}")
        try:
            load_bot(record.bot)
        except Exception:  # noqa: BLE001 - UnknownBot: a command's record, not a bot's
            raise NotFound(f"run {run_id} is {record.bot}, not a bot's run: nothing to run again") from None
        return self.start(record.bot, by=by, dry_run=record.dry_run)

    def get(self, launch_id: str) -> Launch:
        """A launch of this process, or one an earlier console process started; NotFound else."""
        if launch_id in self._launches:
            return self._launches[launch_id]
        folder = self.root / launch_id
        if "/" in launch_id or ".." in launch_id or not (folder / "launch.json").is_file():
            raise NotFound(f"no launch {launch_id!r}")
        note = json.loads((folder / "launch.json").read_text(encoding="utf-8"))
        return Launch(launch_id, note["bot"], note["dry_run"], note["by"], note["argv"], note["pid"],
                      datetime.fromisoformat(note["started_at"]), folder)

    def launches(self) -> list[LaunchStatus]:
        """This process's launches, newest first."""
        return [self.status(i) for i in sorted(self._launches, key=lambda i: self._launches[i].started_at,
                                                reverse=True)]

    def wait(self, launch_id: str, timeout: float | None = None) -> LaunchStatus:
        """Wait for the launch to end (subprocess.TimeoutExpired after ``timeout`` seconds)."""
        launch = self.get(launch_id)
        if launch.process is not None:
            launch.process.wait(timeout)
        return self.status(launch_id)

    def status(self, launch_id: str) -> LaunchStatus:
        launch = self.get(launch_id)
        code = launch.process.poll() if launch.process is not None else None
        if launch.process is not None:
            state = "running" if code is None else "finished"
        else:
            state = "running" if _alive(launch.pid) else "lost"
        lines = [self._masker(line) for line in _read_lines(launch.folder / "stderr.txt")]
        run_id, progress, error = None, "", None
        for line in lines:
            found = _LOG_LINE.match(line)
            if found:
                run_id = run_id or (found[3] if found[3] != "-" else None)
                progress = found[4]
            elif line.startswith(("error: ", "unexpected error: ")):
                error = line.split(": ", 1)[1]
        out = [self._masker(line) for line in _read_lines(launch.folder / "stdout.txt")]
        result = _read_json(launch.folder / "result.json") if state != "running" else None
        plan = None
        if result and result.get("details"):
            header = result.get("detail_header") or []
            plan = Plan(header, [dict(zip(header, row)) for row in result["details"]])
        outcome = None if code is None else OUTCOMES.get(code, "error")
        if outcome == "ok" and launch.dry_run:
            outcome = "dry_run"
        return LaunchStatus(
            launch.id, launch.bot, launch.dry_run, launch.by, launch.pid, launch.started_at, state, run_id, code,
            outcome, progress, list(deque(lines + out, maxlen=_TAIL)), error, plan,
            summary=[(label, value) for label, value in (result or {}).get("summary", [])],
            counts=(result or {}).get("counts", {}), reports=(result or {}).get("reports", []),
            problems=(result or {}).get("problems", []))


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

