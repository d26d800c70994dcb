"""Shared outputs (bots/outputs.py): files a run wrote, kept in the store, served from any host."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bots.outputs import day_of, fetch, keep, keep_run, kind_of, list_outputs
from bots.runner import run_scope
from bots.settings import load_settings
from bots.store import Store
from tests.conftest import run_cli
from tests.stores import store_url_of

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def _store(url: str) -> Store:
    store = Store(url)
    store.migrate()
    return store


def _workbook(path: Path, value: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.active.title = "Ringkasan"
    book.active["A1"] = value
    book.save(path)
    return path


def test_kinds_and_days():
    assert kind_of(Path("rekonsiliasi/rekonsiliasi-2026-11-23.xlsx")) == "workbook"
    assert kind_of(Path("esim/batch-aktivasi-20261123-01.xlsx")) == "batch"
    assert kind_of(Path("artifacts/20261123-090000-abc123/01-otomax.png")) == "capture"
    assert day_of("rekonsiliasi-2026-11-23.xlsx") == date(2026, 11, 23)
    assert day_of("batch-aktivasi-20261123-01.xlsx") == date(2026, 11, 23)
    assert day_of("01-otomax.png") is None


def test_keep_once_per_content_and_serve_the_newest(store_url, tmp_path):
    store = _store(store_url)
    reports = tmp_path / "reports"
    path = _workbook(reports / "rekonsiliasi" / "rekonsiliasi-2026-11-23.xlsx", "first")
    try:
        assert keep(store, reports, path, now=NOW, run_id="r1") is True
        assert keep(store, reports, path, now=NOW, run_id="r2") is False        # same bytes: one row
        _workbook(path, "with a late line")
        assert keep(store, reports, path, now=NOW.replace(hour=3), run_id="r3") is True
        rows = list_outputs(store)
        assert [(r.kind, r.path, r.run_id, r.day) for r in rows] == [
            ("workbook", "rekonsiliasi/rekonsiliasi-2026-11-23.xlsx", "r3", date(2026, 11, 23)),
            ("workbook", "rekonsiliasi/rekonsiliasi-2026-11-23.xlsx", "r1", date(2026, 11, 23))]
        output, content = fetch(store, "rekonsiliasi-2026-11-23.xlsx")
        served = tmp_path / "served.xlsx"
        served.write_bytes(content)
        assert output.run_id == "r3" and load_workbook(served)["Ringkasan"]["A1"].value == "with a late line"
        assert fetch(store, "nothing.xlsx") is None
    finally:
        store.dispose()


@pytest.mark.store_backends("sqlite")  # the store is not what this is about (PostgreSQL: make test-pg)
def test_keep_run_keeps_what_the_run_wrote_and_only_that(store_url, tmp_path):
    store = _store(store_url)
    reports = tmp_path / "reports"
    old = _workbook(reports / "komplain" / "komplain-2026-11-22.xlsx", "yesterday")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    started = time.time()
    _workbook(reports / "komplain" / "komplain-2026-11-23.xlsx", "today")
    mine = reports / "artifacts" / "run-1" / "01-otomax.png"
    theirs = reports / "artifacts" / "run-0" / "01-otomax.png"
    for capture in (mine, theirs):
        capture.parent.mkdir(parents=True)
        capture.write_bytes(b"\x89PNG screenshot")
    try:
        assert keep_run(store, reports, "run-1", started, NOW) == 2
        assert sorted((r.kind, r.path) for r in list_outputs(store)) == [
            ("capture", "artifacts/run-1/01-otomax.png"), ("workbook", "komplain/komplain-2026-11-23.xlsx")]
    finally:
        store.dispose()


@pytest.mark.store_backends("sqlite")  # a new store of its own: it is broken on purpose
def test_a_store_that_fails_to_keep_does_not_fail_the_run(new_store_url, tmp_path):
    """Keeping is a copy: a broken store is logged, the file stays on disk, nothing raises."""
    store = _store(new_store_url)
    with store.write() as conn:
        conn.exec_driver_sql("DROP TABLE outputs")
    reports = tmp_path / "reports"
    path = _workbook(reports / "esim" / "esim-status-2026-11-23.xlsx", "today")
    try:
        assert keep_run(store, reports, "run-1", time.time() - 5, NOW) == 0
        assert path.is_file()
    finally:
        store.dispose()


def test_every_run_keeps_its_files_and_another_host_serves_them(tmp_path):
    """A run (the runner's own scope) writes a workbook on host A; host B, another folder and
    the same store, lists and fetches it through the CLI."""
    host_a, host_b = tmp_path / "a", tmp_path / "b"
    database = store_url_of(tmp_path)  # SQLite under tmp_path/var, or (make test-pg) PostgreSQL
    environ = {"DATABASE_URL": database, "REPORTS_DIR": str(host_a / "reports"), "VAR_DIR": str(host_a / "var"),
               "LOGS_DIR": str(host_a / "logs")}
    settings = load_settings(environ=environ, root=tmp_path)
    with run_scope("reconcile_payments", settings) as scope:
        _workbook(settings.reports_dir / "rekonsiliasi" / "rekonsiliasi-2026-11-23.xlsx", "Kredit Otomatis")
        run_id = scope.run_id
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("BOTS_", "DATABASE_URL"))},
           **environ, "REPORTS_DIR": str(host_b / "reports"), "VAR_DIR": str(host_b / "var")}
    listed = run_cli("outputs", "list", env=env)
    assert listed.returncode == 0 and "rekonsiliasi/rekonsiliasi-2026-11-23.xlsx" in listed.stdout
    target = host_b / "rekonsiliasi-2026-11-23.xlsx"
    got = run_cli("outputs", "get", "rekonsiliasi-2026-11-23.xlsx", "--to", str(target), env=env)
    assert got.returncode == 0 and run_id in got.stdout
    assert load_workbook(target)["Ringkasan"]["A1"].value == "Kredit Otomatis"
    missing = run_cli("outputs", "get", "komplain-2026-11-23.xlsx", env=env)
    assert missing.returncode == 2 and "no kept file named" in missing.stderr
