"""The bad-input corpus (`fixtures/bad/`): every case exits 2 naming its place, and nothing is acted on.

Five kinds, each case through the CLI (`bots.cli.main`, in this process to keep the file fast;
every fourth case, and the statement run, as a real `python -m bots` process):

- statements: every file through the parser, then all of them in one reconcile run beside a
  good statement — one `error:` line per bad file, and the store holds only the good file's lines;
- statement runs: files that parse but a run must refuse (an account the company does not own, a
  period older than `statement_max_age_days`), each through the run's check, then all of them in
  one run beside the files in `accepted/` (KlikBCA Bisnis as downloaded, the account from its
  name), which are read and act; alone, those end 0;
- seeds: the demo world with one file replaced; the world refuses to start (no URL printed);
- settings: `bots.toml` overrides and `.env` lines; the run stops before any store, lock, log,
  report or browser exists;
- batches: GraPARI's filled-in workbook broken one way each; the store is byte-for-byte the same.

Every case carries the fragments its message must contain (file, line and column; the
setting's key; or the cell), in `*.expected-error` files or an `expected-error` in its folder.
"""

from __future__ import annotations

import os
import functools
import random
import shutil
import string
import tomllib
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import make_url

from bots.errors import EXIT_BAD_INPUT, InputFileError
from bots.parsers import parse_statement
from bots.settings import sqlite_file
from tests.conftest import DEMO_ENV, ROOT, WORLD, MockWorld, run_cli
from tests.stores import store_query, store_values

BAD = ROOT / "fixtures" / "bad"
GOOD_STATEMENT = ROOT / "fixtures" / "statements" / "bca-individual.csv"
STATEMENTS = sorted(BAD.glob("statements/*.csv")) + sorted(BAD.glob("statements/*.csv.recipe"))
SEEDS = sorted(p for p in BAD.glob("seeds/*") if p.is_dir())
SETTINGS = sorted(p for p in BAD.glob("settings/*") if p.is_dir())
BATCHES = sorted(BAD.glob("batches/*.toml"))
STATEMENT_RUNS = sorted(BAD.glob("statement-runs/*.csv"))
ACCEPTED_RUNS = sorted(BAD.glob("statement-runs/accepted/*.csv"))
BOTS_WITH_SECTIONS = ("reconcile_payments", "check_pending_tx", "esim_activation_queue")


def ids(paths) -> list[str]:
    return [p.name for p in paths]


def cases(paths) -> list:
    """Each case, and whether it runs as a process of its own (every fourth) or through main()."""
    return [pytest.param(path, index % 4 == 0, id=path.name + ("-process" if index % 4 == 0 else ""))
            for index, path in enumerate(paths)]


def cli(*args: str, env: dict[str, str], process: bool, capsys, monkeypatch) -> SimpleNamespace:
    """`python -m bots ARGS` with our settings `env`: in a process of its own, or main() here."""
    if process:
        return run_cli(*args, env={**os.environ, **env}, timeout=60)
    from bots.cli import main

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = main(list(args))
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def expected(case: Path) -> list[str]:
    """The fragments the case's message must contain, one per line."""
    if case.is_dir():
        path = case / "expected-error"
    else:  # beside the file; a made file's (`x.csv.recipe`) is beside the name it is made under
        path = case.with_name(case.name.removesuffix(".recipe") + ".expected-error")
    return [part for part in path.read_text(encoding="utf-8").splitlines() if part]


def assert_names(message: str, case: Path) -> None:
    missing = [part for part in expected(case) if part not in message]
    assert not missing, f"{case.name}: {missing} not in: {message}"


# -- the corpus ----------------------------------------------------------------------------------

def test_the_corpus_has_every_kind_and_each_case_states_its_error():
    kinds = {"statements": STATEMENTS, "seeds": SEEDS, "settings": SETTINGS, "batches": BATCHES,
             "statement runs": STATEMENT_RUNS, "accepted by a run": ACCEPTED_RUNS}
    assert all(kinds.values()) and sum(map(len, kinds.values())) >= 45
    for case in STATEMENTS + STATEMENT_RUNS:
        first = expected(case)[0]
        assert first.startswith(statement_name(case)), case.name  # the file is named first
    for case in SEEDS:
        [overlay] = [p.name for p in case.iterdir() if p.name != "expected-error"]
        assert expected(case)[0].startswith(f"{overlay}, line "), case.name
    for case in SETTINGS:
        assert expected(case)[0].startswith("setting "), case.name
    for case in BATCHES:
        assert expected(case), case.name


# -- statements ----------------------------------------------------------------------------------

def statement_name(case: Path) -> str:
    return case.name.removesuffix(".recipe")


