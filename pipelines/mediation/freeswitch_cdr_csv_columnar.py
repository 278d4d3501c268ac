"""Columnar fast path for FreeSWITCH ``mod_cdr_csv`` files in the ``example`` template.

``parse_file_columnar`` reads a whole file at once (pyarrow for the CSV, most columns as
dictionaries; numpy for the per-line arithmetic) and returns exactly what
``parsed_batch(freeswitch_cdr_csv.parse_file(data, context))`` would, or None when it
cannot be certain of that: mediation then runs the row parser. It declines every file in
which the row parser would reject anything, so a batch it returns has no rejects.

Certainty comes in three steps (docs/formats/freeswitch_cdr_csv.md, "Columnar fast path"):

1. Layout. pyarrow splits the file, then the bytes are checked against the lengths of the
   values it returned: every line must be exactly ``"v0","v1",...,"v14"`` (15 quoted
   values, no quote inside, none longer than ``csv.field_size_limit()``, LF or CRLF
   ends). For such a line Python's csv module (the row parser's reader) and pyarrow agree
   by construction.
2. Values. Each column's distinct values are checked with the row parser's own rules
   (number normalisation, strip, withheld callers, contexts, time stamps); the per-line
   work is numpy indexing and arithmetic.
3. Times. A local stamp in an hour with one UTC offset has one reading; stamps in an hour
   with a DST change are read by ``local_time.local_instants`` itself, and the call's
   readings are chosen as ``local_time.best_call_times`` does.
"""

from __future__ import annotations

import csv
import functools
import itertools
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.mediation.freeswitch_cdr_csv import (
    BILLSEC_OVER_DURATION_TOLERANCE,
    EXAMPLE_COLUMNS,
    INBOUND_CONTEXTS,
    WITHHELD_CALLERS,
)
from pipelines.mediation.local_time import local_instants
from pipelines.mediation.numbering import DEFAULT_REGION, InvalidNumberError, normalise_number
from pipelines.mediation.records import PARSED_SCHEMA, FileContext, ParsedBatch
from pipelines.mediation.text_records import RowError

Int64Array = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.integer]
BoolArray = npt.NDArray[np.bool_]

_FIELDS = len(EXAMPLE_COLUMNS)
_UUID = EXAMPLE_COLUMNS.index("uuid")
# Bytes a canonical line adds to its values: two quotes per value, a comma between values.
_SYNTAX_BYTES = 3 * _FIELDS - 1
_QUOTE, _COMMA, _CR, _LF = b'"', b",", b"\r", b"\n"
# Bytes pyarrow reads per block; the layout is checked a block of lines at a time, small
# enough that its bytes stay in cache for all its checks.
_BLOCK_BYTES = 1 << 21
# Files smaller than this are checked and read in one thread: a second would cost more.
_PARALLEL_BYTES = 4 * _BLOCK_BYTES

_PARSE_OPTIONS = pacsv.ParseOptions(
    quote_char='"', double_quote=True, escape_char=False, ignore_empty_lines=False
)
# Columns read as text; the others as dictionaries: few distinct values, each checked once.
_TEXT_COLUMNS = frozenset({"caller_id_name", "uuid", "bleg_uuid"})
_CONVERT_OPTIONS = pacsv.ConvertOptions(
    column_types={
        name: pa.string() if name in _TEXT_COLUMNS else pa.dictionary(pa.int32(), pa.string())
        for name in EXAMPLE_COLUMNS
    },
    strings_can_be_null=False,
    quoted_strings_can_be_null=False,
)

# The row parser's stamp (local_time._STAMP), with the field ranges strptime enforces;
# the day of the month is checked by formatting the parsed time back.
_STAMP = (
    r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"  # year 0001-9999
    r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]) "
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
)
_STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_DIGITS = re.compile(r"[0-9]{1,9}")  # whole seconds; longer values are left to the row parser
_NAIVE_EPOCH = datetime(1970, 1, 1)
_HOUR = timedelta(hours=1)
_LAST_SECOND = timedelta(minutes=59, seconds=59)

