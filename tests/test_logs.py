"""Logs: run id on every line, a JSON file per day, and no secret or NIK/KK in any of it."""

from __future__ import annotations

import json
import re

from loguru import logger

from bots.logs import Masker, setup_logging
from tests.conftest import run_cli

NIK = "3603124509870002"  # a made-up NIK in the shape DOMAIN §3 describes


def test_masker_hides_secrets_and_sixteen_digit_numbers():
    mask = Masker(["Otx-demo-6604", "abc"])  # too short to be a secret worth masking
    text = mask(f"login Otx-demo-6604 nik={NIK} kk 3603120101090011 rekening 5270418836 abc")
    assert "Otx-demo-6604" not in text and NIK not in text and "3603120101090011" not in text
    assert "5270418836" in text and "abc" in text  # a 10-digit account number is not personal data
    assert mask("12345678901234567") == "12345678901234567"  # 17 digits: not a NIK


def test_file_and_console_are_masked_in_messages_extras_and_tracebacks(tmp_path, capsys):
    setup_logging(tmp_path, ["Otx-demo-6604"])
    with logger.contextualize(run_id="run-1", bot="portal_check"):
        logger.info("typed password Otx-demo-6604 for customer {}", NIK, nik=NIK, form={"kk": NIK})
        try:
            raise ValueError(f"portal refused Otx-demo-6604 for NIK {NIK}")
        except ValueError:
            logger.exception("failed")
    written = "".join(p.read_text() for p in tmp_path.glob("bots-*.jsonl"))
    console = capsys.readouterr().err
    for text in (written, console):
        assert "Otx-demo-6604" not in text and NIK not in text
    lines = [json.loads(line) for line in written.splitlines()]
    assert all(line["run_id"] == "run-1" and line["bot"] == "portal_check" for line in lines)
    assert "ValueError" in lines[1]["exception"] and "***" in lines[1]["exception"]
    assert re.fullmatch(r"bots-\d{4}-\d{2}-\d{2}\.jsonl", next(tmp_path.glob("*.jsonl")).name)


def test_control_characters_from_outside_are_visible_escapes_in_file_and_console(tmp_path, capsys):
    setup_logging(tmp_path)
    description = "TRSF \x1b[2J\x07SITI\x00 =cmd|x"
    logger.info("line {} escalated", description)
    console = capsys.readouterr().err
    written = json.loads(next(tmp_path.glob("bots-*.jsonl")).read_text().splitlines()[-1])["message"]
    for text in (console, written):
        assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
        assert "TRSF \\x1b[2J\\x07SITI\\x00 =cmd|x" in text


def test_a_real_run_writes_json_lines_with_its_run_id(bot_env, shared_world, suite_logs):
    done = run_cli("run", "portal_check", env=bot_env(shared_world.url, portals=("otomax", "helpdesk")))
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for path in suite_logs.glob("*.jsonl") for line in path.read_text().splitlines()]
    ours = [e for e in entries if e["bot"] == "portal_check"]
    assert ours and all(e["run_id"] != "-" for e in ours)
    assert any("run finished: ok" in e["message"] for e in ours)
