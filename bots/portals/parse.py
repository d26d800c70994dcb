"""How portals write values on screen, read back into plain ones."""

from __future__ import annotations

import re

_RUPIAH = re.compile(r"^(-)?\s*Rp\.?\s*([\d.]+)(?:,(\d{1,2}))?$")


def parse_rupiah(text: str) -> int:
    """'Rp 1.500.000' → 1500000; '-Rp 5.000' → -5000. Cents (',50') are refused, not rounded."""
    match = _RUPIAH.match(text.strip())
    if not match or (match.group(3) and int(match.group(3))):
        raise ValueError(f"not a rupiah amount: {text!r}")
    value = int(match.group(2).replace(".", ""))
    return -value if match.group(1) else value
