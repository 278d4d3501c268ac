"""Quarantine and replay: an operator's corrected text for a rejected record.

A fix is a row of the lake table ``quarantine_fixes``: the text one quarantined record of a
landing file should have had. Mediation applies the fixes of a file to its bytes before
parsing (``apply_fixes``), so a fixed record is parsed like any other: accepted when the fix
is good, rejected again with the new reason when not. The landing file is never changed and
keeps its identity (file_id is the checksum of the bytes as delivered), and re-mediating a
partition gives the same lake whatever the number of replays. docs/mediation.md describes
the operator's workflow (``telcolake quarantine list`` / ``replay``).

What a record's text is depends on how its parser numbers records:

- Asterisk, FreeSWITCH, OpenSIPS: the line whose 1-based number is the record_number (for
  an OpenSIPS call, the line of its opening INVITE);
- Cisco CUCM: the record_number-th non-blank line after the two header lines;
- TS 32.298 BER: the hex of the CDR payload at that 1-based position in the TS 32.297 file;
- TAP 3: none; a TAP batch is accepted or returned whole (TD.57), so the partner resends it.
"""

from __future__ import annotations

import csv
import hashlib
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.config import Layout
from pipelines.formats.ts32297 import (
    CDR_HEADER_FIXED_LENGTH,
    TruncatedCdrError,
    Ts32297Error,
    decode_file_header,
    iter_cdrs,
)
from pipelines.lake import read_partition, read_table, write_partition
from pipelines.schema import QUARANTINE_FIX_SCHEMA, REJECT_SCHEMA, Feed

#: Feeds whose record_number is the 1-based line number in the file.
LINE_NUMBERED_FEEDS = frozenset(
    {Feed.ASTERISK_CDR_CSV, Feed.FREESWITCH_CDR_CSV, Feed.OPENSIPS_FLATSTORE}
)
#: Feeds whose record_number counts the non-blank lines after a header of this many lines.
HEADER_LINES: dict[str, int] = {Feed.CISCO_CUCM_CDR: 2}

#: The columns of ``export_rejects`` and of the CSV an operator fills in (fixed_text).
EXPORT_SCHEMA = pa.schema(
    [
        *(field for field in REJECT_SCHEMA if field.name != "raw_text"),
        ("original_text", pa.string()),
        ("fixed_text", pa.string()),
    ]
)

_FIX_ORDER = ("file_name", "switch_id", "record_number", "file_id")
# TS 32.297 6.1.2: release identifier 7 (Release 10 or later) adds an extension octet to a
# CDR header.
_RELEASE_EXTENDED = 7


class QuarantineError(ValueError):
    """Fixes that cannot be recorded; the message names every offending CSV row."""


@dataclass(frozen=True)
class FixImport:
    """What ``record_fixes`` did with an operator's CSV."""

    recorded: int  # fixes new or with a changed text
    unchanged: int  # fixes already recorded with the same text (kept as they were)
    withdrawn: int  # fixes removed: the row's fixed_text was the record's original text
    partitions: list[tuple[str, date]]  # every (feed, file_date) the CSV names: re-mediate


def record_text(feed: str, data: bytes, record_number: int) -> str:
    """The original text of record ``record_number`` of a file, as an operator edits it.

    A text record is its line, decoded as UTF-8 with undecodable bytes escaped (``\\xe9``);
    a BER record the hex of its CDR payload. Raises ValueError when the file has no such
    record, and for TAP 3, whose files cannot be fixed record by record.
    """
    if feed in LINE_NUMBERED_FEEDS or feed in HEADER_LINES:
        lines = data.split(b"\n")
        line = lines[_line_indexes(feed, lines, [record_number])[record_number]]
        return line.removesuffix(b"\r").decode("utf-8", errors="backslashreplace")
    if feed == Feed.TS32298_BER:
        cdr = _read_cdrs(data).fixable(record_number)
        return data[cdr.payload_start : cdr.end].hex()
    raise _not_fixable(feed)


