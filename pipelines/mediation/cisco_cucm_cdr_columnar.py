"""Columnar fast path of the Cisco CUCM CDR parser (docs/formats/cisco_cucm_cdr.md).

``parse_file_columnar(data, context)`` returns, for a file it reads with certainty, exactly
``parsed_batch(cisco_cucm_cdr.parse_file(data, context))``; for any other file it returns
None and mediation runs the row parser. It reads only files the row parser would accept
whole: a readable header with every required column, at least one row, and no row that
would be rejected. The header is read by the row parser's own code; the rows by one pass of
a Numba kernel (``kernels.cucm_api``) over the strict subset of CSV that CUCM writes, then
the row parser's checks and mappings as column operations (numpy, pyarrow.compute).
Numbers are normalised by ``numbering.normalise_number`` once per distinct number, except
+1 numbers with a well-formed area code and exchange, whose normal form is the number
without its '+' (tests/mediation/test_cisco_cucm_cdr_columnar.py checks that rule against
normalise_number).
"""

from __future__ import annotations

import csv
import functools
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernels.cucm_api import (
    Kind,
    ScanFailure,
    ScannedRows,
    joined_decimals,
    scan_rows,
    starts_with_ascii,
    text_arrays,
)
from pipelines.mediation.cisco_cucm_cdr import (
    CAUSE_NAMES,
    DEFAULT_TRUNKS,
    DURATION_TOLERANCE_SECONDS,
    REQUIRED_COLUMNS,
    _read_header,
)
from pipelines.mediation.numbering import InvalidNumberError, normalise_number
from pipelines.mediation.records import PARSED_SCHEMA, FileContext, ParsedBatch
from pipelines.mediation.text_records import RowError

#: Integer fields in kernel slot order, with how the row parser reads them.
INTEGER_FIELDS = (
    ("globalCallID_callManagerId", Kind.IDENTIFIER),
    ("globalCallID_callId", Kind.IDENTIFIER),
    ("origLegCallIdentifier", Kind.IDENTIFIER),
    ("destLegIdentifier", Kind.IDENTIFIER),
    ("duration", Kind.IDENTIFIER),
    ("dateTimeOrigination", Kind.EPOCH),
    ("dateTimeConnect", Kind.EPOCH),
    ("dateTimeDisconnect", Kind.EPOCH),
    ("origCause_value", Kind.CAUSE),
    ("destCause_value", Kind.CAUSE),
)
#: Text fields in kernel slot order.
TEXT_FIELDS = (
    "callingPartyNumber",
    "finalCalledPartyNumber",
    "lastRedirectDn",
    "origDeviceName",
    "destDeviceName",
)
_MANAGER, _CALL, _ORIG_LEG, _DEST_LEG, _DURATION, _ORIGINATION, _CONNECT, _DISCONNECT = range(8)
_ORIG_CAUSE, _DEST_CAUSE = 8, 9
_CALLING, _FINAL_CALLED, _LAST_REDIRECT, _ORIG_DEVICE, _DEST_DEVICE = range(5)

#: The last second datetime.fromtimestamp accepts (9999-12-31 23:59:59 UTC).
_LAST_EPOCH = 253_402_300_799
#: pa.string() offsets are int32: a file this size cannot overflow one text column.
_MAX_BYTES = 2**31 - 1
#: +1 numbers whose normal form is the digits after '+': normalise_number finds a possible
#: NANP number (ten national digits, area code and exchange starting 2-9).
NANP_E164 = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")
_UTC_MICROS = pa.timestamp("us", tz="UTC")


