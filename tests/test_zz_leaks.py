"""Last in its worker: no demo password and no NIK/KK reached any log written so far.

The same check runs once more after the whole suite, over every worker's logs
(`pytest_sessionfinish` in conftest.py), and fails the run on any leak.
"""

from __future__ import annotations

from tests.conftest import ROOT
from tests.leaks import find_leaks


def test_no_password_or_nik_in_any_log(suite_logs):
    assert find_leaks([suite_logs, ROOT / "logs"]) == []


def test_the_leak_check_finds_a_leak(tmp_path):
    from tests.leaks import demo_passwords, fixture_niks

    (tmp_path / "bots-2026-11-23.jsonl").write_text(f'{{"message": "{demo_passwords()[0]}"}}\n'
                                                   f'{{"message": "{sorted(fixture_niks())[0]}"}}\n')
    found = find_leaks([tmp_path])
    assert any("password" in f for f in found) and any("NIK" in f for f in found)