@functools.cache
def statement_bytes(case: Path) -> bytes:
    """The file's bytes; a `.recipe` (a file too big to commit) is made here, the same every time."""
    if case.suffix != ".recipe":
        return case.read_bytes()
    recipe = tomllib.loads(case.read_text(encoding="utf-8"))
    rng = random.Random(recipe["seed"])
    if recipe["kind"] == "bytes":
        return rng.randbytes(recipe["size"])
    alphabet = string.ascii_letters + string.digits + " ,;.:'\"-/|"
    lines, size = [], 0
    while size < recipe["size"]:
        lines.append("".join(rng.choices(alphabet, k=rng.randint(60, 140))) + "\n")
        size += len(lines[-1])
    return "".join(lines)[: recipe["size"]].encode()


@pytest.mark.parametrize("case", STATEMENTS, ids=ids(STATEMENTS))
def test_bad_statement_is_refused_naming_its_place(case):
    name = statement_name(case)
    with pytest.raises(InputFileError) as caught:
        parse_statement(statement_bytes(case), name)
    assert caught.value.exit_code == EXIT_BAD_INPUT and caught.value.path == name
    assert_names(str(caught.value), case)


def test_the_5_mb_cases_are_5_mb():
    for case in [c for c in STATEMENTS if c.suffix == ".recipe"]:
        assert len(statement_bytes(case)) == 5 * 1024 * 1024


@pytest.mark.browser
def test_bad_statements_in_one_run_each_exit_2_and_only_the_good_file_is_read(tmp_path, bot_env):
    from tests.reconcile_world import T0, env_file, write_world

    folder = tmp_path / "statements"
    folder.mkdir()
    bad = []
    for case in STATEMENTS:
        bad.append(folder / statement_name(case))
        bad[-1].write_bytes(statement_bytes(case))
    world_dir = write_world(tmp_path / "world")
    world = MockWorld(seed=world_dir)
    try:
        world.post("/__mock/clock", {"set": T0.isoformat()})
        before = world.state()
        env = bot_env(world.url, BOTS_ENV_FILE=str(env_file(world_dir)), BOTS_NOW=T0.isoformat(), COLUMNS="250")
        statements = [arg for path in [*bad, GOOD_STATEMENT] for arg in ("--statement", str(path))]
        # the good file is September's: read on purpose past reconcile_payments.statement_max_age_days
        done = run_cli("run", "reconcile_payments", *statements, "--accept-old-statement", env=env)
        after = world.state()
    finally:
        world.stop()
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    for case, path in zip(STATEMENTS, bad):  # each bad file on a line of its own
        [line] = [e for e in errors if e.startswith(f"error: {path},") or e.startswith(f"error: {path}:")]
        assert_names(line.replace(str(path.parent) + os.sep, ""), case)
    assert len(errors) == len(bad), done.stderr
    from tests.stores import store_query
    sources = dict(store_query(env, "SELECT source, count(*) FROM statement_lines GROUP BY source"))
    assert list(sources) == [str(GOOD_STATEMENT)] and sources[str(GOOD_STATEMENT)] > 0
    # nothing credited: no ticket approved and no saldo added by this run
    assert (after["tickets"], after["balance_log"], after["agents"]) == (
        before["tickets"], before["balance_log"], before["agents"])


# -- statements a run refuses (they parse) -------------------------------------------------------

def reconcile_world_accounts() -> dict[str, set[str]]:
    from tests.reconcile_world import BCA, MANDIRI

    return {"bca": {BCA}, "mandiri": {MANDIRI}}


@pytest.mark.parametrize("case", STATEMENT_RUNS, ids=ids(STATEMENT_RUNS))
def test_statement_a_run_refuses_is_named(case):
    from bots.reconcile_payments import DEFAULTS, statement_file
    from tests.reconcile_world import T0

    with pytest.raises(InputFileError) as caught:
        statement_file(case, T0.date(), DEFAULTS, reconcile_world_accounts())
    assert caught.value.exit_code == EXIT_BAD_INPUT and caught.value.path == str(case)
    assert_names(str(caught.value), case)