class _Decline(Exception):
    """The fast path does not read this file with certainty; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_file_columnar(data: bytes, context: FileContext) -> ParsedBatch | None:
    """The ParsedBatch ``parsed_batch(cisco_cucm_cdr.parse_file(data, context))`` would
    give, or None when the file is not one this fast path reads with certainty."""
    result = parse_or_decline(data, context)
    return None if isinstance(result, str) else result


def parse_or_decline(data: bytes, context: FileContext) -> ParsedBatch | str:
    """As parse_file_columnar, but a declined file gives the reason instead of None."""
    try:
        return ParsedBatch(_records(data), [])
    except _Decline as decline:
        return decline.reason


def _records(data: bytes) -> pa.Table:
    if len(data) > _MAX_BYTES:
        raise _Decline(f"{len(data)} bytes: more than one Arrow string column holds")
    columns, body_start = _header(data)
    fields = [(columns[name.lower()], kind) for name, kind in INTEGER_FIELDS]
    fields += [(columns[name.lower()], Kind.TEXT) for name in TEXT_FIELDS]
    fields.append((columns["cdrrecordtype"], Kind.RECORD_TYPE))
    scanned = scan_rows(data, body_start, len(columns), fields, csv.field_size_limit())
    if isinstance(scanned, ScanFailure):
        line = data.count(b"\n", 0, scanned.offset) + 1
        raise _Decline(f"line {line}: {scanned.status.name.lower()} outside the fast path")
    if scanned.count == 0:
        raise _Decline("no CDR row (the row parser rejects the file as empty)")
    return _table(data, scanned)


def _header(data: bytes) -> tuple[dict[str, int], int]:
    """The row parser's column map and the offset of the first data line."""
    names_end = data.find(b"\n")
    types_end = data.find(b"\n", names_end + 1) if names_end >= 0 else -1
    if types_end < 0:
        raise _Decline("fewer than three lines")
    names_line = data[:names_end].removesuffix(b"\r")
    types_line = data[names_end + 1 : types_end].removesuffix(b"\r")
    try:
        columns = _read_header(names_line, types_line)
    except RowError as error:
        raise _Decline(f"header: {error.detail}") from error
    missing = [name for name in REQUIRED_COLUMNS if name.lower() not in columns]
    if missing:
        raise _Decline(f"the header lacks {', '.join(missing)}")
    return columns, types_end + 1


def _table(data: bytes, scanned: ScannedRows) -> pa.Table:
    n = scanned.count
    integers, begin, length = scanned.integers, scanned.text_begin, scanned.text_length
    origination, connect = integers[_ORIGINATION], integers[_CONNECT]
    disconnect, duration = integers[_DISCONNECT], integers[_DURATION]
    connected = connect != 0
    _require((origination != 0) & (disconnect != 0), "a dateTimeOrigination or Disconnect of 0")
    in_order = (origination <= disconnect) & (
        ~connected | ((origination <= connect) & (connect <= disconnect))
    )
    _require(in_order, "times out of order")
    last = _LAST_EPOCH
    _require(
        (origination <= last) & (connect <= last) & (disconnect <= last), "a time after year 9999"
    )
    # |duration - connected seconds| (0 when never connected), in one buffer: a column of
    # 8 MB per million rows costs more to map than to compute.
    gap = disconnect - connect
    gap[~connected] = 0
    gap -= duration
    np.abs(gap, out=gap)
    _require(gap <= DURATION_TOLERANCE_SECONDS, "a duration the times do not match")
    _require(length[_ORIG_DEVICE] > 0, "an empty origDeviceName")

    from_trunk = _is_trunk(data, begin[_ORIG_DEVICE], length[_ORIG_DEVICE])
    to_trunk = _is_trunk(data, begin[_DEST_DEVICE], length[_DEST_DEVICE])
    inbound = from_trunk & ~to_trunk
    # The texts to copy out: served party, other party, incoming and outgoing trunk group.
    # Served: the called party of an inbound call, the forwarder (lastRedirectDn) of a
    # trunk-to-trunk call, else the caller. Other: the caller of an inbound call (null when
    # it sent no number), else the called party.
    picked = [
        [(_CALLING, True), (_LAST_REDIRECT, from_trunk), (_FINAL_CALLED, inbound)],
        [(_FINAL_CALLED, True), (_CALLING, inbound)],
        [(_ORIG_DEVICE, True)],
        [(_DEST_DEVICE, True)],
    ]
    text_begin = np.empty((4, n), np.int32)
    text_length = np.empty((4, n), np.int32)
    for row, choices in enumerate(picked):
        for slot, where in choices:
            np.copyto(text_begin[row], begin[slot], where=where)
            np.copyto(text_length[row], length[slot], where=where)
    present = text_length > 0
    _require(present[0], "a served party without a number")
    _require(present[1] | inbound, "a called party without a number")
    valid = np.stack([np.ones(n, np.bool_), present[1], from_trunk, to_trunk])
    served, other, incoming, outgoing = text_arrays(data, text_begin, text_length, valid)

    cause = np.where(integers[_ORIG_CAUSE] != 0, integers[_ORIG_CAUSE], integers[_DEST_CAUSE])
    zeros = _numbers(pa.int64(), np.zeros(n, np.int64))
    values: dict[str, Any] = {
        "record_number": _numbers(pa.int32(), np.arange(1, n + 1, dtype=np.int32)),
        "record_key": joined_decimals(integers[_MANAGER : _DEST_LEG + 1], ":"),
        "record_type": _choose(inbound, "voice_mt", "voice_mo"),
        "service": _choose(np.zeros(n, np.bool_), "", "voice"),
        "direction": _choose(inbound, "inbound", "outbound"),
        "served_msisdn": _normalised(served),
        "other_party_number": _normalised(other),
        "started_at": _numbers(_UTC_MICROS, origination * 1_000_000),
        "answered_at": _numbers(_UTC_MICROS, connect * 1_000_000, connected),
        "ended_at": _numbers(_UTC_MICROS, disconnect * 1_000_000),
        "duration_seconds": _numbers(pa.int64(), duration),
        "uplink_bytes": zeros,
        "downlink_bytes": zeros,
        "data_volume_bytes": zeros,
        "is_answered": pa.Array.from_buffers(pa.bool_(), n, [None, _bits(connected)]),
        "release_cause": _cause_names(cause),
        "outgoing_trunk_group": outgoing,
        "incoming_trunk_group": incoming,
    }
    # Columns a CDR never fills: all null, on zeroed memory the system hands out untouched.
    unset = pa.py_buffer(np.zeros(4 * (n + 1), np.uint8))
    arrays = [
        values[f.name]
        if f.name in values
        else pa.Array.from_buffers(f.type, n, [unset, unset, unset][: f.type.num_buffers], n)
        for f in PARSED_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=PARSED_SCHEMA)


