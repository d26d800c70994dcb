"""One session per bank user: two runs (two "hosts": one store, each its own VAR_DIR) that use
the same bank credential never overlap their logins, on SQLite (a file lock beside the
database) and on PostgreSQL (an advisory lock). The witness is the mock bank itself: a second
login as the same user ends the first session, and the world counts every session so ended."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest

from bots.errors import LoginInUse
from bots.lock import login_lock
from bots.portals.session import PortalBrowser
from bots.settings import PortalSettings, load_settings
from tests.conftest import ROOT, Browserless, demo_users

# One "host": logs in to BCA, says so, waits for a line, reads the accounts again on the same
# session (attempts=1: an ended session is an error, not a quiet second login), logs out.
_HOST = """
import sys
from bots.errors import LoginInUse
from bots.portals.bank import BankPortal
from bots.portals.session import PortalBrowser
from bots.settings import load_settings

settings = load_settings()
with PortalBrowser(settings, sys.argv[1]) as browser:
    bank = BankPortal(browser, settings.portal("bank_bca"), attempts=1)
    try:
        bank.accounts()
    except LoginInUse as refused:
        print("refused", refused, flush=True)
        sys.exit(3)
    print("in", flush=True)
    sys.stdin.readline()
    bank.accounts()
    print("still in", flush=True)
print("out", flush=True)
"""


def _host(name: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _HOST, name], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _bca_user() -> str:
    return next(u["username"] for u in demo_users() if u["portal"] == "bank_bca")


@pytest.mark.store_backends("postgresql")  # the many-host case; the file lock is the test below's too
def test_two_hosts_with_one_bank_user_take_turns_and_no_session_is_ended(world, bot_env, store_url, tmp_path):
    env = {name: bot_env(world.url, portals=("bank_bca",), DATABASE_URL=store_url, VAR_DIR=str(tmp_path / name),
                         BOTS_LOGIN_WAIT_SECONDS="60") for name in ("host-a", "host-b")}
    first = _host("host-a", env["host-a"])
    second = None
    try:
        assert first.stdout.readline().strip() == "in", first.stderr.read()
        second = _host("host-b", env["host-b"])
        for line in second.stderr:  # the second host waits for the first one's session to end
            if "another run is logged in as its user" in line:
                break
        else:
            pytest.fail(f"host-b never waited: {second.stdout.read()}")
        assert second.poll() is None
        out, err = first.communicate("go\n", timeout=60)
        assert first.returncode == 0, err
        assert out.split("\n")[:2] == ["still in", "out"]  # its session outlived host-b's wait
        out, err = second.communicate("go\n", timeout=60)
        assert second.returncode == 0, err
        assert out.split("\n")[:3] == ["in", "still in", "out"]
    finally:
        for host in (first, second):
            if host is not None and host.poll() is None:
                host.kill()
                host.communicate()
    faults = world.control("faults")["injected"]
    assert faults.get("session_ended_by_login:bank_bca", 0) == 0
    assert _bca_user() not in "".join(p.name for p in tmp_path.rglob("*"))  # not in a lock's name

    # the witness is real: two logins as the same user without the lock end the first session
    password = next(u["password"] for u in demo_users() if u["portal"] == "bank_bca")
    for _ in range(2):
        Browserless(world.url).login("/bank/bca", _bca_user(), password)
    assert world.control("faults")["injected"]["session_ended_by_login:bank_bca"] == 1


def test_a_login_held_too_long_is_refused_within_the_wait_and_names_no_user(store_url, tmp_path):
    settings = load_settings(environ={"DATABASE_URL": store_url, "VAR_DIR": str(tmp_path / "var"),
                                      "BANK_BCA_URL": "http://bank.invalid", "BANK_BCA_USERNAME": "finance.ops",
                                      "BANK_BCA_PASSWORD": "x" * 8, "BOTS_LOGIN_WAIT_SECONDS": "0.3"},
                             root=ROOT)
    portal = settings.portal("bank_bca")
    holder = login_lock(settings, "bank_bca", "finance.ops", now=datetime.now(timezone.utc)).acquire()
    try:
        with PortalBrowser(settings, "run-b") as browser:
            with pytest.raises(LoginInUse, match=r"another run is logged in as this portal's user \(.*\) and did "
                                                  r"not log out within 0.3s") as refused:
                browser.hold_login(portal)
        assert "finance.ops" not in str(refused.value)
        with PortalBrowser(settings, "run-c") as browser:  # another user of the same bank is another lock
            browser.hold_login(PortalSettings("bank_bca", portal.url, "finance.two", "y" * 8))
    finally:
        holder.release()
    with PortalBrowser(settings, "run-d") as browser:  # free again: taken at once, and let go on close
        browser.hold_login(portal)
    login_lock(settings, "bank_bca", "finance.ops", now=datetime.now(timezone.utc)).acquire().release()