@pytest.mark.browser
def test_refused_statements_in_one_run_act_on_nothing_and_bisnis_as_downloaded_is_read(tmp_path, bot_env):
    from tests.reconcile_world import BCA, T0, env_file, write_world

    world_dir = write_world(tmp_path / "world")
    world = MockWorld(seed=world_dir)
    try:
        world.post("/__mock/clock", {"set": T0.isoformat()})
        env = bot_env(world.url, BOTS_ENV_FILE=str(env_file(world_dir)), BOTS_NOW=T0.isoformat(), COLUMNS="250")
        files = [arg for path in [*STATEMENT_RUNS, *ACCEPTED_RUNS] for arg in ("--statement", str(path))]
        done = run_cli("run", "reconcile_payments", *files, env=env)
        credited = sorted(r["ticket_id"] for r in world.state()["balance_log"])
        alone = run_cli("run", "reconcile_payments", *[a for p in ACCEPTED_RUNS for a in ("--statement", str(p))],
                        env=env)
    finally:
        world.stop()
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    for case in STATEMENT_RUNS:
        [line] = [e for e in errors if e.startswith(f"error: {case}:")]
        assert_names(line, case)
    assert len(errors) == len(STATEMENT_RUNS), done.stderr
    sources = {s for (s,) in store_values(tmp_path, "SELECT DISTINCT source FROM statement_lines")}
    formats = store_values(tmp_path, "SELECT DISTINCT account_no, export_format FROM statement_files")
    assert sources == {str(p) for p in ACCEPTED_RUNS}  # nothing from a refused file
    assert formats == [(BCA, "bca-bisnis")]            # the account from KlikBCA Bisnis's file name
    assert credited == ["TK1"]  # the Bisnis file's exact match, and nothing else
    assert alone.returncode == 0, alone.stdout + alone.stderr


# -- seed worlds ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case, process", cases(SEEDS))
def test_bad_seed_world_does_not_start_and_names_file_line_column(case, process, tmp_path, capsys, monkeypatch):
    world = shutil.copytree(WORLD, tmp_path / "world")
    for path in case.iterdir():
        if path.name != "expected-error":
            shutil.copy(path, world / path.name)
    done = cli("portals", "--seed", str(world), "--port", "0", env={}, process=process, capsys=capsys,
               monkeypatch=monkeypatch)
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    assert done.stdout == ""  # no base URL: nothing was ever served
    assert done.stderr.startswith("error: ")
    assert_names(done.stderr, case)


# -- settings ------------------------------------------------------------------------------------

def settings_case(case: Path, tmp_path: Path) -> tuple[Path, Path]:
    """config/ = the real bots.toml + the case's *.toml; .env = demo.env + the case's lines (later wins)."""
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(ROOT / "config" / "bots.toml", config)
    for path in case.glob("*.toml"):
        shutil.copy(path, config)
    # everything the run could write goes under tmp_path, so "nothing written" can be checked
    (config / "paths.toml").write_text("[paths]\n" + "".join(
        f'{key} = "{tmp_path / key[:-4]}"\n' for key in ("var_dir", "reports_dir", "logs_dir")))
    lines = [line for line in DEMO_ENV.read_text().splitlines() if not line.startswith("PORTALS_BASE_URL")]
    lines.append("PORTALS_BASE_URL=http://127.0.0.1:9")  # nothing listens: accepted settings would exit 3
    if (case / ".env").exists():
        lines += (case / ".env").read_text().splitlines()
    env_file = tmp_path / "case.env"
    env_file.write_text("\n".join(lines) + "\n")
    return config, env_file


@pytest.mark.parametrize("case, process", cases(SETTINGS))
def test_bad_setting_stops_before_anything_naming_its_key(case, process, tmp_path, capsys, monkeypatch):
    config, env_file = settings_case(case, tmp_path)
    section = "".join(path.read_text() for path in case.glob("*.toml"))
    bot = next((b for b in BOTS_WITH_SECTIONS if f"[{b}]" in section), "portal_check")
    done = cli("--config-dir", str(config), "--env-file", str(env_file), "run", bot, env={}, process=process,
               capsys=capsys, monkeypatch=monkeypatch)
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    assert_names(done.stderr, case)
    # no store, no lock, no log, no report, no browser artifact: the run never started
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.env", "config"]


# -- returned batch workbooks --------------------------------------------------------------------

BATCH_ORDERS = ("PSB-2611-001", "PSB-2611-012")  # rows 7 and 8, in submission order
FILLED = {"S7": "AKTIF", "T7": "081234567001", "U7": datetime(2026, 11, 23, 10, 0), "S8": "GAGAL"}


