"""The errors of the bots, in two families, and the exit code each ends a run with.

    BotError                         (exit 1: unexpected)
    ├── BusinessError                bad input: never retried, nothing acted on (exit 2)
    │   ├── ConfigError              a setting is missing or malformed (names the key)
    │   ├── InputFileError           a file we read is malformed (names file, line, column)
    │   ├── UnknownBot               no bot of that name (or not built yet)
    │   └── ActionRefused            a portal said no to an action (its own words): the
    │                                journal records it `refused` and a person takes the item
    ├── ApplicationError             the world misbehaved: retried, then exit 3
    │   ├── PortalUnavailable        a portal did not answer, errored or is in maintenance
    │   │   ├── SessionExpired       the portal logged us out (log in again, re-check, act)
    │   │   └── LoginInUse           another run is logged in as the portal's one-session user
    │   ├── StoreUnavailable         the database is locked or unreachable
    │   │   └── StoreConflict        another process wrote the same row at the same moment
    │   └── LockLost                 the run's lock (or a row's ownership) was lost: stop
    │                                before acting (fencing)
    └── RunLocked                    another run of the same bot holds the lock (exit 4)

Page objects translate Playwright errors into PortalUnavailable at their boundary; bots
never catch ``playwright.*``. The CLI maps these to exit codes in one place.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_PORTAL_DOWN = 3
EXIT_LOCKED = 4


class BotError(Exception):
    """Root of every error the bots raise on purpose."""

    exit_code = EXIT_UNEXPECTED


class BusinessError(BotError):
    """Bad input or configuration: a person must fix something; retrying will not help."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(BusinessError):
    """A setting is missing or malformed."""

    def __init__(self, key: str, expected: str, got: object | None = None, source: str | None = None):
        self.key, self.expected, self.got, self.source = key, expected, got, source
        where = f" (in {source})" if source else ""
        shown = "" if got is None else f", got {got!r}"
        super().__init__(f"setting {key}{where}: expected {expected}{shown}")


class InputFileError(BusinessError):
    """A file we read is malformed; names the file, the line and the column (or cell)."""

    def __init__(self, path: str, message: str, line: int | None = None,
                 column: str | int | None = None, value: object | None = None):
        self.path, self.line, self.column, self.value = path, line, column, value
        self.reason = message
        place = str(path)
        if line is not None:
            place += f", line {line}"
        if column is not None:
            place += f", column {column}"
        shown = "" if value is None else f" (value {value!r})"
        super().__init__(f"{place}: {message}{shown}")


class UnknownBot(BusinessError):
    """No bot by that name, or one whose issue has not landed yet."""


class ActionRefused(BusinessError):
    """A portal refused an action (unknown agent, closed ticket, a refused form, Rp 0).

    Page objects raise it with the portal's own words; nothing happened at the portal. The
    journal ends the action ``refused`` and the item goes to a person; the run goes on.
    """

    def __init__(self, portal: str, words: str):
        self.portal, self.words = portal, words
        super().__init__(f"portal {portal} refused: {words}")


class ApplicationError(BotError):
    """The world misbehaved (portal down, timeout, locked database): retried, then exit 3."""

    exit_code = EXIT_PORTAL_DOWN


class PortalUnavailable(ApplicationError):
    """A portal did not answer, answered with an error, or shows its maintenance page."""

    def __init__(self, portal: str, message: str):
        self.portal = portal
        super().__init__(f"portal {portal}: {message}")


class SessionExpired(PortalUnavailable):
    """The portal ended our session; the caller logs in again and re-checks before acting."""


class LoginInUse(PortalUnavailable):
    """Another run (any host) stayed logged in as this portal's user for longer than we wait
    (``login_wait_seconds``), on a portal that allows one session per user: logging in would
    end its session, so this run counts the portal as unavailable (not retried within the run)."""


class StoreUnavailable(ApplicationError):
    """The store could not be written (locked by another connection, or unreachable)."""
    outcome = "store_unavailable"  # exit 3 like a portal that stays down, but named for what it is


class StoreConflict(StoreUnavailable):
    """A write hit a row another process had just written under the same unique key (on
    PostgreSQL, where writers do not queue): nothing of this transaction was kept; try again."""


class LockLost(ApplicationError):
    """This run no longer holds its lock, or another owner took over a journal row: a run
    that cannot prove it is the only one acting stops before it acts (fencing)."""


class RunLocked(BotError):
    """Another run of the same bot holds its lock."""

    exit_code = EXIT_LOCKED
