"""What must never reach a log: the demo world's passwords and its NIK and KK numbers."""

from __future__ import annotations

import csv
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "fixtures" / "world"
DEMO_ENV = ROOT / "config" / "demo.env"


def demo_passwords() -> list[str]:
    pairs = [line.split("=", 1) for line in DEMO_ENV.read_text().splitlines() if "_PASSWORD=" in line]
    return [value for _key, value in pairs]


def fixture_niks() -> set[str]:
    found = set()
    for name in ("esim_orders.csv", "dukcapil.csv", "ismara.csv"):
        path = WORLD / name
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    found |= {row.get("nik", ""), row.get("kk", "")} - {""}
    return found


def find_leaks(folders) -> list[str]:
    """Every leak in the JSON logs under these folders, as 'file: what'."""
    found = []
    secrets = [(p, "a demo password") for p in demo_passwords()] + [(n, "a NIK/KK") for n in fixture_niks()]
    for folder in folders:
        for path in sorted(Path(folder).glob("*.jsonl")):
            text = path.read_text(encoding="utf-8")
            found += [f"{path.name}: {what}" for value, what in secrets if value in text]
            if re.search(r"(?<!\d)\d{16}(?!\d)", text):
                found.append(f"{path.name}: a 16-digit number")
    return found