# NANP numbers as switches write them, national (10 digits), with the trunk prefix 1 or as
# +1: numbering.normalise_number gives 1 + the ten digits for each (it reads them in the
# US plan). Other numbers go through normalise_number itself.
_NANP = re.compile(r"(?:\+?1)?([2-9][0-9]{2}[2-9][0-9]{6})")


def parse_file_columnar(data: bytes, context: FileContext) -> ParsedBatch | None:
    """The ``ParsedBatch`` of an ``example``-template file, or None to decline.

    Equal to ``parsed_batch(freeswitch_cdr_csv.parse_file(data, context))`` for every file
    it does not decline. It declines a file with any line the row parser would reject
    (and so any empty file), any line not written as 15 quoted values without inner
    quotes, durations over nine digits, and stamps, durations, uuid or hangup_cause with
    surrounding spaces. See docs/formats/freeswitch_cdr_csv.md.
    """
    table = _read_values(data)
    if table is None:
        return None
    tz = ZoneInfo(context.timezone)
    if len(data) < _PARALLEL_BYTES:
        return _batch(table, tz) if _lines_are_canonical(data, table) else None
    # The layout check and the values do not depend on each other; numpy and pyarrow
    # release the GIL, so on two cores the check runs beside the values.
    with ThreadPoolExecutor(max_workers=1) as pool:
        canonical = pool.submit(_lines_are_canonical, data, table)
        batch = _batch(table, tz)
        return batch if canonical.result() else None


def _batch(table: pa.Table, tz: ZoneInfo) -> ParsedBatch | None:
    """The batch of the values of canonical lines, or None if the row parser would reject
    any line or a value is one this path does not read."""
    inbound = _inbound(_Codes(table["context"]))
    if inbound is None or not _causes_are_exact(_Codes(table["hangup_cause"])):
        return None
    duration = _whole_seconds(_Codes(table["duration"]))
    billsec = _whole_seconds(_Codes(table["billsec"]))
    if duration is None or billsec is None:
        return None
    if (billsec > duration + BILLSEC_OVER_DURATION_TOLERANCE).any():
        return None
    times = _call_times(table, duration, billsec, tz)
    if times is None:
        return None
    callers, destinations = _Codes(table["caller_id_number"]), _Codes(table["destination_number"])
    parties = _parties(callers, destinations, inbound)
    if parties is None:
        return None
    return ParsedBatch(_records(table, inbound, billsec, times, parties), [])


# --- layout ----------------------------------------------------------------------------


