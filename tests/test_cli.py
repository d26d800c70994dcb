"""The command line: help, exit codes, the one-run-at-a-time lock, summaries, docs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from bots.cli import build_parser
from bots.errors import UnknownBot
from bots.runner import BOTS, load_bot
from tests.conftest import ROOT, run_cli

#: Every command the CLI has now (so a new one is checked for its --help and README section too).
COMMANDS = sorted(next(a for a in build_parser()._actions if a.dest == "command").choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    done = subprocess.run([sys.executable, "-m", "bots", command, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0
    assert "usage: python -m bots" in done.stdout and command in done.stdout


def test_every_command_has_a_readme_section():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert {"run", "schedule", "portals", "demo", "escalations", "esim"} <= set(COMMANDS)
    for command in COMMANDS:
        assert re.search(rf"^#+ .*`python -m bots {command}", readme, re.M), f"README has no section for {command}"
    for target in ("make demo", "make test", "make lint", "make portals", "make schedule", "make bench"):
        assert target in readme


def test_unknown_bot_exits_2_naming_every_bot_and_every_bot_is_built(bot_env, shared_world):
    done = run_cli("run", "nonsense", env=bot_env(shared_world.url))
    assert done.returncode == 2 and "no bot named 'nonsense'" in done.stderr
    assert all(bot in done.stderr for bot in BOTS), done.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for bot in BOTS:
        module = load_bot(bot)  # UnknownBot ("not built yet") for a listed bot with no module
        assert callable(module.run) and callable(module.required_portals), bot
        assert f"| `{bot}` |" in readme, f"README's bot table has no row for {bot}"


def test_a_listed_bot_not_built_yet_is_named_as_such(monkeypatch):
    monkeypatch.setitem(BOTS, "not_yet", "a bot to come (issue 99)")
    with pytest.raises(UnknownBot, match=r"bot not_yet is not built yet: a bot to come \(issue 99\)") as caught:
        load_bot("not_yet")
    assert caught.value.exit_code == 2


def test_a_bad_setting_exits_2_naming_the_key_before_any_browser(bot_env, shared_world):
    done = run_cli("run", "portal_check", env=bot_env(shared_world.url, BOTS_TIMEOUT_MS="soon"))
    assert done.returncode == 2
    assert "BOTS_TIMEOUT_MS" in done.stderr and "whole number" in done.stderr
    done = run_cli("run", "portal_check", env=bot_env("ftp://nowhere"))
    assert done.returncode == 2 and "PORTALS_BASE_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_portal_check_run_prints_a_summary_and_records_the_run(bot_env, shared_world, tmp_path):
    done = run_cli("run", "portal_check", env=bot_env(shared_world.url, portals=("otomax", "bank_bca")))
    assert done.returncode == 0, done.stderr
    assert "Portals checked" in done.stdout and "otomax" in done.stdout and "GAGAL" not in done.stdout
    from bots.store import Store

    from tests.stores import store_url_of

    store = Store(store_url_of(tmp_path))
    last = store.last_run("portal_check")
    assert last.outcome == "ok" and last.exit_code == 0 and last.counts["ok"] == last.counts["portals"] == 2


def test_a_portal_in_maintenance_exits_3_with_artifacts(bot_env, world, tmp_path):
    world.post("/__mock/faults", {"maintenance": True, "portals": ["otomax"]})
    done = run_cli("run", "portal_check", env=bot_env(world.url, portals=("otomax", "helpdesk")))
    assert done.returncode == 3, done.stderr
    assert "otomax" in done.stderr
    shots = list((tmp_path / "reports" / "artifacts").glob("*/*otomax.png"))
    assert shots, "a screenshot of the failing portal is kept"
    assert "Sedang Pemeliharaan" in shots[0].with_suffix(".html").read_text()


@pytest.mark.sqlite_store  # waits for the lock's holder note beside the SQLite file
def test_second_concurrent_run_exits_4_at_once_and_a_killed_holder_frees_the_lock(bot_env, world):
    world.post("/__mock/faults", {"latency_ms": 1000})  # the first run takes a while (it is killed below)
    env = bot_env(world.url, portals=("otomax", "helpdesk", "bank_bca", "bank_bri"))
    first = subprocess.Popen([sys.executable, "-m", "bots", "run", "portal_check"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_holder(env)
        second = run_cli("run", "portal_check", env=env, timeout=30)
        assert second.returncode == 4
        assert first.poll() is None, "the second run waited for the first to end instead of being refused"
        assert f"pid {first.pid}" in second.stderr and "in progress" in second.stderr
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        world.post("/__mock/faults", {})
        third = run_cli("run", "portal_check", env=env)
        assert third.returncode == 0, third.stderr  # the lock died with its holder
    finally:
        if first.poll() is None:
            first.kill()


def _wait_for_holder(env: dict, seconds: float = 20) -> None:
    holder = os.path.join(env["VAR_DIR"], "bots.sqlite3.locks", "portal_check.holder.json")  # beside the store
    deadline = time.monotonic() + seconds
    while not os.path.exists(holder):
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)
