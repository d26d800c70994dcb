"""`make demo`: the demo world, every bot once, a summary with the report paths."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_demo_runs_every_bot_and_prints_the_report_paths(tmp_path, suite_logs):
    env = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "REPORTS_DIR": str(tmp_path / "reports"),
           "LOGS_DIR": str(suite_logs), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "bots", "--env-file", "config/demo.env", "demo"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "portal_check" in done.stdout and "Portals checked" in done.stdout
    for bot in ("reconcile_payments", "check_pending_tx", "esim_activation_queue"):
        assert bot in done.stdout
    assert "still to come" not in done.stdout  # all three business bots are built
    for workbook in ("rekonsiliasi/rekonsiliasi-", "komplain/komplain-", "esim/esim-status-", "esim/batch-aktivasi-"):
        assert f"Report: {tmp_path / 'reports'}/{workbook}" in done.stdout
        assert list((tmp_path / "reports").glob(workbook + "*.xlsx"))