def _read_values(data: bytes) -> pa.Table | None:
    """The file's values as pyarrow reads them (15 columns, one row per CSV record), or
    None if it cannot; ``_lines_are_canonical`` proves the rows are the file's lines."""
    if len(data) < _SYNTAX_BYTES or not _is_utf8(data):
        return None
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=EXAMPLE_COLUMNS, block_size=_BLOCK_BYTES),
            parse_options=_PARSE_OPTIONS,
            convert_options=_CONVERT_OPTIONS,
        )
    except pa.ArrowInvalid:
        return None  # e.g. a line with another number of values; the row parser says why
    return table if table.num_rows else None


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (the row parser rejects a line that is not)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _lines_are_canonical(data: bytes, table: pa.Table) -> bool:
    """Whether ``data`` is exactly one canonical line per row of ``table``, each line's
    uuid non-empty and starting and ending with a visible ASCII character (so that
    strip() keeps it whole).

    Proof: with L the byte lengths of a row's values, its line must have a quote at each
    value's start and end and a comma between (at the offsets L gives) and its terminator
    after the last quote; and each block of lines must hold no other quote or LF. The
    line then is ``"v0",...,"v14"`` with values free of quotes and LFs, which the csv
    module splits into those values, of the lengths pyarrow gave: pyarrow read it so too.
    Works a record batch of lines at a time, so that its bytes stay in cache.
    """
    first_end = data.find(_LF)
    crlf = first_end > 0 and data[first_end - 1] == _CR[0]
    terminator = 2 if crlf else 1
    octets = np.frombuffer(data, dtype=np.uint8)
    quote, comma, cr, lf = _QUOTE[0], _COMMA[0], _CR[0], _LF[0]
    batches = table.to_batches()
    block_start = 0  # offset of the block's first line
    for number, batch in enumerate(batches):
        if not batch.num_rows:
            continue
        widths = [_byte_lengths(column) for column in batch.columns]
        # The csv module refuses a value past its field limit (the row parser's
        # malformed_row); pyarrow has no such limit.
        if any(width.max() > csv.field_size_limit() for width in widths):
            return False
        line_bytes = np.full(batch.num_rows, _SYNTAX_BYTES + terminator, dtype=np.int64)
        for width in widths:
            line_bytes += width
        ends = np.cumsum(line_bytes) + block_start
        # Only the file's last line may end without its terminator.
        last_block = number == len(batches) - 1
        if ends[-1] > len(data) + (terminator if last_block else 0):
            return False
        opening = ends - line_bytes
        ok = octets[opening] == quote
        for column, width in enumerate(widths):
            close = opening + 1 + width
            ok &= octets[close] == quote
            if column == _UUID:
                ok &= width > 0
                for edge in (octets[opening + 1], octets[close - 1]):
                    ok &= (edge > 0x20) & (edge < 0x7F)
            if column < _FIELDS - 1:
                ok &= octets[close + 1] == comma
                opening = close + 2
                ok &= octets[opening] == quote
        ended = ends <= len(data)
        after = close[ended] + 1
        if crlf:
            ok[ended] &= octets[after] == cr
            after = after + 1
        ok[ended] &= octets[after] == lf
        if not ok.all():
            return False
        # Quotes and LFs all at the places checked: none inside a value.
        text = octets[block_start : int(ends[-1])]
        found = np.count_nonzero(text == quote) + np.count_nonzero(text == lf)
        if found != 2 * _FIELDS * len(ok) + int(ended.sum()):
            return False
        block_start = int(ends[-1])
    return block_start in (len(data), len(data) + terminator)


def _byte_lengths(values: pa.Array) -> IndexArray:
    """The UTF-8 length of each value of a string or dictionary column."""
    if isinstance(values, pa.DictionaryArray):
        lengths: IndexArray = pc.binary_length(values.dictionary).to_numpy()
        return lengths[values.indices.to_numpy()]
    return pc.binary_length(values).to_numpy()


# --- values ----------------------------------------------------------------------------


class _Codes:
    """A dictionary column as its distinct values and each line's index among them."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        encoded = column.unify_dictionaries().combine_chunks()
        self.distinct: pa.Array = encoded.dictionary
        self.lines: IndexArray = encoded.indices.to_numpy()

    def values(self) -> list[str]:
        return self.distinct.to_pylist()


def _inbound(contexts: _Codes) -> BoolArray | None:
    """Whether each line's context is inbound; None if a context is empty."""
    stripped = [value.strip() for value in contexts.values()]
    if not all(stripped):
        return None
    inbound = np.array([context in INBOUND_CONTEXTS for context in stripped], dtype=np.bool_)
    return inbound[contexts.lines]


def _causes_are_exact(causes: _Codes) -> bool:
    """Whether every hangup_cause is non-empty and as the row parser strips it."""
    return all(cause and cause == cause.strip() for cause in causes.values())


def _whole_seconds(values: _Codes) -> Int64Array | None:
    """A duration column as int64, or None if any value is not digits (up to nine)."""
    written = values.values()
    if not all(_DIGITS.fullmatch(value) for value in written):
        return None
    return np.array([int(value) for value in written], dtype=np.int64)[values.lines]


