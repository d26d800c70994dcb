"""What the portals' filtered lists share: a refusal page, the date filter, the CSV export.

Otomax's lists (tickets, transactions, VA/retail requests, Bon / TOP) and the gateway's
transactions read filters from the query string, show a paginated table and offer a CSV export
that takes the same filters. `add_listing` registers such a pair of pages once, so every list
answers a bad filter, links its export and names its CSV the same way.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable
from urllib.parse import urlencode

from flask import Response, request

from mock_portals.framework import Column, Portal
from mock_portals.world import JAKARTA, World


class Refused(Exception):
    """A request the portal answers with an error page instead of doing anything."""

    def __init__(self, status: int, title: str, text: str):
        super().__init__(text)
        self.status, self.title, self.text = status, title, text


def refused_page(portal: Portal, exc: Refused):
    """The portal's error page for a refusal, with a way back to where the person came from."""
    return portal.message(exc.title, exc.text, status=exc.status, back=request.referrer)


def filter_day(args, name: str) -> date | None:
    """A date filter (`dari`, `sampai`, `tanggal`) as typed: None when empty, Refused when not TTTT-BB-HH."""
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(400, "Filter Tidak Valid", f"Tanggal '{text}' tidak valid; gunakan format TTTT-BB-HH.") from None


def period(args) -> tuple[date | None, date | None]:
    """The listing's period filters `dari` and `sampai` (either may be empty), or Refused."""
    return filter_day(args, "dari"), filter_day(args, "sampai")


def in_period(day: date, since: date | None, until: date | None) -> bool:
    """Whether a row's day (WIB) falls in the period, both ends included."""
    return (since is None or day >= since) and (until is None or day <= until)


@dataclass(frozen=True)
class ListFilters:
    """The filters most lists share: `status` (as the portal spells it), the period `dari`–`sampai`
    (WIB days) and `q`, a text searched in the row's ids whatever its case."""

    status: str
    since: date | None
    until: date | None
    query: str

    @classmethod
    def read(cls, args) -> ListFilters:
        since, until = period(args)
        return cls(args.get("status", "").strip().upper(), since, until, args.get("q", "").strip().lower())

    def keep(self, status: str, day: date, *ids: str) -> bool:
        """Whether a row of this status, on this day, whose ids are `ids`, is listed."""
        return ((not self.status or status == self.status) and in_period(day, self.since, self.until)
                and (not self.query or any(self.query in text.lower() for text in ids)))


def export_link(path: str) -> str:
    """The export's URL: it takes the listing's filters, without its pagination."""
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page") and v}
    return f"{request.script_root}{path}" + (f"?{urlencode(args)}" if args else "")


def csv_answer(rows: list[dict], columns: tuple[str, ...], stem: str, now: datetime) -> Response:
    """A CSV attachment: the header, then one line per row; times ISO 8601 in WIB."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    name = f"{stem}-{now.astimezone(JAKARTA):%Y%m%d-%H%M%S}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(JAKARTA).isoformat(timespec="seconds")
    return str(value)


def add_listing(portal: Portal, world: World, rule: str, endpoint: str, title: str, columns: list[Column],
                rows: Callable[[World, object], list[dict]], csv_columns: tuple[str, ...], stem: str, *,
                filters: list[dict] | Callable[[], list[dict]] = (),
                actions: Callable[[dict], list[dict]] | None = None) -> None:
    """Register a filtered list at `rule` (endpoint `endpoint`) and its CSV export at `rule/unduh`
    (endpoint `endpoint_export`); both read `rows(world, request.args)`, a Refused becomes the error page.

    `filters` may be a function when the choices come from the data (read after the rows).
    """

    def listing():
        try:
            found = rows(world, request.args)
        except Refused as exc:
            return refused_page(portal, exc)
        return portal.listing(title, columns, found, filters=filters() if callable(filters) else filters,
                              actions=actions, export=export_link(f"{rule}/unduh"))

    def export():
        try:
            found = rows(world, request.args)
        except Refused as exc:
            return refused_page(portal, exc)
        return csv_answer(found, csv_columns, stem, world.now())

    listing.__name__, export.__name__ = endpoint, f"{endpoint}_export"
    portal.page(rule)(listing)
    portal.page(f"{rule}/unduh")(export)
