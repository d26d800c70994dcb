"""Bank statement parsers: bytes of a downloaded export -> a normalised ``Statement``.

Pure functions: no file system, no clock (``today`` is an argument), no network. One parser
per export format (``FORMATS``); ``parse_statement`` asks each one's ``identify`` (which only
sniffs the header) and hands the file to the single one that recognises it.

Every malformed input raises ``bots.errors.InputFileError`` naming the file, the line, the
column as ``4 (Jumlah)`` and the offending value; one bad cell rejects the whole file (no
partial statements: a half-read mutasi would look like missing deposits).

Choices:
- a file with a header and no rows is a valid empty statement (a day without mutations) when
  its account is known — from a preamble or the ``account_no`` argument; otherwise it is
  rejected, since a statement must belong to an account;
- ``account_no`` fills in for exports that do not name the account (KlikBCA Bisnis, BNI); if
  the file does name one and it differs, the file is rejected rather than filed elsewhere;
- ``today`` is only used to give a year to KlikBCA ``DD/MM`` dates when the file has no
  ``Periode`` (the latest such date not after ``today``);
- amounts and balances are ``Decimal`` with exactly two places, never negative (direction
  says which way the money went); the period and the opening/closing balances are only
  what the file states (KlikBCA ``Periode`` and footer), never inferred from the rows.
"""

from __future__ import annotations

from datetime import date

from bots.errors import InputFileError

from . import base, bca, bni, bri, mandiri
from .base import StatementFormat, decode
from .model import (Statement, StatementLine, dump, fingerprint, pending_match_key,
                    with_occurrences)

__all__ = [
    "FORMATS", "Statement", "StatementFormat", "StatementLine", "decode", "dump", "fingerprint",
    "identify", "parse_statement", "pending_match_key", "with_occurrences",
]

FORMATS: tuple[StatementFormat, ...] = (bca.INDIVIDUAL, bca.BISNIS, mandiri.MCM, bri.CMS, bni.CSV)


def identify(text: str) -> list[StatementFormat]:
    """The formats whose header appears in the first lines of ``text`` (normally exactly one)."""
    head = "\n".join(base.head(text))
    return [fmt for fmt in FORMATS if fmt.identify(head)]


def parse_statement(data: bytes, name: str, *, today: date | None = None,
                    account_no: str | None = None) -> Statement:
    """Parse one downloaded statement export, whatever its bank and format.

    Args:
        data: the file's bytes, exactly as downloaded.
        name: the file's name, used in error messages and kept as ``Statement.source``.
        today: the local date, to give a year to yearless KlikBCA dates lacking a ``Periode``.
        account_no: the account the file belongs to, for exports that do not say.
    """
    text = decode(data, name)
    found = identify(text)
    if not found:
        first = next((line.strip() for line in base.head(text) if line.strip()), "")
        raise InputFileError(name, "unknown statement format: no known header in the first "
                             f"{base.HEAD_LINES} lines (known: "
                             f"{', '.join(fmt.name for fmt in FORMATS)})", line=1,
                             value=first[:80])
    if len(found) > 1:  # a parser bug: two identify() accept the same header
        raise InputFileError(name, "ambiguous statement format: "
                             + ", ".join(fmt.name for fmt in found), line=1)
    return found[0].parse(text, name, today=today, account_no=account_no)