def apply_fixes(feed: str, data: bytes, fixes: Mapping[int, str]) -> bytes:
    """The file's bytes with each fixed record (record_number -> text) in place of its own.

    Text formats: the record's line is replaced, keeping its line ending. BER: the CDR
    payload is replaced by the bytes of the fixed hex, with its CDR header's length and the
    file header's file length set to match. The CDR count is left as the switch declared
    it: fixes replace CDRs one for one. Without fixes ``data`` itself is returned. Raises
    ValueError for a record the file does not have, a text fix that is blank or holds a
    line break (it would add or delete records), and a BER fix that is not hex.
    """
    if not fixes:
        return data
    if feed in LINE_NUMBERED_FEEDS or feed in HEADER_LINES:
        lines = data.split(b"\n")
        indexes = _line_indexes(feed, lines, fixes)
        for record_number, text in fixes.items():
            index = indexes[record_number]
            ending = b"\r" if lines[index].endswith(b"\r") else b""
            lines[index] = _fixed_line(record_number, text) + ending
        return b"\n".join(lines)
    if feed == Feed.TS32298_BER:
        return _apply_ber_fixes(data, fixes)
    raise _not_fixable(feed)


def fixes_by_file(layout: Layout, feed: str, file_date: date) -> dict[str, dict[int, str]]:
    """The recorded fixes of a partition: file_id -> record_number -> fixed text.

    When a record has several fixes, the one fixed last (fixed_at) wins.
    """
    table = read_partition(layout, "quarantine_fixes", _partition(feed, file_date))
    if table.num_rows == 0:
        return {}
    fixes: dict[str, dict[int, str]] = {}
    for row in sorted(table.to_pylist(), key=lambda row: row["fixed_at"]):
        fixes.setdefault(row["file_id"], {})[row["record_number"]] = row["fixed_text"]
    return fixes


def export_rejects(
    layout: Layout,
    feed: str | None = None,
    file_date: date | None = None,
    reason: str | None = None,
) -> pa.Table:
    """Record-level rejects (EXPORT_SCHEMA) with each record's original text, to be fixed.

    original_text is read from the landing file; it is null when the landing file is gone
    or no longer holds the bytes that were mediated, and for a record that cannot be fixed
    (TAP 3, a CDR cut inside its header).
    fixed_text is empty, for the operator to fill in. Sorted by feed, file_date, file_name,
    switch_id and record_number.
    """
    where: dict[str, object] = {}
    if feed is not None:
        where["feed"] = feed
    if file_date is not None:
        where["file_date"] = file_date.isoformat()
    rejects = [
        row
        for row in read_table(layout, "rejects", where).to_pylist()
        if row["record_number"] > 0 and (reason is None or row["reason_code"] == reason)
    ]
    rejects.sort(
        key=lambda row: tuple(
            row[c] for c in ("feed", "file_date", "file_name", "switch_id", "record_number")
        )
    )
    landing: dict[tuple[str, str, str], bytes | None] = {}
    rows = []
    for row in rejects:
        key = (row["feed"], row["switch_id"], row["file_name"])
        if key not in landing:
            landing[key] = _landing_bytes(layout, *key, file_id=row["file_id"])
        data = landing[key]
        original = None
        if data is not None:
            try:
                original = record_text(row["feed"], data, row["record_number"])
            except ValueError:  # nothing an operator could edit: TAP, a CDR cut in its header
                original = None
        rows.append(
            {
                **{name: row[name] for name in EXPORT_SCHEMA.names if name in row},
                "original_text": original,
                "fixed_text": "",
            }
        )
    return pa.Table.from_pylist(rows, schema=EXPORT_SCHEMA)


