"""Last in its worker: no demo password and no NIK/KK reached any log or report written so far.

The same check runs once more after the whole suite, over every worker's logs and reports
(`pytest_sessionfinish` in conftest.py), and fails the run on any leak. Below it: the check
itself finds a planted leak, and a failure on a page full of NIKs leaves none in its artifacts.
"""

from __future__ import annotations

import base64
import csv
import json
import zipfile
from pathlib import Path

import pytest
from loguru import logger
from openpyxl import Workbook

from tests.conftest import DEMO_ENV, ROOT, WORLD
from tests.leaks import demo_passwords, find_leaks, find_report_leaks, fixture_niks, reports_folders


def test_no_password_or_nik_in_any_log(suite_logs):
    assert find_leaks([suite_logs, ROOT / "logs"]) == []


def test_no_password_or_nik_in_any_report_so_far(tmp_path_factory):
    assert find_report_leaks(reports_folders(tmp_path_factory.getbasetemp()) + [ROOT / "reports"]) == []


def test_the_leak_check_finds_a_leak(tmp_path):
    (tmp_path / "bots-2026-11-23.jsonl").write_text(f'{{"message": "{demo_passwords()[0]}"}}\n'
                                                   f'{{"message": "{sorted(fixture_niks())[0]}"}}\n')
    found = find_leaks([tmp_path])
    assert any("password" in f for f in found) and any("NIK" in f for f in found)


def _workbook(path: Path, *values: str) -> None:
    book = Workbook()
    book.active.append(list(values))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def test_the_report_check_finds_planted_leaks_and_spares_the_batch_workbook(tmp_path):
    planted = tmp_path / "planted"  # not named "reports": the suite's own check must not see it
    run = planted / "artifacts" / "run-1"
    run.mkdir(parents=True)
    password, nik = demo_passwords()[0], sorted(fixture_niks())[0]
    (run / "01-otomax.html").write_text(f"<td>{password}</td>")
    (run / "02-bank-bca.txt").write_text("rekening 9988776655443322 ditolak")  # a NIK no fixture knows
    with zipfile.ZipFile(run / "03-otomax-trace.zip", "w") as trace:
        trace.writestr("trace.trace", json.dumps({"type": "frame-snapshot", "text": nik}))
        trace.writestr("resources/page.jpeg", bytes(range(256)) * 64)
    with zipfile.ZipFile(run / "04-dukcapil-trace.zip", "w") as trace:
        trace.writestr("trace.trace", "{}")  # whatever it holds: no trace of a personal-data portal
    # clean: masked text, a 16-digit run inside a hex id, the decimals of a fraction
    (run / "05-supplier-mitra.html").write_text('<td>&lt;16 digit&gt;</td> "sha1": "a1234567890123456b" '
                                               '<td>0.3333333333333333</td>')
    _workbook(planted / "esim" / "esim-status-2026-11-23.xlsx", "Pelanggan", nik)
    _workbook(planted / "esim" / "batch-aktivasi-20261123-01.xlsx", "NIK", nik)  # where NIK belongs
    _workbook(planted / "komplain" / "komplain-2026-11-23.xlsx", "SN", "0144700000000004")  # a voucher serial

    found = find_report_leaks([planted])
    assert sorted(found) == [
        "planted/artifacts/run-1/01-otomax.html: a demo password",
        "planted/artifacts/run-1/02-bank-bca.txt: a 16-digit number",
        "planted/artifacts/run-1/03-otomax-trace.zip!trace.trace: a NIK/KK",
        "planted/artifacts/run-1/04-dukcapil-trace.zip: a trace of a portal that shows personal data",
        "planted/esim/esim-status-2026-11-23.xlsx!xl/worksheets/sheet1.xml: a NIK/KK",
    ]


def test_every_reports_folder_under_a_root_is_found(tmp_path):
    for folder in ("test_a0/reports", "esim-import0/deep/reports", "test_b0/reports-not"):
        (tmp_path / folder).mkdir(parents=True)
    assert reports_folders(tmp_path) == [tmp_path / "esim-import0/deep/reports", tmp_path / "test_a0/reports"]


