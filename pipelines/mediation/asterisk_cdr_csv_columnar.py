"""Columnar fast path of the Asterisk ``cdr_csv`` parser (docs/formats/asterisk_cdr_csv.md).

``parse_file_columnar`` returns what ``parsed_batch(asterisk_cdr_csv.parse_file(...))``
returns, as one Arrow table built from arrays rather than a dict per record:

- a Numba kernel (``kernels.asterisk_cdr_api``) splits the lines, tokenises them in the
  strict CSV subset Asterisk writes, and reads every line it can prove the row parser
  accepts: 18 or 21 columns, a uniqueid, whole durations, real wall times;
- wall times become UTC from per-hour offsets computed with the row parser's own
  ``local_instants``; the kernel then picks the readings ``best_call_times`` would;
- the kernel normalises plain NANP numbers (the tests compare it with
  ``normalise_number``); every other distinct number text is read once, with the row
  parser's own ``normalise_number`` and withheld-caller rule;
- every other non-blank line (a reject, a 16-column row keyed by a hash, a quote inside a
  used field, a time in an hour with a DST change...) goes to the row parser's own per-line
  code, so its record or reject is the row parser's by construction.

It declines (returns None) a file with no record, one where more than
``MAX_ROW_PARSER_SHARE`` of the records need the row parser (the fast path would not pay),
one whose times spread over more than ``MAX_CALL_HOURS`` hours, one of 2 GiB or more, one
for an unknown time zone, and one where the row parser's code raises on a delegated line:
mediation's row path then reports those failures as it does without the fast path.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from kernels.asterisk_cdr_api import (
    MAX_FILE_BYTES,
    LineStatus,
    MasterCsvLines,
    Text,
    call_hours,
    frame_master_csv,
    resolve_call_times,
)
from pipelines.mediation import asterisk_cdr_csv
from pipelines.mediation.local_time import local_instants
from pipelines.mediation.numbering import DEFAULT_REGION, normalise_number
from pipelines.mediation.records import (
    PARSED_SCHEMA,
    FileContext,
    ParsedBatch,
    ParsedRecord,
    RejectedRecord,
    parsed_batch,
)
from pipelines.mediation.text_records import RowError, parse_line_record

#: Above this share of a file's records left to the row parser, decline the whole file.
MAX_ROW_PARSER_SHARE = 0.01
#: A file whose call times spread over more hours than this (~120 years) is declined.
MAX_CALL_HOURS = 1 << 20
#: asterisk_cdr_csv marks a call answered when its disposition is this (and billsec > 0).
ANSWERED = "ANSWERED"

#: Points of each wall-clock hour whose readings must agree for the hour to be read in
#: columns. Since 1970 no tzdata zone changes its UTC offset twice within a day (checked on
#: the installed tzdata), so agreement at both ends, and every quarter between, means no
#: change inside the hour. An hour with a change (a DST switch at the half hour, say) is
#: left to the row parser.
_HOUR_PROBES = (0, 900, 1800, 2700, 3599)
_EPOCH = datetime(1970, 1, 1)
# The kernel normalises plain NANP numbers (``3125550123``, ``13125550123``) itself, as
# normalise_number does (the tests compare the two); only in a region of the NANP.
_NANP_REGION = phonenumbers.country_code_for_region(DEFAULT_REGION) == 1


def parse_file_columnar(data: bytes, context: FileContext) -> ParsedBatch | None:
    """The records and rejects of a Master.csv file, equal to
    ``parsed_batch(asterisk_cdr_csv.parse_file(data, context))``, or None (declined) when
    the fast path does not read it (see the module docstring). Never raises on bad input."""
    if len(data) > MAX_FILE_BYTES:
        return None
    try:
        tz = ZoneInfo(context.timezone)
    except (ValueError, KeyError):  # no such zone: the row parser reports it
        return None
    lines = frame_master_csv(
        data,
        field_limit=csv.field_size_limit(),
        inbound_contexts=asterisk_cdr_csv.INBOUND_CONTEXTS,
        answered_disposition=ANSWERED,
        billsec_tolerance=asterisk_cdr_csv.BILLSEC_OVER_DURATION_TOLERANCE,
        nanp_numbers=_NANP_REGION,
    )
    records = int(np.count_nonzero(lines.status != LineStatus.BLANK))
    if records == 0:
        return None
    keep = np.ones(lines.rows.size, np.bool_)
    hours = call_hours(lines, keep, MAX_CALL_HOURS)
    if hours is None:
        return None
    times = resolve_call_times(lines, keep, hours, *_hour_readings(hours, tz))
    served, other, numbered = _party_numbers(lines)
    keep &= numbered
    lines.status[lines.rows[~keep]] = LineStatus.SLOW
    slow = np.flatnonzero(lines.status == LineStatus.SLOW)
    if slow.size > MAX_ROW_PARSER_SHARE * records:
        return None
    table = _records_table(lines, times, served, other)
    if not keep.all():
        table = table.filter(pa.array(keep))
    if slow.size == 0:
        return ParsedBatch(table, [])
    try:
        return _with_row_parser(table, data, lines, slow, tz)
    except Exception:  # a row parser failure: mediation's row path reports it as usual
        return None


def _hour_readings(hours: np.ndarray, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """Per hour: how many instants its wall times name (int8) and their UTC offsets in
    seconds (int64 (m, 2)), as local_instants finds them; 0 instants when the hour's wall
    times do not all read alike."""
    count = np.zeros(hours.size, np.int8)
    offset = np.zeros((hours.size, 2), np.int64)
    for k, hour in enumerate(hours.tolist()):
        start = _EPOCH + timedelta(hours=hour)
        readings = {_wall_offsets(start + timedelta(seconds=s), tz) for s in _HOUR_PROBES}
        if len(readings) == 1:
            (offsets,) = readings
            count[k] = len(offsets)
            offset[k, : len(offsets)] = offsets
    return count, offset


def _wall_offsets(local: datetime, tz: ZoneInfo) -> tuple[int, ...]:
    """The UTC offsets (seconds) of the instants local_instants reads the wall time as."""
    try:
        instants = local_instants("probe", local.strftime("%Y-%m-%d %H:%M:%S"), tz)
    except RowError:  # skipped by a DST change
        return ()
    wall = local.replace(tzinfo=UTC)
    return tuple(int((wall - instant).total_seconds()) for instant in instants)


@functools.lru_cache(maxsize=1 << 16)
def _dialled(raw: str) -> tuple[bool, str | None]:
    """(accepted, number) of a served or dialled number: normalise_number's."""
    try:
        return True, normalise_number(raw)
    except Exception:  # InvalidNumberError, or a failure the row parser's own run reports
        return False, None


