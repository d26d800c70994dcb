"""Last in the suite: no demo password and no NIK/KK reached any log the suite wrote."""

from __future__ import annotations

import csv
import re

from tests.conftest import ROOT, WORLD
from tests.test_logs import demo_passwords


def fixture_niks() -> set[str]:
    found = set()
    for name in ("esim_orders.csv", "dukcapil.csv", "ismara.csv"):
        path = WORLD / name
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    found |= {row.get("nik", ""), row.get("kk", "")} - {""}
    return found


def test_no_password_or_nik_in_any_log(suite_logs):
    logs = list(suite_logs.glob("*.jsonl")) + list((ROOT / "logs").glob("*.jsonl"))
    assert logs, "the suite's runs wrote logs"
    text = "\n".join(path.read_text(encoding="utf-8") for path in logs)
    for password in demo_passwords():
        assert password not in text
    for number in fixture_niks():
        assert number not in text
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", text)