@pytest.fixture(scope="module")
def issued_batch(tmp_path_factory, suite_logs, module_store_env):
    """A store with one issued batch of two orders, and its workbook (made without a browser):
    under VAR_DIR, or (`make test-pg`) a PostgreSQL database of the module's own."""
    from bots.esim import batch
    from bots.esim.registry import Registry
    from bots.esim.rules import Decision
    from bots.esim_activation_queue import options
    from bots.settings import load_settings
    from bots.store import Store
    from mock_portals.seed import load_table
    from tests.reconcile_world import T0

    tmp_path = tmp_path_factory.mktemp("bad-batches")
    env = {"BOTS_ENV_FILE": str(DEMO_ENV), "VAR_DIR": str(tmp_path / "var"),
           "REPORTS_DIR": str(tmp_path / "reports"), "LOGS_DIR": str(suite_logs), "BOTS_NOW": T0.isoformat(), **module_store_env}
    settings = load_settings(environ=env, root=ROOT)
    rows = [r for r in load_table(WORLD / "esim_orders.csv", "esim_orders", T0) if r["order_id"] in BATCH_ORDERS]
    store = Store(settings.database_url)
    store.migrate()
    registry = Registry(store)
    registry.remember([SimpleNamespace(**r) for r in rows], {r["order_id"]: 175000 for r in rows}, {}, T0)
    for order_id in BATCH_ORDERS:
        registry.decide(Decision(order_id, "VALID", "semua cek lolos"), T0, final=True)
    batch_id = registry.open_batch(list(BATCH_ORDERS), T0)
    book = batch.build(batch_id, T0, registry.batch_orders(batch_id), options(settings)["bonus"])
    registry.batch_done(batch_id)
    store.dispose()
    workbook = tmp_path / batch.file_name(batch_id)
    book.save(workbook)
    return SimpleNamespace(env=env, workbook=workbook, database=settings.database_url,
                           reports=settings.reports_dir, tmp_path=tmp_path)


def filled_workbook(issued, case: Path | None, target: Path) -> Path:
    """The issued workbook as GraPARI fills it in, then broken the way the case describes."""
    change = tomllib.loads(case.read_text(encoding="utf-8")) if case else {}
    if "replace_with" in change:
        shutil.copy((case.parent / change["replace_with"]).resolve(), target)
        return target
    book = load_workbook(issued.workbook)
    sheet = book["Batch Aktivasi"]
    for cell, value in {**FILLED, **change.get("cells", {})}.items():
        sheet[cell] = value if value != "" else None
    if "sheet_title" in change:
        sheet.title = change["sheet_title"]
    book.save(target)
    return target


def store_rows(database: str) -> dict[str, list]:
    tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
    if not sqlite_file(database):
        tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    return {t: store_values(database, f'SELECT * FROM "{t}" ORDER BY 1') for (t,) in store_query(database, tables)}


@pytest.mark.parametrize("case, process", cases(BATCHES))
def test_bad_batch_workbook_names_the_cell_and_records_nothing(case, process, issued_batch, capsys, monkeypatch):
    workbook = filled_workbook(issued_batch, case, issued_batch.tmp_path / f"{case.stem}.xlsx")
    before = store_rows(issued_batch.database)
    done = cli("esim", "import", str(workbook), env=issued_batch.env, process=process, capsys=capsys,
               monkeypatch=monkeypatch)
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    assert f"{workbook.name}" in done.stderr
    assert_names(done.stderr, case)
    after = store_rows(issued_batch.database)
    # the import is a run like any other (its record says it ended on bad input); nothing else moved
    before_runs = before.pop("runs", [])
    new_runs = [r for r in after.pop("runs", []) if r not in before_runs]
    assert after == before
    assert [(r[2], r[5], r[6]) for r in new_runs] == [("esim_import", "bad_input", EXIT_BAD_INPUT)]
    assert not list(issued_batch.reports.glob("esim/esim-status-*.xlsx"))  # no report from it either
    for number in fixture_niks():
        assert number not in done.stdout + done.stderr  # never a NIK or KK in a message


def fixture_niks() -> list[str]:
    text = (WORLD / "esim_orders.csv").read_text(encoding="utf-8")
    return [cell for line in text.splitlines()[1:] for cell in line.split(",")[4:6] if cell]


def test_zz_the_same_workbook_unbroken_imports(issued_batch, tmp_path, request):
    """The control: the fill every case starts from is itself good (on a copy of the store)."""
    var = tmp_path / "var"
    env = {**os.environ, **issued_batch.env, "VAR_DIR": str(var), "REPORTS_DIR": str(tmp_path / "reports")}
    if sqlite_file(issued_batch.database):
        shutil.copytree(sqlite_file(issued_batch.database).parent, var)
    else:  # PostgreSQL: the copy is a database made from the module's
        cluster = request.getfixturevalue("postgres")
        env["DATABASE_URL"] = cluster.url(cluster.create_database(template=make_url(issued_batch.database).database))
    workbook = filled_workbook(issued_batch, None, tmp_path / issued_batch.workbook.name)
    done = run_cli("esim", "import", str(workbook), env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    counted = store_values(env.get("DATABASE_URL") or tmp_path,
                           "SELECT count(*) FROM esim_orders WHERE activation_status IS NOT NULL")
    assert counted == [(2,)]