# -- a failure capture on a page showing NIK and KK ------------------------------------------------

MAGENTA = [255, 0, 255]  # Playwright's mask colour

# The colours of a PNG at some points, decoded by the browser itself (no imaging library here).
_PIXELS = """async ([png, points]) => {
  const image = new Image();
  image.src = 'data:image/png;base64,' + png;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  return points.map(([x, y]) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3)));
}"""


def _inside(box: dict) -> list[list[int]]:
    """The centre and four corners (3 px in) of a bounding box."""
    left, top = int(box["x"]) + 3, int(box["y"]) + 3
    right, bottom = int(box["x"] + box["width"]) - 3, int(box["y"] + box["height"]) - 3
    return [[(left + right) // 2, (top + bottom) // 2], [left, top], [right, top], [left, bottom], [right, bottom]]


@pytest.mark.browser
def test_a_failure_on_a_page_showing_nik_and_kk_keeps_neither(shared_world, tmp_path):
    from bots.errors import PortalUnavailable
    from bots.portals.esim import DukcapilPortal
    from bots.portals.session import PortalBrowser
    from bots.settings import load_settings

    with (WORLD / "dukcapil.csv").open(newline="", encoding="utf-8") as handle:
        citizen, other = list(csv.DictReader(handle))[:2]
    settings = load_settings(env_file=DEMO_ENV, environ={}, overrides={
        "PORTALS_BASE_URL": shared_world.url, "REPORTS_DIR": str(tmp_path / "reports"), "BOTS_TIMEOUT_MS": "1000"})
    warnings: list[str] = []
    sink = logger.add(lambda message: warnings.append(str(message)), level="WARNING")
    try:
        with PortalBrowser(settings, "run-nik") as browser:
            dukcapil = DukcapilPortal(browser, settings.portal("dukcapil"), attempts=1)
            assert dukcapil.lookup(citizen["nik"]).name == citizen["name"]
            page = browser.page("dukcapil")
            page.get_by_label("NIK", exact=True).fill(other["nik"])  # the next lookup, typed in
            private = {"NIK shown": page.get_by_role("cell", name=citizen["nik"]),
                       "KK shown": page.get_by_role("cell", name=citizen["kk"]),
                       "NIK typed": page.get_by_label("NIK", exact=True)}
            assert page.get_by_label("NIK", exact=True).input_value() == other["nik"]
            boxes = {what: locator.bounding_box() for what, locator in private.items()}
            name_box = page.get_by_role("cell", name=citizen["name"]).bounding_box()

            # the page is not what the bot expects (no such table): a portal failure, then the capture
            with pytest.raises(PortalUnavailable):
                dukcapil.retrying("reading the result", lambda: dukcapil.read_table("Hasil yang tidak ada"))

            folder = tmp_path / "reports" / "artifacts" / "run-nik"
            png = base64.b64encode((folder / "01-dukcapil.png").read_bytes()).decode()
            points = [point for box in boxes.values() for point in _inside(box)] + _inside(name_box)[:1]
            colours = browser.page("png-reader").evaluate(_PIXELS, [png, points])
    finally:
        logger.remove(sink)

    masked, name = colours[:-1], colours[-1]
    assert masked == [MAGENTA] * len(masked), dict(zip(boxes, [masked[i:i + 5] for i in range(0, 15, 5)]))
    assert name != MAGENTA  # the mask covers NIK and KK, not the whole page
    assert sorted(p.name for p in folder.iterdir()) == ["01-dukcapil.html", "01-dukcapil.png", "01-dukcapil.txt"]
    assert any("no trace: the portal shows personal data" in w for w in warnings), warnings
    html = (folder / "01-dukcapil.html").read_text()
    assert html.count('data-bots-private=""') == 3  # both cells and the field were masked in the shot
    assert not [value for value in (citizen["nik"], citizen["kk"], other["nik"]) if value in html]
    assert find_report_leaks([tmp_path / "reports"]) == []