def write_rejects_csv(rejects: pa.Table, path: Path) -> None:
    """Write ``export_rejects``'s table as the CSV an operator fills in (UTF-8, header)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=EXPORT_SCHEMA.names)
        writer.writeheader()
        writer.writerows(rejects.to_pylist())


def record_fixes(layout: Layout, fixes_csv_path: Path, fixed_by: str, fix_reason: str) -> FixImport:
    """Record the fixes of an operator's CSV (``write_rejects_csv`` with fixed_text filled in).

    Rows with an empty fixed_text are skipped. Every other row must name a record that is a
    reject of its file in the ``rejects`` table, or that already has a fix (a fix may be
    corrected after its replay accepted the record), its landing file must still hold the
    mediated bytes, and the fix must apply (``apply_fixes``). One bad row refuses the whole
    CSV with a QuarantineError naming each; nothing is written. A fix replaces the earlier
    fix of its record; one whose text is already recorded keeps its row, so importing the
    same CSV again leaves the table's files as they were. A fixed_text equal to the record's
    original text withdraws its fix.
    """
    if not fixed_by.strip() or not fix_reason.strip():
        raise QuarantineError("a fix needs who made it (fixed_by) and why (fix_reason)")
    with fixes_csv_path.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.DictReader(source)
        required = ("file_id", "feed", "file_date", "record_number", "fixed_text")
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise QuarantineError(f"{fixes_csv_path} lacks the column(s) {', '.join(missing)}")
        # Rows numbered as a spreadsheet shows them: the header is row 1.
        wanted = [(number, row) for number, row in enumerate(reader, start=2) if row["fixed_text"]]

    checker = _FixChecker(layout)
    problems: list[str] = []
    fixes: dict[tuple[str, date], dict[tuple[str, int], tuple[dict[str, Any], bool]]] = {}
    for number, row in wanted:
        try:
            partition, fix, is_original = checker.check(row)
        except ValueError as error:
            problems.append(f"row {number} ({_describe(row)}): {error}")
            continue
        key = (fix["file_id"], fix["record_number"])
        earlier = fixes.setdefault(partition, {}).get(key)
        if earlier is not None and earlier[0]["fixed_text"] != fix["fixed_text"]:
            problems.append(f"row {number} ({_describe(row)}): a second, different fix")
        fixes[partition][key] = (fix, is_original)
    if problems:
        raise QuarantineError(
            f"{len(problems)} row(s) refused, no fix recorded:\n" + "\n".join(problems)
        )

    fixed_at = datetime.now(UTC)
    recorded = unchanged = withdrawn = 0
    for (feed, file_date), new in sorted(fixes.items()):
        values = _partition(feed, file_date)
        current = {
            (row["file_id"], row["record_number"]): row
            for row in read_partition(layout, "quarantine_fixes", values).to_pylist()
        }
        changed = False
        for key, (fix, is_original) in new.items():
            if is_original:
                if current.pop(key, None) is None:
                    unchanged += 1
                else:
                    withdrawn += 1
                    changed = True
                continue
            if key in current and current[key]["fixed_text"] == fix["fixed_text"]:
                unchanged += 1
                continue
            current[key] = {
                **fix,
                "fixed_by": fixed_by,
                "fix_reason": fix_reason,
                "fixed_at": fixed_at,
            }
            recorded += 1
            changed = True
        if changed:
            rows = sorted(current.values(), key=lambda row: tuple(row[c] for c in _FIX_ORDER))
            table = pa.Table.from_pylist(rows, schema=QUARANTINE_FIX_SCHEMA)
            write_partition(layout, "quarantine_fixes", values, table)
    return FixImport(recorded, unchanged, withdrawn, sorted(fixes))


class _FixChecker:
    """Checks CSV rows against the lake and the landing files, reading each once."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        # (feed, file_date) -> (file_id, record_number) -> the reject or fix row naming it
        self.known: dict[tuple[str, date], dict[tuple[str, int], dict[str, Any]]] = {}
        self.landing: dict[tuple[str, str, str, str], bytes | None] = {}

    def check(self, row: Mapping[str, str | None]) -> tuple[tuple[str, date], dict[str, Any], bool]:
        """The row's partition, its fix (QUARANTINE_FIX_SCHEMA's record columns) and whether
        the fix is the record's original text."""

        def value(column: str) -> str:
            return (row.get(column) or "").strip()

        feed = value("feed")
        if feed not in Feed.__members__.values():
            raise ValueError(f"unknown feed {feed!r}")
        if feed == Feed.TAP3:
            raise _not_fixable(feed)
        try:
            file_date = date.fromisoformat(value("file_date"))
            record_number = int(value("record_number"))
        except ValueError as error:
            raise ValueError(f"file_date or record_number unreadable: {error}") from None
        file_id = value("file_id")
        named = self._known(feed, file_date).get((file_id, record_number))
        if named is None:
            raise ValueError(
                f"record {record_number} of file {file_id[:16]}... is not a reject of "
                f"{feed} {file_date} (export the rejects again)"
            )
        for column in ("file_name", "switch_id"):
            if value(column) and value(column) != named[column]:
                raise ValueError(f"{column} {value(column)!r} is not the lake's {named[column]!r}")
        data = self._landing(feed, named["switch_id"], named["file_name"], file_id)
        if data is None:
            raise ValueError(
                f"landing/{feed}/{named['switch_id']}/{named['file_name']} is gone or no "
                "longer holds the mediated bytes"
            )
        fixed_text = row.get("fixed_text") or ""
        is_original = apply_fixes(feed, data, {record_number: fixed_text}) == data
        fix = {
            "file_id": file_id,
            "file_name": named["file_name"],
            "feed": feed,
            "switch_id": named["switch_id"],
            "file_date": file_date,
            "record_number": record_number,
            "fixed_text": fixed_text,
        }
        return (feed, file_date), fix, is_original

    def _known(self, feed: str, file_date: date) -> dict[tuple[str, int], dict[str, Any]]:
        partition = (feed, file_date)
        if partition not in self.known:
            values = _partition(feed, file_date)
            rows = [
                *read_partition(self.layout, "quarantine_fixes", values).to_pylist(),
                *(
                    row
                    for row in read_partition(self.layout, "rejects", values).to_pylist()
                    if row["record_number"] > 0
                ),
            ]
            self.known[partition] = {(row["file_id"], row["record_number"]): row for row in rows}
        return self.known[partition]

    def _landing(self, feed: str, switch_id: str, file_name: str, file_id: str) -> bytes | None:
        key = (feed, switch_id, file_name, file_id)
        if key not in self.landing:
            self.landing[key] = _landing_bytes(
                self.layout, feed, switch_id, file_name, file_id=file_id
            )
        return self.landing[key]


