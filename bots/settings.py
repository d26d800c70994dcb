"""Settings, read once at start and validated before any browser starts.

Precedence, lowest first — the one written order every command follows:

    DEFAULTS (below)  <  config/*.toml  <  .env and the environment  <  command-line flags

| setting                | default                    | env                | toml                          |
|------------------------|----------------------------|--------------------|-------------------------------|
| reports_dir            | reports                    | REPORTS_DIR        | paths.reports_dir             |
| logs_dir               | logs                       | LOGS_DIR           | paths.logs_dir                |
| var_dir                | var                        | VAR_DIR            | paths.var_dir                 |
| database_url           | sqlite:///<var_dir>/bots.sqlite3 | DATABASE_URL | paths.database_url            |
| busy_timeout_ms        | 5000                       | BOTS_BUSY_TIMEOUT_MS | store.busy_timeout_ms       |
| portals_base_url       | (none)                     | PORTALS_BASE_URL   | —                             |
| <KEY>_URL/USERNAME/PASSWORD | base URL + prefix     | e.g. OTOMAX_URL    | —                             |
| browser_path           | (resolved, DESIGN §7)      | BOTS_BROWSER       | browser.path                  |
| headless               | true                       | BOTS_HEADLESS      | browser.headless              |
| timeout_ms             | 15000                      | BOTS_TIMEOUT_MS    | browser.timeout_ms            |
| trace                  | on-failure                 | BOTS_TRACE         | browser.trace                 |
| login_wait_seconds     | 120                        | BOTS_LOGIN_WAIT_SECONDS | browser.login_wait_seconds |
| retry_attempts         | 3                          | BOTS_RETRY_ATTEMPTS| retry.attempts                |
| retry_backoff_seconds  | 2.0                        | —                  | retry.backoff_seconds         |
| notify_urls            | []                         | NOTIFY_URLS        | notify.urls                   |
| timezone               | Asia/Jakarta               | —                  | schedule.timezone             |
| misfire_grace_seconds  | 600                        | —                  | schedule.misfire_grace_seconds|
| schedules              | see config/bots.toml       | —                  | schedule.jobs.<bot>           |
| schedule_mode          | scheduler                  | BOTS_SCHEDULE_MODE | schedule.mode                 |
| browser_slots          | 2                          | BOTS_BROWSER_SLOTS | schedule.browser_slots        |
| now                    | (the system clock)         | BOTS_NOW           | —   (replays and tests only)  |
| crash_at               | (never)                    | BOTS_CRASH_AT      | —   (tests only: bots/crashpoints.py) |
| console_url            | (none)                     | CONSOLE_URL        | console.url                   |

`console_url` is where people open the console (`python -m bots console`), e.g.
`https://konsol.example.co.id`: notifications then link to the item's page
(`<console_url>/eskalasi/<id>`) instead of naming a shell command. The console's own
settings (`CONSOLE_SECRET_KEY`, `[console]`) are read by `bots/konsol/config.py`.

`schedule_mode` picks what `python -m bots schedule` starts: `scheduler` (APScheduler, one
host) or `queue` (the Procrastinate worker of bots/worker.py, any number of hosts on one
PostgreSQL; `python -m bots worker` starts it whatever the mode). `browser_slots` is how many
bot runs drive a browser at once across every worker host (queue mode).

`busy_timeout_ms` is how long a store transaction waits for another one's lock before the run
fails with exit 3 (tried again): SQLite's busy timeout, PostgreSQL's `lock_timeout` (and
`statement_timeout`, a minute beyond it). `login_wait_seconds` is how long a run waits for a
portal user another run (any host) is logged in as, where the portal allows one session per
user (the banks): past it, that portal counts as unavailable this run (bots/portals/session.py).

Bot issues add their own tables (`[reconcile_payments]`…) to `config/*.toml`; they are kept
in `Settings.sections` and validated by the bot that owns them.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote, urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bots.errors import ConfigError

#: Portal keys of DESIGN §4 (suppliers are `supplier_<code>`), and their URL prefixes.
FIXED_PORTALS = ("bank_bca", "bank_mandiri", "bank_bri", "bank_bni", "otomax", "indiana",
                 "aggregator", "dukcapil", "ismara", "helpdesk", "gateway")
_SUPPLIER = re.compile(r"^supplier_[a-z0-9_]+$")
_EVERY = re.compile(r"^(\d+)\s*(s|m|h|d)$")
ENV_PREFIXES = ("BOTS_", "PORTALS_", "DATABASE_URL", "REPORTS_DIR", "LOGS_DIR", "VAR_DIR",
                "NOTIFY_URLS", "BANK_", "OTOMAX_", "SUPPLIER_", "INDIANA_", "AGGREGATOR_",
                "DUKCAPIL_", "ISMARA_", "HELPDESK_", "CONSOLE_", "GATEWAY_")


def portal_prefix(key: str) -> str:
    """bank_bca → /bank/bca, supplier_mitra → /supplier/mitra, otomax → /otomax."""
    for family in ("bank", "supplier"):
        if key.startswith(family + "_"):
            return f"/{family}/{key[len(family) + 1:]}"
    return "/" + key


def is_portal_key(key: str) -> bool:
    return key in FIXED_PORTALS or bool(_SUPPLIER.match(key))


@dataclass(frozen=True)
class PortalSettings:
    """Where a portal is and who we are there."""

    key: str
    url: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Schedule:
    """When one bot runs: `every` seconds, or a crontab line (Jakarta time)."""

    bot: str
    every_seconds: int | None = None
    cron: str | None = None


@dataclass(frozen=True)
class Settings:
    reports_dir: Path
    logs_dir: Path
    var_dir: Path
    database_url: str
    portals_base_url: str | None
    browser_path: str | None
    headless: bool
    timeout_ms: int
    trace: str
    retry_attempts: int
    retry_backoff_seconds: float
    notify_urls: tuple[str, ...] = field(repr=False)
    timezone: str
    misfire_grace_seconds: int
    schedules: dict[str, Schedule]
    now: datetime | None
    crash_at: str | None
    env: Mapping[str, str] = field(repr=False)
    sections: Mapping[str, Any] = field(repr=False)
    console_url: str | None = None
    busy_timeout_ms: int = 5000
    login_wait_seconds: float = 120.0
    schedule_mode: str = "scheduler"
    browser_slots: int = 2

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def lock_dir(self) -> Path:
        """Where the run locks are: beside the SQLite database file (the lock follows the
        store, so every process on that file shares them), else under ``var_dir``."""
        database = sqlite_file(self.database_url)
        if database is None:
            return self.var_dir / "locks"
        return database.parent / f"{database.name}.locks"

    def portal(self, key: str) -> PortalSettings:
        """The URL and credentials of one portal; ConfigError naming the key if incomplete."""
        upper = key.upper()
        url = self.env.get(f"{upper}_URL")
        if url:
            _check_url(f"{upper}_URL", url)
        elif self.portals_base_url:
            url = self.portals_base_url.rstrip("/") + portal_prefix(key)
        else:
            raise ConfigError(f"{upper}_URL", "the portal's URL (or PORTALS_BASE_URL for all portals)")
        username = self.env.get(f"{upper}_USERNAME", "").strip()
        password = self.env.get(f"{upper}_PASSWORD", "")
        if not username:
            raise ConfigError(f"{upper}_USERNAME", f"the user name for portal {key}")
        if not password:
            raise ConfigError(f"{upper}_PASSWORD", f"the password for portal {key}")
        return PortalSettings(key, url.rstrip("/"), username, password)

    def configured_portals(self) -> list[str]:
        """Portal keys that have a user name set (the ones a portal check can try)."""
        keys = {k[: -len("_USERNAME")].lower() for k, v in self.env.items()
                if k.endswith("_USERNAME") and v.strip()}
        return sorted(k for k in keys if is_portal_key(k))

    def secrets(self) -> list[str]:
        """Every secret value the logs must never show (passwords, tokens, URL credentials)."""
        found = [v for k, v in self.env.items()
                 if v and re.search(r"(PASSWORD|TOKEN|SECRET|API_KEY|SECRET_KEY)$", k)]
        for url in self.notify_urls:
            parsed = urlparse(url)
            if parsed.password:
                found.append(parsed.password)
        found += [quote(s, safe="") for s in found]
        return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


DEFAULTS: dict[str, Any] = {
    "paths": {"reports_dir": "reports", "logs_dir": "logs", "var_dir": "var"},
    "browser": {"headless": True, "timeout_ms": 15000, "trace": "on-failure", "login_wait_seconds": 120.0},
    "store": {"busy_timeout_ms": 5000},
    "retry": {"attempts": 3, "backoff_seconds": 2.0},
    "notify": {"urls": []},
    "schedule": {"timezone": "Asia/Jakarta", "misfire_grace_seconds": 600, "jobs": {}, "mode": "scheduler",
                 "browser_slots": 2},
}


def load_settings(*, env_file: str | Path | None = None, config_dir: str | Path | None = None,
                  environ: Mapping[str, str] | None = None, overrides: Mapping[str, str] | None = None,
                  root: Path | None = None) -> Settings:
    """Read defaults, config/*.toml, .env and the environment, then flags; validate all.

    `env_file` defaults to $BOTS_ENV_FILE, then `.env` if present. `overrides` are flags,
    given in environment-variable form (`{"PORTALS_BASE_URL": ...}`).
    """
    environ = dict(os.environ if environ is None else environ)
    root = Path(root or Path.cwd())
    config_dir = Path(config_dir or environ.get("BOTS_CONFIG_DIR") or root / "config")
    toml = _merge(DEFAULTS, _read_toml(config_dir))

    env_path = env_file or environ.get("BOTS_ENV_FILE") or (root / ".env")
    file_env: dict[str, str] = {}
    if env_path and Path(env_path).is_file():
        file_env = {k: v or "" for k, v in dotenv_values(env_path).items()}
    elif env_file or environ.get("BOTS_ENV_FILE"):
        raise ConfigError("BOTS_ENV_FILE", "an existing .env file", str(env_path))
    # the real environment beats the .env file (python-dotenv's own rule: override=False)
    env = {**file_env, **{k: v for k, v in environ.items() if k.startswith(ENV_PREFIXES)},
           **dict(overrides or {})}

    paths, browser, retry, schedule = toml["paths"], toml["browser"], toml["retry"], toml["schedule"]
    var_dir = _path(env.get("VAR_DIR") or paths["var_dir"], root)
    database_url = env.get("DATABASE_URL") or paths.get("database_url") or f"sqlite:///{var_dir / 'bots.sqlite3'}"
    if "://" not in database_url:
        raise ConfigError("DATABASE_URL", "an SQLAlchemy URL like sqlite:///var/bots.sqlite3", database_url)
    base_url = env.get("PORTALS_BASE_URL") or None
    if base_url:
        _check_url("PORTALS_BASE_URL", base_url)
    tz = schedule["timezone"]
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("schedule.timezone", "an IANA time zone like Asia/Jakarta", tz) from None
    trace = env.get("BOTS_TRACE") or browser["trace"]
    if trace not in ("on-failure", "off"):
        raise ConfigError("browser.trace", '"on-failure" or "off"', trace)
    notify = env.get("NOTIFY_URLS")
    notify_urls = tuple(u for u in re.split(r"[\s,]+", notify) if u) if notify else tuple(toml["notify"]["urls"])
    for url in notify_urls:
        if "://" not in url:
            raise ConfigError("NOTIFY_URLS", "apprise URLs like json://user:pass@host/path", "<hidden>")
    now = None
    if env.get("BOTS_NOW"):
        now = _datetime("BOTS_NOW", env["BOTS_NOW"], ZoneInfo(tz))
    console_url = env.get("CONSOLE_URL") or toml.get("console", {}).get("url") or None
    if console_url:
        _check_url("CONSOLE_URL", console_url)
    schedule_mode = env.get("BOTS_SCHEDULE_MODE") or schedule["mode"]
    if schedule_mode not in ("scheduler", "queue"):
        raise ConfigError("schedule.mode", '"scheduler" (one host) or "queue" (several hosts, PostgreSQL)',
                          schedule_mode)
    browser_path = env.get("BOTS_BROWSER") or browser.get("path") or None
    if browser_path and not Path(browser_path).is_file():
        raise ConfigError("BOTS_BROWSER", "the path of a Chromium executable", browser_path)

    return Settings(
        reports_dir=_path(env.get("REPORTS_DIR") or paths["reports_dir"], root),
        logs_dir=_path(env.get("LOGS_DIR") or paths["logs_dir"], root),
        var_dir=var_dir,
        database_url=database_url,
        portals_base_url=base_url.rstrip("/") if base_url else None,
        browser_path=browser_path,
        headless=_bool("BOTS_HEADLESS", env.get("BOTS_HEADLESS", browser["headless"])),
        timeout_ms=_int("BOTS_TIMEOUT_MS", env.get("BOTS_TIMEOUT_MS", browser["timeout_ms"]), 100),
        trace=trace,
        retry_attempts=_int("BOTS_RETRY_ATTEMPTS", env.get("BOTS_RETRY_ATTEMPTS", retry["attempts"]), 1),
        retry_backoff_seconds=_float("retry.backoff_seconds", retry["backoff_seconds"]),
        notify_urls=notify_urls,
        timezone=tz,
        misfire_grace_seconds=_int("schedule.misfire_grace_seconds", schedule["misfire_grace_seconds"], 1),
        schedules=_schedules(schedule.get("jobs", {})),
        now=now,
        crash_at=_crash_point(env.get("BOTS_CRASH_AT")),
        env=env,
        sections={k: v for k, v in toml.items() if k not in DEFAULTS},
        console_url=console_url.rstrip("/") if console_url else None,
        busy_timeout_ms=_int("BOTS_BUSY_TIMEOUT_MS", env.get("BOTS_BUSY_TIMEOUT_MS", toml["store"]["busy_timeout_ms"]), 1),
        login_wait_seconds=_float("BOTS_LOGIN_WAIT_SECONDS",
                                  env.get("BOTS_LOGIN_WAIT_SECONDS", browser["login_wait_seconds"])),
        schedule_mode=schedule_mode,
        browser_slots=_int("BOTS_BROWSER_SLOTS", env.get("BOTS_BROWSER_SLOTS", schedule["browser_slots"]), 1),
    )


def clear_environment(environ: dict[str, str]) -> None:
    """Remove every variable of ours (tests start from a clean slate)."""
    for key in [k for k in environ if k.startswith(ENV_PREFIXES)]:
        del environ[key]


# -- readers that name the key they reject -------------------------------------------------

def _read_toml(folder: Path) -> dict:
    merged: dict = {}
    if not folder.is_dir():
        return merged
    for path in sorted(folder.glob("*.toml")):
        try:
            merged = _merge(merged, tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(path.name, f"valid TOML ({exc})", source=str(path)) from None
    return merged


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None for memory or another database)."""
    scheme, _, rest = url.partition(":///")
    if scheme.split("+", 1)[0] != "sqlite" or not rest:
        return None
    path = rest.split("?", 1)[0]
    if path in ("", ":memory:") or path.startswith("file:"):
        return None
    return Path(path).expanduser().absolute()


def _check_url(key: str, url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(key, "an http:// or https:// URL", url)


def _path(value: str, root: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else root / path


def _bool(key: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "ya"):
        return True
    if text in ("0", "false", "no", "off", "tidak"):
        return False
    raise ConfigError(key, "true or false", value)


def _int(key: str, value, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(key, f"a whole number ≥ {minimum}", value) from None
    if number < minimum:
        raise ConfigError(key, f"a whole number ≥ {minimum}", value)
    return number


def _float(key: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(key, "a number of seconds", value) from None
    if number < 0:
        raise ConfigError(key, "a number of seconds ≥ 0", value)
    return number


def _datetime(key: str, value: str, tz: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(key, "an ISO 8601 time like 2026-11-22T09:15:00+07:00", value) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _crash_point(spec: str | None) -> str | None:
    from bots.crashpoints import POINTS

    if not spec:
        return None
    point, _, nth = spec.partition("@")
    if point not in POINTS or (nth and not nth.isdigit()):
        raise ConfigError("BOTS_CRASH_AT", f"one of {', '.join(POINTS)}, optionally @N", spec)
    return spec


def parse_every(key: str, text: str) -> int:
    """`30s`, `2m`, `1h`, `1d` → seconds."""
    match = _EVERY.match(str(text).strip())
    if not match or int(match.group(1)) == 0:
        raise ConfigError(key, "an interval like 30s, 2m, 1h", text)
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _schedules(jobs: dict) -> dict[str, Schedule]:
    from apscheduler.triggers.cron import CronTrigger  # only to validate the crontab line

    out = {}
    for bot, spec in jobs.items():
        key = f"schedule.jobs.{bot}"
        if not isinstance(spec, dict) or ("every" in spec) == ("cron" in spec):
            raise ConfigError(key, 'exactly one of every = "2m" or cron = "0 8-17 * * mon-sat"', spec)
        if "every" in spec:
            out[bot] = Schedule(bot, every_seconds=parse_every(key + ".every", spec["every"]))
        else:
            try:
                CronTrigger.from_crontab(spec["cron"])
            except ValueError as exc:
                raise ConfigError(key + ".cron", f"a crontab line (minute hour day month weekday): {exc}",
                                  spec["cron"]) from None
            out[bot] = Schedule(bot, cron=spec["cron"])
    return out
