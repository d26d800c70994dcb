"""People of the console: personal accounts with a role, argon2-hashed passwords.

    python -m bots users add NAME --role cs|finance|grapari|supervisor
    python -m bots users list
    python -m bots users disable NAME

`users add` reads the password from standard input when it is not a terminal (one line), and
otherwise generates one and prints it once: it is never stored, only its argon2id hash.
"""

from __future__ import annotations

import getpass
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bots.clock import clock_for
from bots.errors import BusinessError
from bots.konsol import audit
from bots.konsol.roles import ROLES
from bots.konsol.tables import konsol_users
from bots.store import Store

LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10
# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): a login stays well under a
# second on a small shared host; the parameters are in each hash, so raising them later still verifies.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Checked when the login name is unknown, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


@dataclass(frozen=True)
class Person:
    login: str
    role: str
    active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    last_login_at: datetime | None


def _person(row) -> Person:
    return Person(row.login, row.role, bool(row.active), row.created_at, row.created_by, row.disabled_at,
                  row.last_login_at)


def add_person(store: Store, login: str, role: str, password: str, now: datetime, by: str) -> Person:
    """A new active account; BusinessError for a bad or taken name, an unknown role, a short password."""
    if not LOGIN.match(login):
        raise BusinessError(f"user name {login!r}: 2-32 characters, lower-case letters, digits, . _ - "
                            "(starting with a letter or digit)")
    if role not in ROLES:
        raise BusinessError(f"role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise BusinessError(f"the password must have at least {MIN_PASSWORD} characters")
    with store.write() as conn:
        if conn.execute(sa.select(konsol_users.c.id).where(konsol_users.c.login == login)).first():
            raise BusinessError(f"user {login!r} already exists (users list shows them)")
        conn.execute(konsol_users.insert().values(login=login, role=role, password_hash=_HASHER.hash(password),
                                                  active=True, created_at=now, created_by=by))
    audit.record(store, now, by, "user_added", object=f"user {login}", after=f"{role}, aktif")
    return person(store, login)


def person(store: Store, login: str) -> Person | None:
    with store.read() as conn:
        row = conn.execute(sa.select(konsol_users).where(konsol_users.c.login == login)).first()
    return None if row is None else _person(row)


def people(store: Store) -> list[Person]:
    with store.read() as conn:
        return [_person(r) for r in conn.execute(sa.select(konsol_users).order_by(konsol_users.c.login))]


def disable_person(store: Store, login: str, now: datetime, by: str) -> Person:
    """The account can no longer log in, and its open sessions end at their next request."""
    found = person(store, login)
    if found is None:
        raise BusinessError(f"no user {login!r} (users list shows them)")
    if found.active:
        with store.write() as conn:
            conn.execute(konsol_users.update().where(konsol_users.c.login == login).values(
                active=False, disabled_at=now))
        audit.record(store, now, by, "user_disabled", object=f"user {login}", before="aktif", after="nonaktif")
    return person(store, login)


def check_password(store: Store, login: str, password: str) -> Person | None:
    """The active person with that name and password, or None (same work for an unknown name)."""
    with store.read() as conn:
        row = conn.execute(sa.select(konsol_users).where(konsol_users.c.login == login)).first()
    try:
        _HASHER.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row.active:
        return None
    return _person(row)


def logged_in(store: Store, login: str, now: datetime) -> None:
    with store.write() as conn:
        conn.execute(konsol_users.update().where(konsol_users.c.login == login).values(last_login_at=now))


def new_password() -> str:
    """A generated password people can type: 4 groups of 4 letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


# -- the terminal commands -------------------------------------------------------------------------

def _store(settings) -> Store:
    store = Store(settings.database_url)
    store.migrate()
    return store


def cli_add(settings, login: str, role: str, stdin=None) -> int:
    """`users add`: the password from stdin (not a terminal), or generated and printed once."""
    stdin = stdin or sys.stdin
    typed = "" if stdin.isatty() else stdin.readline().rstrip("\r\n")
    password = typed or new_password()
    store = _store(settings)
    try:
        add_person(store, login, role, password, clock_for(settings).now(), f"cli:{getpass.getuser()}")
    finally:
        store.dispose()
    print(f"user {login} added ({role})")
    if not typed:
        print(f"password (shown once, give it to {login} in person): {password}")
    return 0


def cli_list(settings) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from bots.konsol.format import wib

    store = _store(settings)
    try:
        found = people(store)
    finally:
        store.dispose()
    table = Table(title="Pengguna konsol", header_style="bold")
    for column in ("Nama pengguna", "Peran", "Aktif", "Dibuat", "Oleh", "Masuk terakhir"):
        table.add_column(column)
    for p in found:
        table.add_row(*map(escape, (p.login, p.role, "ya" if p.active else "tidak", wib(p.created_at), p.created_by,
                                    wib(p.last_login_at) if p.last_login_at else "-")))
    Console().print(table if found else "no users yet: python -m bots users add NAME --role ROLE")
    return 0


def cli_disable(settings, login: str) -> int:
    store = _store(settings)
    try:
        disable_person(store, login, clock_for(settings).now(), f"cli:{getpass.getuser()}")
    finally:
        store.dispose()
    print(f"user {login} disabled: no new login, open sessions end at their next request")
    return 0
