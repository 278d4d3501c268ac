"""Validated entry point to the Cisco CUCM CDR fast path (``kernels.cucm_nb``).

``scan_rows`` reads the data rows of a CUCM flat file (everything after its two header
lines) in one parallel pass: for each row, the integer fields and the spans of the text
fields it is asked for. A line outside the subset the kernel reads (kernels.cucm_nb) gives
a ``ScanFailure`` instead, and the caller declines the file. ``text_arrays`` turns spans
into Arrow string columns, ``joined_decimals`` integers into keys such as ``1:1001:7:8``,
and ``starts_with_ascii`` tests texts against a prefix, ignoring ASCII case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numba
import numpy as np
import pyarrow as pa

from kernels.cucm_nb import (
    count_lines_nb,
    gather_texts_nb,
    join_decimals_nb,
    joined_offsets_nb,
    scan_rows_nb,
    starts_with_ascii_nb,
    text_offsets_nb,
)


class Kind(IntEnum):
    """How the kernel reads a field (codes shared with kernels.cucm_nb)."""

    NOT_READ = 0
    RECORD_TYPE = 1  # exactly "1" (a CDR); checked, not stored
    IDENTIFIER = 2  # 1-10 ASCII digits
    EPOCH = 3  # 1-12 ASCII digits
    CAUSE = 4  # optional '-', then 1-10 ASCII digits
    TEXT = 5  # ASCII, no space or control byte at either end (so str.strip() keeps it)


class Status(IntEnum):
    """Why the kernel stopped (codes shared with kernels.cucm_nb)."""

    OK = 0
    QUOTING = 1  # a quote the subset does not read, or a quoted field left open
    CONTROL_BYTE = 2  # CR (other than before LF) or NUL inside a line
    FIELD_LIMIT = 3  # a field longer than the csv module's field_size_limit()
    COLUMN_COUNT = 4
    RECORD_TYPE = 5
    INTEGER = 6
    TEXT = 7
    ENCODING = 8  # not UTF-8


_INTEGER_KINDS = (Kind.IDENTIFIER, Kind.EPOCH, Kind.CAUSE)
#: Bytes a chunk should hold at least: below that, threads cost more than they save.
_MIN_CHUNK = 1 << 16
#: Text offsets and lengths are int32, as Arrow's string offsets are.
_MAX_OFFSET = 2**31 - 1


def _stop_table() -> np.ndarray:
    """Bit 1: the bytes that end a bare field; bit 2: those that end a quoted one. Bytes
    >= 0x80 stop both, to be checked as UTF-8."""
    stops = np.zeros(256, np.uint8)
    for byte in b'"\n\r\x00':
        stops[byte] = 3
    stops[ord(",")] = 1
    stops[0x80:] = 3
    return stops


_STOPS = _stop_table()


@dataclass(frozen=True)
class ScannedRows:
    """The rows of a file the kernel read, in file order (empty lines are not rows).

    integers: int64 (integer fields, rows), in the order the fields were asked for;
    text_begin: int32 (text fields, rows), where each text starts in the data;
    text_length: int32 (text fields, rows), its length in bytes.
    """

    integers: np.ndarray
    text_begin: np.ndarray
    text_length: np.ndarray
    count: int


@dataclass(frozen=True)
class ScanFailure:
    """The first line (in file order) the kernel does not read, and why."""

    status: Status
    offset: int  # where that line starts in the data


def scan_rows(
    data: bytes,
    start: int,
    columns: int,
    fields: Sequence[tuple[int, Kind]],
    field_limit: int,
) -> ScannedRows | ScanFailure:
    """Read the lines of ``data`` from offset ``start`` as rows of ``columns`` fields.

    fields: (column position, kind) of each field to read; integer kinds fill a row of
    ``integers`` and TEXT a row of ``text_begin``/``text_length``, each in the order given.
    field_limit: the longest field, in bytes, to accept (csv.field_size_limit()).
    """
    if not 0 <= start <= len(data):
        raise ValueError(f"start {start} outside the data")
    if len(data) > _MAX_OFFSET:
        raise ValueError(f"{len(data)} bytes: offsets into the data must fit int32")
    kinds = np.zeros(columns, np.int64)
    slots = np.full(columns, -1, np.int64)
    n_integers = n_texts = 0
    for position, kind in fields:
        if not 0 <= position < columns or kinds[position] != Kind.NOT_READ:
            raise ValueError(f"column {position} is outside the row or asked for twice")
        kinds[position] = kind
        if kind in _INTEGER_KINDS:
            slots[position], n_integers = n_integers, n_integers + 1
        elif kind == Kind.TEXT:
            slots[position], n_texts = n_texts, n_texts + 1
    array = np.frombuffer(data, np.uint8)
    starts, ends = _chunks(data, start)
    counts = np.empty(starts.size, np.int64)
    # Chunks one at a time to whichever thread is free: on a busy machine a thread that
    # waits for a core does not hold up the others.
    with numba.parallel_chunksize(1):
        count_lines_nb(array, starts, ends, counts)
    firsts = np.zeros(starts.size, np.int64)
    np.cumsum(counts[:-1], out=firsts[1:])
    bound = int(counts.sum())
    integers = np.empty((n_integers, bound), np.int64)
    text_begin = np.empty((n_texts, bound), np.int32)
    text_length = np.empty((n_texts, bound), np.int32)
    rows = np.empty(starts.size, np.int64)
    status = np.empty(starts.size, np.int64)
    failed_at = np.empty(starts.size, np.int64)
    with numba.parallel_chunksize(1):
        scan_rows_nb(
            array,
            starts,
            ends,
            firsts,
            kinds,
            slots,
            _STOPS,
            field_limit,
            integers,
            text_begin,
            text_length,
            rows,
            status,
            failed_at,
        )
    failed = np.flatnonzero(status)
    if failed.size:
        k = int(failed[0])
        return ScanFailure(Status(int(status[k])), int(failed_at[k]))
    # Chunks fill their rows from their line bound on; empty lines leave gaps to close.
    count = int(rows.sum())
    if np.array_equal(rows[:-1], counts[:-1]):
        keep: slice | np.ndarray = slice(0, count)
    else:
        keep = np.concatenate([np.arange(f, f + r) for f, r in zip(firsts, rows, strict=True)])
    return ScannedRows(integers[:, keep], text_begin[:, keep], text_length[:, keep], count)


def text_arrays(
    data: bytes, begin: np.ndarray, length: np.ndarray, valid: np.ndarray | None = None
) -> list[pa.StringArray]:
    """Text j of every row, ``length[j, i]`` bytes of data from ``begin[j, i]``, as one
    pa.string() array per j, null where ``valid[j, i]`` is False. begin, length: int32
    (k, n); valid: bool (k, n). The texts must be UTF-8 (the kernel's TEXT
    fields are ASCII)."""
    k, n = begin.shape
    if begin.dtype != np.int32 or length.dtype != np.int32 or length.shape != (k, n):
        raise ValueError("begin and length must be int32 (k, n)")
    if valid is None:
        valid = np.ones((k, n), np.bool_)
    elif valid.shape != (k, n) or valid.dtype != np.bool_:
        raise ValueError("valid must be bool (k, n)")
    offsets = np.empty((k, n + 1), np.int32)
    if not text_offsets_nb(length, valid, offsets):
        raise ValueError("a column of texts does not fit one pa.string() array")
    bases = np.zeros(k + 1, np.int64)
    np.cumsum(offsets[:, -1], out=bases[1:])
    out = np.empty(int(bases[-1]), np.uint8)
    gather_texts_nb(np.frombuffer(data, np.uint8), begin, offsets, bases[:k], out)
    arrays = []
    for j in range(k):
        validity, nulls = None, int(n - np.count_nonzero(valid[j]))
        if nulls:
            validity = pa.py_buffer(np.packbits(valid[j], bitorder="little"))
        texts = pa.py_buffer(out[bases[j] : bases[j + 1]])
        arrays.append(
            pa.StringArray.from_buffers(n, pa.py_buffer(offsets[j]), texts, validity, nulls)
        )
    return arrays


def starts_with_ascii(
    data: bytes, begin: np.ndarray, length: np.ndarray, prefix: str
) -> np.ndarray:
    """bool (n,): whether each text (``length[i]`` bytes of data from ``begin[i]``), its
    ASCII letters upper-cased, starts with ``prefix`` (upper-case ASCII)."""
    if not prefix.isascii() or prefix != prefix.upper():
        raise ValueError(f"prefix {prefix!r} is not upper-case ASCII")
    if begin.dtype != np.int32 or length.dtype != np.int32 or begin.shape != length.shape:
        raise ValueError("begin and length must be int32 (n,)")
    out = np.empty(begin.size, np.bool_)
    expected = np.frombuffer(prefix.encode(), np.uint8).copy()
    starts_with_ascii_nb(np.frombuffer(data, np.uint8), begin, length, expected, out)
    return out


def joined_decimals(values: np.ndarray, separator: str) -> pa.StringArray:
    """Row i of int64 (k, n) non-negative ``values`` as one text: the k decimals joined by
    ``separator`` (one ASCII character), as str(int) writes them."""
    if values.ndim != 2 or values.dtype != np.int64 or (values.size and values.min() < 0):
        raise ValueError("values must be a non-negative int64 (k, n) array")
    if len(separator) != 1 or not separator.isascii():
        raise ValueError("separator must be one ASCII character")
    n = values.shape[1]
    offsets = np.empty(n + 1, np.int32)
    if not joined_offsets_nb(values, offsets):
        raise ValueError("the joined texts do not fit one pa.string() array")
    out = np.empty(int(offsets[-1]), np.uint8)
    join_decimals_nb(values, ord(separator), offsets, out)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out))


def _chunks(data: bytes, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Split data[start:] into whole-line chunks, a few per thread."""
    size = len(data) - start
    wanted = max(1, min(numba.get_num_threads() * 8, size // _MIN_CHUNK))
    bounds = [start]
    for k in range(1, wanted):
        newline = data.find(b"\n", max(start + size * k // wanted, bounds[-1]))
        if newline < 0:
            break
        bounds.append(newline + 1)
    bounds.append(len(data))
    edges = np.array(bounds, np.int64)
    return edges[:-1], edges[1:]
