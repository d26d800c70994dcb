"""Logs: one line per decision and action, with the run id; a JSON file per day under logs/.

Secrets (every password and token in the settings) and 16-digit numbers (NIK, KK) are masked
in the message, in the extra fields and in tracebacks before anything is written, by both
sinks, and control characters in a message (a bank description's `\x1b[…`) are written as
visible escapes (`\x1b`), never obeyed by a terminal. `diagnose` is off everywhere: variable values in tracebacks could hold personal data.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import traceback
from datetime import datetime
from pathlib import Path
from typing import Iterable

from zoneinfo import ZoneInfo

from loguru import logger

from bots.text import visible

SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")
MASK = "***"
JAKARTA = ZoneInfo("Asia/Jakarta")  # the business day of the files, whatever the host TZ
NIK_MASK = "<16 digit>"
_CONSOLE_FORMAT = ("<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> "
                   "<cyan>{extra[bot]}</cyan> {extra[run_id]} | {message}")


class Masker:
    """Replaces known secrets and any 16-digit number (NIK/KK) in a text."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        merged = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(merged, key=len, reverse=True)  # longest first: no partial leftovers
        self._pattern = re.compile("|".join(map(re.escape, self._secrets))) if self._secrets else None

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return SIXTEEN_DIGITS.sub(NIK_MASK, text)

    def value(self, value):
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        if isinstance(value, (int, float, bool)) or value is None:
            return self(str(value)) if isinstance(value, int) and not isinstance(value, bool) else value
        return self(str(value))


class DailyJsonFile:
    """A sink writing one JSON object per line to logs/bots-YYYY-MM-DD.jsonl (by record date)."""

    def __init__(self, folder: Path, masker: Masker):
        self.folder, self.masker = folder, masker
        self._lock = threading.Lock()

    def __call__(self, message) -> None:
        record = message.record
        exc = record["exception"]
        moment = record["time"].astimezone(JAKARTA)
        entry = {
            "time": moment.isoformat(),
            "level": record["level"].name,
            "run_id": record["extra"].get("run_id", "-"),
            "bot": record["extra"].get("bot", "-"),
            "message": self.masker(visible(record["message"])),
            "extra": self.masker.value({k: v for k, v in record["extra"].items() if k not in ("run_id", "bot")}),
            "where": f"{record['name']}:{record['function']}:{record['line']}",
        }
        if exc is not None:
            entry["exception"] = self.masker("".join(traceback.format_exception(exc.type, exc.value, exc.traceback)))
        line = json.dumps(entry, ensure_ascii=False, default=str)
        path = today_log(self.folder, moment)
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")


_masker = Masker()


def setup_logging(logs_dir: Path, secrets: Iterable[str] = (), *, console_level: str = "INFO",
                  console=None) -> Masker:
    """Send logs to the console (masked) and to the day's JSON file; returns the masker."""
    _masker.add(secrets)
    logger.remove()
    logger.configure(extra={"run_id": "-", "bot": "-"})
    def to_console(message: str) -> None:
        stream = console or sys.stderr  # looked up each time: tests swap sys.stderr
        stream.write(_masker(visible(str(message))))
        stream.flush()

    logger.add(to_console, level=console_level, format=_CONSOLE_FORMAT, colorize=False,
               backtrace=False, diagnose=False)
    logger.add(DailyJsonFile(Path(logs_dir), _masker), level="DEBUG", backtrace=False, diagnose=False,
               catch=True)
    return _masker


def mask(text: str) -> str:
    """Mask a text with the secrets known to the logs (for summaries and artifacts)."""
    return _masker(text)


def today_log(logs_dir: Path, now: datetime) -> Path:
    return Path(logs_dir) / f"bots-{now.strftime('%Y-%m-%d')}.jsonl"