# --- times -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Readings:
    """The UTC instants (epoch seconds) a column of local stamps can mean, per line, in
    the order ``local_instants`` lists them: ``first``, and ``second`` where ``two`` (a
    stamp in the hour repeated at fall-back; elsewhere ``second`` is ``first``).
    ``present`` is False for an empty stamp (its readings are then meaningless)."""

    first: Int64Array
    second: Int64Array
    two: BoolArray
    present: BoolArray


#: Per line: start, answer (meaningless when not answered), end, and whether answered.
_CallTimes = tuple[Int64Array, Int64Array, Int64Array, BoolArray]


def _call_times(
    table: pa.Table, duration: Int64Array, billsec: Int64Array, tz: ZoneInfo
) -> _CallTimes | None:
    """Each line's times as ``_FreeswitchCdrCsv._call_times`` reads them; None if it
    would reject a line (bad or skipped stamp, time 0, out of order, billsec unanswered)."""
    starts = _readings(_Codes(table["start_stamp"]), tz, optional=False)
    answers = _readings(_Codes(table["answer_stamp"]), tz, optional=True)
    ends = _readings(_Codes(table["end_stamp"]), tz, optional=False)
    if starts is None or answers is None or ends is None:
        return None
    if any(((times.first == 0) | (times.second == 0)).any() for times in (starts, ends)):
        return None  # time 0: the switch recorded no start or end
    # An answer at time 0 (one reading) means never answered.
    answered = answers.present & (answers.two | (answers.first != 0))
    if ((billsec > 0) & ~answered).any():
        return None
    # The first readings, replaced below where another reading is chosen.
    start, answer, end = starts.first, answers.first, ends.first
    # With one reading of each time there is one combination: it must be in order.
    single = ~(starts.two | answers.two | ends.two)
    in_order = (start <= end) & (~answered | ((start <= answer) & (answer <= end)))
    if not (in_order | ~single).all():
        return None
    rows = np.flatnonzero(~single)
    if len(rows):
        chosen = _best_readings(starts, answers, ends, answered, duration, billsec, rows)
        if chosen is None:
            return None
        start[rows], answer[rows], end[rows] = chosen
    return start, answer, end, answered


def _best_readings(
    starts: _Readings,
    answers: _Readings,
    ends: _Readings,
    answered: BoolArray,
    duration: Int64Array,
    billsec: Int64Array,
    rows: Int64Array,
) -> tuple[Int64Array, Int64Array, Int64Array] | None:
    """``local_time.best_call_times`` for the lines ``rows``, vectorised: of the readings
    in order, the one whose spans best match duration and billsec, the first on a tie."""
    answered, duration, billsec = answered[rows], duration[rows], billsec[rows]
    options = [
        ((times.first[rows], times.second[rows]), times.two[rows])
        for times in (starts, answers, ends)
    ]
    chosen = [values[0].copy() for values, _ in options]
    best = np.full(len(rows), np.iinfo(np.int64).max)
    # itertools.product lists combinations as the row parser does; a strictly smaller
    # mismatch replaces the choice, so ties keep the first, as min() does.
    for picks in itertools.product((0, 1), repeat=3):
        valid = np.ones(len(rows), dtype=np.bool_)
        for pick, (_, two) in zip(picks, options, strict=True):
            if pick:
                valid &= two
        start, answer, end = (
            values[pick] for pick, (values, _) in zip(picks, options, strict=True)
        )
        valid &= (start <= end) & (~answered | ((start <= answer) & (answer <= end)))
        gap = np.abs(end - start - duration)
        gap += np.where(answered, np.abs(end - answer - billsec), 0)
        better = valid & (gap < best)
        best[better] = gap[better]
        for kept, value in zip(chosen, (start, answer, end), strict=True):
            kept[better] = value[better]
    if (best == np.iinfo(np.int64).max).any():
        return None  # no combination in order
    return chosen[0], chosen[1], chosen[2]


