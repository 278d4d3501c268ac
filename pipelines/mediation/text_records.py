"""Reading text CDR files that write one call per CSV line (Asterisk, FreeSWITCH, Cisco CUCM).

Each line is decoded and CSV-parsed on its own, so that a broken line (invalid UTF-8, an
unclosed quote) is rejected alone: Python's csv module, reading a whole file, would silently
swallow every following line into the open field. A row's own checks raise RowError, which
becomes that row's reject; ``whole_seconds`` is the one field check these formats share.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from typing import Any

from pipelines.mediation.records import ParsedRecord, RejectedRecord
from pipelines.schema import RejectReason

#: Maps one line's CSV fields to the canonical usage values; raises RowError to reject it.
RowParser = Callable[[list[str]], dict[str, Any]]

_DIGITS = re.compile(r"[0-9]+")


class RowError(Exception):
    """Why one row cannot become a usage record: a reject reason and a detail for the log."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def split_lines(data: bytes) -> list[bytes]:
    """The lines of ``data``, each without its LF or CRLF ending."""
    return [line.removesuffix(b"\r") for line in data.split(b"\n")]


def read_line_records(
    data: bytes, parse_row: RowParser, *, skipinitialspace: bool = False
) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield one ParsedRecord or RejectedRecord per non-blank line of a headerless file.

    record_number is the 1-based line number. Blank lines carry no record and are skipped
    (their numbers are not reused). A file without any record yields a single EMPTY_FILE
    reject with record_number 0. ``skipinitialspace`` is the csv module's option.
    """
    found = False
    for number, raw in enumerate(split_lines(data), start=1):
        if not raw.strip():
            continue
        found = True
        yield parse_line_record(number, raw, parse_row, skipinitialspace=skipinitialspace)
    if not found:
        yield RejectedRecord(0, RejectReason.EMPTY_FILE, f"{len(data)} bytes, no CDR line", "")


def parse_line_record(
    number: int, raw: bytes, parse_row: RowParser, *, skipinitialspace: bool = False
) -> ParsedRecord | RejectedRecord:
    """Decode and CSV-parse one line, then map its fields with ``parse_row``.

    A line that is not UTF-8 is an INVALID_ENCODING reject, one the csv module cannot read
    (such as an unclosed quote) a MALFORMED_ROW reject, and a RowError from ``parse_row`` a
    reject with its reason. A reject carries the line as text, undecodable bytes escaped.
    """
    try:
        return ParsedRecord(number, parse_row(_csv_fields(raw, skipinitialspace)))
    except RowError as error:
        text = raw.decode("utf-8", errors="backslashreplace")
        return RejectedRecord(number, error.reason, error.detail, text)


def whole_seconds(name: str, value: str) -> int:
    """Read a count of seconds written as digits; anything else is INVALID_DURATION."""
    if value.startswith("-") and _DIGITS.fullmatch(value[1:]):
        raise RowError(RejectReason.INVALID_DURATION, f"{name} {value} is negative")
    if not _DIGITS.fullmatch(value):
        raise RowError(
            RejectReason.INVALID_DURATION, f"{name} {value!r} is not a whole number of seconds"
        )
    # Beyond 18 digits a count no longer fits the lake's 64-bit column (and beyond 4,300
    # int() refuses it): a corrupt field, not a call.
    if len(value.lstrip("0")) > 18:
        raise RowError(RejectReason.INVALID_DURATION, f"{name} has {len(value)} digits")
    return int(value)


def _csv_fields(raw: bytes, skipinitialspace: bool) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(
            RejectReason.INVALID_ENCODING,
            f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8",
        ) from exc
    try:
        return next(csv.reader([text], strict=True, skipinitialspace=skipinitialspace))
    except csv.Error as exc:
        raise RowError(RejectReason.MALFORMED_ROW, f"CSV error: {exc}") from exc
