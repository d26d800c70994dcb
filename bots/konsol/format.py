"""How the console writes money, times and outside text (Jinja filters and plain helpers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bots.clock import JAKARTA
from bots.logs import NIK_MASK, SIXTEEN_DIGITS
from bots.reconcile.matching import rupiah as _rupiah


def rupiah(amount) -> str:
    """`Rp 1.500.000` (whole rupiah; cents shown after a comma when there are any)."""
    if amount is None or amount == "":
        return "-"
    value = Decimal(str(amount))
    text = _rupiah(value)
    cents = abs(value) - int(abs(value))
    return text + (f",{int(cents * 100):02d}" if cents else "")


def wib(moment: datetime | None, with_seconds: bool = False) -> str:
    """`01/12/2026 09:15 WIB`: every time the console shows is Jakarta time, labelled."""
    if moment is None:
        return "-"
    return moment.astimezone(JAKARTA).strftime("%d/%m/%Y %H:%M" + (":%S" if with_seconds else "")) + " WIB"


def age(since: datetime | None, now: datetime) -> str:
    """`3 hari 2 jam`, `45 menit`: how long ago, in the words the staff use."""
    if since is None:
        return "-"
    delta = max(now - since, timedelta(0))
    days, hours, minutes = delta.days, delta.seconds // 3600, delta.seconds % 3600 // 60
    if days:
        return f"{days} hari {hours} jam"
    if hours:
        return f"{hours} jam {minutes} menit"
    return f"{minutes} menit"


def no_personal_data(text: str) -> str:
    """Any 16-digit number (a NIK or KK) masked: such data belongs on the GraPARI pages only."""
    return SIXTEEN_DIGITS.sub(NIK_MASK, text)