def _readings(stamps: _Codes, tz: ZoneInfo, *, optional: bool) -> _Readings | None:
    """The UTC readings of a column of ``YYYY-MM-DD HH:MM:SS`` wall times in ``tz``; None
    if a stamp is not a valid time (or is empty, unless ``optional``), lies outside
    datetime's range in UTC or was skipped by a DST change."""
    distinct = stamps.distinct
    present = pc.not_equal(distinct, "").to_numpy(zero_copy_only=False)
    # Wall times as seconds since 1970-01-01 00:00 wall time (that time for no stamp).
    wall = np.zeros(len(distinct), dtype=np.int64)
    written = distinct.filter(pa.array(present)) if optional else distinct
    if len(written):
        seconds = _wall_seconds(written)
        if seconds is None:
            return None
        wall[present] = seconds
    hours, hour = np.unique(wall // 3600, return_inverse=True)
    hour_offsets = _hour_offsets(hours, tz)
    if hour_offsets is None:
        return None
    offsets, changing = hour_offsets
    first = wall - offsets[hour]
    lines = stamps.lines
    in_change = present & changing[hour]
    if not in_change.any():
        one = first[lines]
        return _Readings(one, one, np.zeros(len(lines), dtype=np.bool_), present[lines])
    # Hours with a DST change: each stamp read by the row parser's own function.
    exact = _exact_readings(wall[in_change], tz)
    if exact is None:
        return None
    second = first.copy()
    first[in_change], second[in_change] = exact
    return _Readings(first[lines], second[lines], (first != second)[lines], present[lines])


def _wall_seconds(stamps: pa.Array) -> Int64Array | None:
    """Each stamp as seconds since 1970-01-01 00:00 wall time, or None if one is not a
    time the row parser reads (``local_time._STAMP`` and strptime)."""
    if not pc.all(pc.match_substring_regex(stamps, _STAMP)).as_py():
        return None
    parsed = pc.strptime(stamps, format=_STAMP_FORMAT, unit="s", error_is_null=True)
    # Formatting back rejects the times strptime rejects that arrow's parse rolls over
    # (30 February is read as 1 March).
    formatted = pc.strftime(parsed, format=_STAMP_FORMAT)
    if parsed.null_count or not pc.all(pc.equal(formatted, stamps)).as_py():
        return None
    seconds: Int64Array = parsed.cast(pa.int64()).to_numpy()
    return seconds


def _hour_offsets(hours: Int64Array, tz: ZoneInfo) -> tuple[Int64Array, BoolArray] | None:
    """The UTC offset (seconds) of each wall-clock hour (hours since 1970-01-01 00:00 wall
    time) and whether the hour has a DST change (its offset then means nothing).

    An hour has one offset when both folds of its first and its last second give it: a
    change inside the hour would make them differ (zones do not change twice within an
    hour). None if an hour is outside datetime's range, in local time or in UTC.
    """
    offsets = np.zeros(len(hours), dtype=np.int64)
    changing = np.zeros(len(hours), dtype=np.bool_)
    for index, hour in enumerate(hours.tolist()):
        try:
            wall = _NAIVE_EPOCH + hour * _HOUR
            seen = {
                moment - moment.replace(tzinfo=tz, fold=fold).astimezone(UTC).replace(tzinfo=None)
                for moment in (wall, wall + _LAST_SECOND)
                for fold in (0, 1)
            }
        except OverflowError:
            return None
        if len(seen) == 1:
            offsets[index] = int(seen.pop().total_seconds())
        else:
            changing[index] = True
    return offsets, changing


def _exact_readings(walls: Int64Array, tz: ZoneInfo) -> tuple[Int64Array, Int64Array] | None:
    """``local_instants`` of each wall time (seconds since 1970-01-01 00:00 wall time), its
    first and last reading; None if it rejects one (a time skipped by a DST change)."""
    first = np.empty(len(walls), dtype=np.int64)
    second = np.empty(len(walls), dtype=np.int64)
    for index, wall in enumerate(walls.tolist()):
        text = (_NAIVE_EPOCH + timedelta(seconds=wall)).isoformat(sep=" ")
        try:
            instants = local_instants("stamp", text, tz)
        except RowError:
            return None
        first[index] = int(instants[0].timestamp())
        second[index] = int(instants[-1].timestamp())
    return first, second


# --- numbers ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _normalised(number: str) -> str | None:
    """``normalise_number(number)`` (NANP forms read directly), or None when it raises
    InvalidNumberError. Numbers repeat across lines and files, hence the cache."""
    if DEFAULT_REGION == "US" and (nanp := _NANP.fullmatch(number)):
        return "1" + nanp[1]
    try:
        return normalise_number(number)
    except InvalidNumberError:
        return None


def _parties(
    callers: _Codes, destinations: _Codes, inbound: BoolArray
) -> tuple[pa.Array, pa.Array] | None:
    """served_msisdn and other_party_number per line, as the row parser derives them;
    None if a number it needs does not normalise."""
    caller_values, destination_values = callers.values(), destinations.values()
    caller_numbers = [_normalised(number) for number in caller_values]
    destination_numbers = [_normalised(number) for number in destination_values]
    withheld = np.array(
        [number.strip().lower() in WITHHELD_CALLERS for number in caller_values], dtype=np.bool_
    )
    caller_valid = np.array([number is not None for number in caller_numbers], dtype=np.bool_)
    # Every distinct value is some line's: each destination must normalise.
    if any(number is None for number in destination_numbers):
        return None
    caller = callers.lines
    caller_withheld = inbound & withheld[caller]
    if not (caller_valid[caller] | caller_withheld).all():
        return None
    # One value list: callers' numbers, destinations' numbers, then null (withheld).
    values = pa.array([*caller_numbers, *destination_numbers, None], type=pa.string())
    destination = destinations.lines + len(caller_numbers)
    withheld_index = len(values) - 1
    served = np.where(inbound, destination, caller)
    other = np.where(inbound, np.where(caller_withheld, withheld_index, caller), destination)
    return values.take(served), values.take(other)


# --- the table -------------------------------------------------------------------------


def _records(
    table: pa.Table,
    inbound: BoolArray,
    billsec: Int64Array,
    times: _CallTimes,
    parties: tuple[pa.Array, pa.Array],
) -> pa.Table:
    """The PARSED_SCHEMA table of the lines, in line order."""
    count = table.num_rows
    start, answer, end, answered = times
    is_inbound = pa.array(inbound)
    zeros = pa.array(np.zeros(count, dtype=np.int64))

    def instants(seconds: Int64Array, mask: BoolArray | None = None) -> pa.Array:
        micros = np.multiply(seconds, 1_000_000, out=seconds)  # the times are ours to reuse
        return pa.array(micros, type=pa.int64(), mask=mask).view(pa.timestamp("us", tz="UTC"))

    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "record_number": pa.array(np.arange(1, count + 1, dtype=np.int32)),
        "record_key": table["uuid"],
        "record_type": pc.if_else(is_inbound, "voice_mt", "voice_mo"),
        "service": pa.repeat("voice", count),
        "direction": pc.if_else(is_inbound, "inbound", "outbound"),
        "served_msisdn": parties[0],
        "other_party_number": parties[1],
        "started_at": instants(start),
        "answered_at": instants(answer, ~answered),
        "ended_at": instants(end),
        "duration_seconds": pa.array(billsec),
        "uplink_bytes": zeros,
        "downlink_bytes": zeros,
        "data_volume_bytes": zeros,
        "is_answered": pa.array((billsec > 0) & answered),
        "release_cause": table["hangup_cause"].cast(pa.string()),
    }
    # Columns the CDR has no value for: one all-null array per type, shared.
    nulls = {
        field.type: pa.nulls(count, field.type)
        for field in PARSED_SCHEMA
        if field.name not in columns
    }
    arrays = [
        columns[field.name] if field.name in columns else nulls[field.type]
        for field in PARSED_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=PARSED_SCHEMA)