@functools.lru_cache(maxsize=1 << 16)
def _presented(raw: str) -> tuple[bool, str | None]:
    """(accepted, number) of an inbound call's src as the row parser reads it: a withheld
    caller is accepted without a number."""
    caller = raw.strip()
    if caller.lower() in asterisk_cdr_csv.WITHHELD_CALLERS:
        return True, None
    return _dialled(caller)


def _party_numbers(
    lines: MasterCsvLines,
) -> tuple[pa.ChunkedArray, pa.ChunkedArray, np.ndarray]:
    """served_msisdn and other_party_number of the candidate records, and whether the row
    parser accepts both (bool (m,)). The kernel normalised plain NANP numbers; each other
    distinct text is read once, with the row parser's own functions."""
    served, served_ok = _normalise_rest(
        _strings(lines, Text.SERVED), ~lines.served_normalised, _dialled
    )
    other = _strings(lines, Text.OTHER)
    rest = ~lines.other_normalised
    other, dialled_ok = _normalise_rest(other, rest & ~lines.inbound, _dialled)
    other, presented_ok = _normalise_rest(other, rest & lines.inbound, _presented)
    return served, other, served_ok & dialled_ok & presented_ok


def _normalise_rest(
    numbers: pa.ChunkedArray,
    rest: np.ndarray,
    reader: Callable[[str], tuple[bool, str | None]],
) -> tuple[pa.ChunkedArray, np.ndarray]:
    """``numbers`` with the texts where ``rest`` is True replaced by ``reader``'s number,
    and where ``reader`` accepts them (bool, True elsewhere)."""
    accepted = np.ones(len(numbers), np.bool_)
    where = np.flatnonzero(rest)
    if where.size == 0:
        return numbers, accepted
    texts = pc.dictionary_encode(numbers.take(where).combine_chunks())
    outcomes = [reader(text) for text in texts.dictionary.to_pylist()]
    index = texts.indices.to_numpy()
    accepted[where] = np.array([ok for ok, _ in outcomes], np.bool_)[index]
    values = pa.array([number for _, number in outcomes], pa.string()).take(index)
    return pc.replace_with_mask(numbers, pa.array(rest), values), accepted


