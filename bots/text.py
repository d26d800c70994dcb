"""Text from outside (bank descriptions, names, customers' notes) shown as data, never as control.

`visible` writes control characters (C0 but tab and line ends, DEL, C1) as visible escapes
(`\\x07`): workbooks cannot hold them, terminals would obey them. What the text stands for (a
statement line's identity) is computed from the original, never from this."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` with its control characters as visible escapes (`\\x07`)."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