@dataclass(frozen=True)
class _CdrSpan:
    """Where one CDR (header and payload) lies in a TS 32.297 file."""

    start: int
    header_size: int
    end: int  # the end of the data for a CDR cut short

    @property
    def payload_start(self) -> int:
        return self.start + self.header_size

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class _CdrFile:
    header_length: int
    records: list[_CdrSpan]  # by record number; a CDR cut short by the file's end is last

    def fixable(self, record_number: int) -> _CdrSpan:
        """The CDR ``record_number``; ValueError when there is none or no payload to fix."""
        if not 1 <= record_number <= len(self.records):
            raise ValueError(f"the file has no CDR {record_number} (it has {len(self.records)})")
        cdr = self.records[record_number - 1]
        if len(cdr) < cdr.header_size:
            raise ValueError(
                f"CDR {record_number} is cut inside its CDR header: there is no payload to fix; "
                "ask the switch to resend the file"
            )
        return cdr


def _read_cdrs(data: bytes) -> _CdrFile:
    """The CDRs of a TS 32.297 file as the ts32298_ber parser numbers them."""
    try:
        header_length = decode_file_header(data).header_length
    except Ts32297Error as error:
        raise ValueError(f"the file header is unreadable ({error}): no record to fix") from error
    records = []
    try:
        for cdr in iter_cdrs(data, header_length):
            size = _cdr_header_size(data, cdr.offset)
            records.append(_CdrSpan(cdr.offset, size, cdr.offset + size + len(cdr.payload)))
    except TruncatedCdrError as error:
        size = _cdr_header_size(data, error.offset)
        records.append(_CdrSpan(error.offset, size, len(data)))
    return _CdrFile(header_length, records)