def _require(holds: np.ndarray, what: str) -> None:
    if not holds.all():
        row = int(np.argmin(holds)) + 1
        raise _Decline(f"row {row}: {what} (the row parser rejects it)")


def _is_trunk(data: bytes, begin: np.ndarray, length: np.ndarray) -> np.ndarray:
    """TrunkRule.is_trunk of DEFAULT_TRUNKS per device name. The kernel's TEXT fields are
    ASCII without edge spaces, so upper-casing ASCII letters is str.strip().upper()."""
    hit = np.zeros(begin.size, np.bool_)
    for prefix in DEFAULT_TRUNKS.prefixes:
        upper = prefix.upper()
        if upper.isascii():  # else no ASCII name starts with it
            hit |= starts_with_ascii(data, begin, length, upper)
    if DEFAULT_TRUNKS.names:
        names = _strings(sorted({name.upper() for name in DEFAULT_TRUNKS.names}))
        (devices,) = text_arrays(data, begin[None, :], length[None, :])
        hit |= pc.is_in(pc.ascii_upper(devices), value_set=names).to_numpy(zero_copy_only=False)
    return hit & (length > 0)


def _choose(condition: np.ndarray, if_true: str, if_false: str) -> pa.Array:
    """A string column of two values, picked per row (all False: a constant column)."""
    indices = _numbers(pa.int8(), condition.astype(np.int8))
    dictionary = _strings([if_false, if_true])
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


def _cause_names(cause: np.ndarray) -> pa.Array:
    causes = _numbers(pa.int64(), cause)
    codes = pc.unique(causes)
    names = [CAUSE_NAMES.get(code, f"Unknown cause {code}") for code in codes.to_pylist()]
    return pc.take(_strings(names), pc.index_in(causes, value_set=codes))


def _normalised(numbers: pa.Array) -> pa.Array:
    """normalise_number of every number (nulls stay null), once per distinct number; a
    number it rejects declines the file."""
    encoded = pc.dictionary_encode(numbers)
    normal = []
    for raw in encoded.dictionary.to_pylist():
        number = raw[1:] if NANP_E164.fullmatch(raw) else _normalise(raw)
        if number is None:
            raise _Decline(f"number {raw!r} is invalid (the row parser rejects its row)")
        normal.append(number)
    return pa.DictionaryArray.from_arrays(encoded.indices, _strings(normal)).dictionary_decode()


# Arrays are built from buffers: pa.array() imports pandas on its first call, a second
# or more that would land on the first file a process parses.
def _numbers(kind: pa.DataType, values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A fixed-width Arrow array over ``values`` (no copy when contiguous), null where
    ``valid`` is False."""
    validity, nulls = None, 0
    if valid is not None and not valid.all():
        validity, nulls = _bits(valid), int(valid.size - np.count_nonzero(valid))
    data = pa.py_buffer(np.ascontiguousarray(values))
    return pa.Array.from_buffers(kind, values.size, [validity, data], nulls)


def _bits(flags: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def _strings(texts: list[str]) -> pa.Array:
    encoded = [text.encode() for text in texts]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum(np.array([len(text) for text in encoded], np.int32), out=offsets[1:])
    return pa.StringArray.from_buffers(
        len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
    )


@functools.lru_cache(maxsize=65536)
def _normalise(raw: str) -> str | None:
    """normalise_number, None for a number it rejects; numbers repeat across files."""
    try:
        return normalise_number(raw)
    except InvalidNumberError:
        return None