def _strings(lines: MasterCsvLines, text: Text, valid: np.ndarray | None = None) -> pa.ChunkedArray:
    """Text ``text`` of the candidate records as a string column (one chunk per text chunk
    of ``lines``, so no text is copied), null where ``valid`` is False."""
    arrays = []
    first = 0
    for chunk in lines.text_chunks:
        last = first + chunk.records
        bitmap, nulls = _validity(None if valid is None else valid[first:last])
        buffers = [bitmap, pa.py_buffer(chunk.offsets[text]), pa.py_buffer(chunk.texts[text])]
        arrays.append(pa.Array.from_buffers(pa.string(), chunk.records, buffers, nulls))
        first = last
    return pa.chunked_array(arrays, pa.string())


def _has_text(lines: MasterCsvLines, text: Text) -> np.ndarray:
    """Whether each candidate record's text ``text`` is not empty."""
    return np.concatenate([np.diff(chunk.offsets[text]) > 0 for chunk in lines.text_chunks])


def _validity(valid: np.ndarray | None) -> tuple[pa.Buffer | None, int]:
    if valid is None:
        return None, 0
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return bitmap, int(valid.size - np.count_nonzero(valid))


def _timestamps(micros: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    bitmap, nulls = _validity(valid)
    utc_type = PARSED_SCHEMA.field("started_at").type
    return pa.Array.from_buffers(utc_type, micros.size, [bitmap, pa.py_buffer(micros)], nulls)


def _records_table(
    lines: MasterCsvLines,
    times: tuple[np.ndarray, np.ndarray, np.ndarray],
    served: pa.ChunkedArray,
    other: pa.ChunkedArray,
) -> pa.Table:
    """The PARSED_SCHEMA table of all candidate records (in line order)."""
    m = lines.rows.size
    inbound = lines.inbound
    direction = inbound.astype(np.int8)
    trunk = lines.has_trunk_group
    start, answer, end = times
    zeros = pa.array(np.zeros(m, np.int64))
    columns = {
        "record_number": pa.array((lines.rows + 1).astype(np.int32)),
        "record_key": _strings(lines, Text.RECORD_KEY),
        "record_type": pa.array(["voice_mo", "voice_mt"]).take(direction),
        "service": pa.repeat("voice", m),
        "direction": pa.array(["outbound", "inbound"]).take(direction),
        "served_msisdn": served,
        "other_party_number": other,
        "started_at": _timestamps(start),
        "answered_at": _timestamps(answer, lines.has_answer),
        "ended_at": _timestamps(end),
        "duration_seconds": pa.array(lines.ints[:, 1]),
        "uplink_bytes": zeros,
        "downlink_bytes": zeros,
        "data_volume_bytes": zeros,
        "is_answered": pa.array(lines.is_answered),
        "release_cause": _strings(lines, Text.DISPOSITION),
        "outgoing_trunk_group": _strings(lines, Text.TRUNK_GROUP, trunk & ~inbound),
        "incoming_trunk_group": _strings(lines, Text.TRUNK_GROUP, trunk & inbound),
        "session_key": _strings(lines, Text.LINKEDID, _has_text(lines, Text.LINKEDID)),
    }
    arrays = [
        columns[field.name] if field.name in columns else pa.nulls(m, field.type)
        for field in PARSED_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=PARSED_SCHEMA)


def _with_row_parser(
    table: pa.Table, data: bytes, lines: MasterCsvLines, slow: np.ndarray, tz: ZoneInfo
) -> ParsedBatch:
    """``table`` completed with the row parser's items for the SLOW lines ``slow``: its
    own per-line code (read_line_records calls parse_line_record the same way)."""

    def parse_row(fields: list[str]) -> dict[str, Any]:
        return asterisk_cdr_csv._parse_row(fields, tz)

    parsed: list[ParsedRecord] = []
    rejects: list[RejectedRecord] = []
    for i in slow.tolist():
        raw = data[lines.line_start[i] : lines.line_end[i]]
        item = parse_line_record(i + 1, raw, parse_row)
        if isinstance(item, ParsedRecord):
            parsed.append(item)
        else:
            rejects.append(item)
    if not parsed:
        return ParsedBatch(table, rejects)
    merged = pa.concat_tables([table, parsed_batch(parsed).records])
    numbers = merged.column("record_number").to_numpy()
    return ParsedBatch(merged.take(np.argsort(numbers, kind="stable")), rejects)