def _cdr_header_size(data: bytes, offset: int) -> int:
    # The CDR header: 2 octets length, the release octet, the format octet (ts32297).
    release_octet = data[offset + 2] if offset + 2 < len(data) else 0
    return CDR_HEADER_FIXED_LENGTH + (release_octet >> 5 == _RELEASE_EXTENDED)


def _apply_ber_fixes(data: bytes, fixes: Mapping[int, str]) -> bytes:
    cdrs = _read_cdrs(data)
    payloads: dict[int, bytes] = {}
    for record_number, text in fixes.items():
        cdrs.fixable(record_number)
        try:
            payload = bytes.fromhex(text)
        except ValueError as error:
            raise ValueError(f"record {record_number}: the fix is not hex ({error})") from None
        if not payload:
            raise ValueError(f"record {record_number}: an empty fix would delete the CDR")
        if len(payload) > 0xFFFF:
            raise ValueError(
                f"record {record_number}: {len(payload)} octets do not fit a CDR header"
            )
        payloads[record_number] = payload
    parts = [data[: cdrs.header_length]]
    for record_number, cdr in enumerate(cdrs.records, start=1):
        fixed_payload = payloads.get(record_number)
        if fixed_payload is None:
            parts.append(data[cdr.start : cdr.end])
        else:
            # The CDR header keeps its release and format octets; its length is the fix's.
            release_and_format = data[cdr.start + 2 : cdr.payload_start]
            parts += [struct.pack(">H", len(fixed_payload)), release_and_format, fixed_payload]
    fixed = b"".join(parts)
    # The file header opens with the file length (TS 32.297 6.1.1).
    return struct.pack(">I", len(fixed)) + fixed[4:]


def _line_indexes(feed: str, lines: list[bytes], record_numbers: Iterable[int]) -> dict[int, int]:
    """record_number -> index in ``lines`` (the file split at LF) of the record's line."""
    header = HEADER_LINES.get(feed, 0)
    # Headerless formats number every line, blank ones included; after a header, only the
    # non-blank lines are numbered.
    numbered = (
        [i for i in range(header, len(lines)) if lines[i].strip()] if header else range(len(lines))
    )
    indexes = {}
    for record_number in record_numbers:
        index = numbered[record_number - 1] if 1 <= record_number <= len(numbered) else None
        if index is None or not lines[index].strip():
            raise ValueError(f"the file has no record {record_number}")
        indexes[record_number] = index
    return indexes


def _fixed_line(record_number: int, text: str) -> bytes:
    if "\n" in text or "\r" in text:
        raise ValueError(
            f"record {record_number}: the fix holds a line break; one record is one line"
        )
    if not text.strip():
        raise ValueError(f"record {record_number}: a blank fix would delete the record")
    return text.encode("utf-8")


def _landing_bytes(
    layout: Layout, feed: str, switch_id: str, file_name: str, *, file_id: str
) -> bytes | None:
    """The landing file's bytes, or None when it is gone or differs from ``file_id``."""
    data = layout.landing_store.read_if_exists(f"{feed}/{switch_id}/{file_name}")
    if data is None:
        return None
    return data if hashlib.sha256(data).hexdigest() == file_id else None


def _not_fixable(feed: str) -> ValueError:
    if feed == Feed.TAP3:
        return ValueError(
            "TAP 3 files are accepted or returned whole (TD.57): a record cannot be fixed; "
            "ask the partner to resend the batch"
        )
    return ValueError(f"feed {feed!r} has no quarantine fixes")


def _partition(feed: str, file_date: date) -> dict[str, object]:
    return {"feed": feed, "file_date": file_date.isoformat()}


def _describe(row: Mapping[str, str | None]) -> str:
    return f"{row.get('file_name') or row.get('file_id', '?')} record {row.get('record_number')}"
