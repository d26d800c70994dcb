"""The console's data layer: plain functions the Flask views call, one module per screen.

Nothing here imports Flask. Every function takes a ``Settings`` (bots/settings.py) and/or a
``Store`` (bots/store) and plain arguments, and returns dataclasses or lists of them that a
Jinja template can show. Times are aware datetimes (the view formats them in WIB); money is
integer rupiah. A person's action takes the person's login and is recorded exactly as its
command-line twin records it (``person:<login>`` in the journal's events).

| module          | screen                       |
|-----------------|------------------------------|
| ``runs``        | Riwayat Run                  |
| ``launch``      | Jalankan (and Jalankan ulang) |
| ``statements``  | Unggah Mutasi                |
| ``esim``        | eSIM                         |
| ``complaints``  | Komplain                     |
| ``reports``     | Laporan                      |

Errors: bad input raises ``bots.errors.BusinessError`` (its text names file, line, column or
cell: show it as it is, as text); a file or item that is not there raises ``NotFound``
(answer 404); ``RunLocked`` (exit 4's error) means the bot is running now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

__all__ = ["NotFound", "ServedFile", "from_store", "local_or_stored", "resolve_inside", "rupiah", "safe_name",
           "served"]

#: One harmless path component: letters, digits, dot, dash, underscore; never ".." or a slash.
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class NotFound(LookupError):
    """The file or item asked for is not there (or its name is not one we would serve): 404."""


def safe_name(name: str) -> str:
    """``name`` if it is one plain path component we could have written; NotFound otherwise."""
    if not isinstance(name, str) or not _SAFE.fullmatch(name) or ".." in name:
        raise NotFound(f"no such file: {name!r}")
    return name


def resolve_inside(root: Path, *parts: str) -> Path:
    """The existing file ``root/part/…``, each part a safe name and the real path (symlinks
    followed) still under ``root``; NotFound for anything else (``..``, ``/etc/passwd``, a link out)."""
    base = Path(root).resolve()
    target = base.joinpath(*(safe_name(part) for part in parts)).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise NotFound(f"no such file: {'/'.join(parts)}")
    return target


def rupiah(value: Decimal | int | str | None) -> int | None:
    """Money as whole rupiah (bank amounts carry ``.00``); None stays None. A value with cents is
    rounded down: the exact amount stays in the store and the workbooks."""
    if value is None:
        return None
    return int(Decimal(value))


#: How each kind of file we keep is served: media type, and whether as a download. Portal HTML
#: (a failure capture) is text from outside: served as plain text to download, never as a page.
_MEDIA = {".png": ("image/png", False), ".txt": ("text/plain; charset=utf-8", False),
          ".html": ("text/plain; charset=utf-8", True), ".zip": ("application/zip", True),
          ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True),
          ".csv": ("text/csv; charset=utf-8", True)}


@dataclass(frozen=True)
class ServedFile:
    """A file the web may send: where it is, its name, media type, and inline or as a download.
    Send it with ``X-Content-Type-Options: nosniff``."""

    path: Path
    name: str
    media_type: str
    as_attachment: bool
    content: bytes | None = None   # set: the file comes from the store (another host wrote it)


def served(path: Path) -> ServedFile:
    media_type, attachment = _MEDIA.get(path.suffix.lower(), ("application/octet-stream", True))
    return ServedFile(path, path.name, media_type, attachment)


def from_store(store, relative: str) -> ServedFile:
    """A file kept in the store's shared outputs (bots/outputs.py) at ``relative``, to send;
    NotFound when no host kept it. ``relative`` must already be one the caller would serve."""
    from bots.outputs import fetch_path

    found = None if store is None else fetch_path(store, relative)
    if found is None:
        raise NotFound(f"not kept in the store: {relative!r}")
    file = served(Path(relative))
    return ServedFile(file.path, file.name, file.media_type, file.as_attachment, found[1])


def local_or_stored(root: Path, relative: str, store) -> ServedFile:
    """The host's own copy under ``root`` (reports/), else the newest copy any host kept in the store."""
    try:
        return served(resolve_inside(root, *relative.split("/")))
    except NotFound:
        return from_store(store, relative)
