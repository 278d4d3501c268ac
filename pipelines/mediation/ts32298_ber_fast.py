"""Fast parsers of the ``ts32298_ber`` feed: the output of ``ts32298_ber.parse_file``.

A Numba kernel (``kernels.ber_api``) frames the CDRs and decodes the records it reads with
certainty; every other record, and every reject, comes from the library parser's own code
(``ts32298_ber``: file header checks, the per-CDR decoder and its reject reasons), so the
fast parsers give what the library parser gives for any input. ``parse_file`` yields the
same items; ``parse_file_columnar`` builds the same records as one Arrow table straight
from the kernel's arrays (``kernels.ber_columns``) and merges in the library's rows by
record number. tests/kernels/test_ber_fast_path.py compares them with the library parser;
scripts/bench_ber.py measures all three.

The library parser (and pycrate's TS 32.298 modules under it, 4-6 CPU-seconds and about
55 MiB to import) is imported on the first record or file the kernel leaves to it: a process that
mediates well-formed files never loads it (tests/mediation/test_ts32298_ber_imports.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from kernels.ber_api import CdrFrames, decode_cdrs, frame_cdrs
from kernels.ber_columns import decode_cdr_columns
from pipelines.formats.ts32297 import TruncatedCdrError, Ts32297Error, decode_file_header, iter_cdrs
from pipelines.mediation.records import (
    PARSED_SCHEMA,
    FileContext,
    ParsedBatch,
    ParsedRecord,
    RejectedRecord,
    parsed_batch,
)
from pipelines.schema import RejectReason

#: CDRs decoded per kernel call: bounds the memory of the column arrays on large files.
CHUNK = 16384
#: Most CDRs and payload octets per kernel call of the columnar path, whose per-call Arrow
#: work is worth a larger chunk. The kernel's scratch arrays take about 2 x payload + 250
#: octets a record; the octet bound keeps them, and every text column, within int32 offsets.
COLUMNAR_CHUNK = 131072
COLUMNAR_CHUNK_OCTETS = 1 << 26


def parse_file(data: bytes, context: FileContext) -> Iterator[ParsedRecord | RejectedRecord]:
    """Parse a TS 32.297 CDR file into canonical usage records and rejects, exactly as
    ``pipelines.mediation.ts32298_ber.parse_file`` does (see that module). Never raises
    where the library parser does not."""
    try:
        frame = decode_file_header(data)
    except Ts32297Error:
        # Empty or unreadable: the library yields its record-0 reject and nothing else.
        from pipelines.mediation import ts32298_ber  # pycrate: only for what the kernel leaves

        yield from ts32298_ber.parse_file(data, context)
        return
    frames = frame_cdrs(data, frame.header_length)
    n = frames.payload_start.size
    for first in range(0, n, CHUNK):
        items, error = _parse_chunk(data, frames, first, min(first + CHUNK, n))
        yield from items
        if error is not None:
            raise error
    if frames.truncated_at >= 0:
        yield _truncated(data, frames.truncated_at, n + 1)


def _parse_chunk(
    data: bytes, frames: CdrFrames, first: int, last: int
) -> tuple[list[ParsedRecord | RejectedRecord], Exception | None]:
    """The items of CDRs first..last-1 and, should the library decoder raise on one of
    them, its exception (the items before it are yielded first, as the library does)."""
    starts = frames.payload_start[first:last]
    lengths = frames.payload_length[first:last]
    formats = frames.data_format[first:last]
    # Building a chunk creates ~3 tracked containers a record; on a large heap (pycrate's
    # few hundred thousand objects, once a record needed it), the collections they trigger
    # cost more than the building itself. Nothing here makes reference cycles, so pause
    # the collector for the chunk (it runs as usual between chunks and in the caller).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        values = decode_cdrs(data, starts, lengths, formats)
        items: list[ParsedRecord | RejectedRecord] = []
        for k, row in enumerate(values):
            record_number = first + k + 1
            if row is not None:
                items.append(ParsedRecord(record_number, row))
                continue
            start = int(starts[k])
            payload = data[start : start + int(lengths[k])]
            from pipelines.mediation import ts32298_ber  # pycrate, as above

            try:
                items.append(ts32298_ber._parse_cdr(record_number, int(formats[k]), payload))
            except Exception as error:  # re-raised by parse_file after the items before it
                return items, error
    finally:
        if was_enabled:
            gc.enable()
    return items, None


def parse_file_columnar(data: bytes, context: FileContext) -> ParsedBatch | None:
    """The file's records and rejects as ``parsed_batch(ts32298_ber.parse_file(data,
    context))`` gives them, built without a Python object per decoded record.

    None (decline: the caller falls back to ``parse_file``) when that batch does not exist:
    the library decoder raises on a record, or a value it reads does not fit its column.
    The records table may hold several chunks.
    """
    try:
        frame = decode_file_header(data)
    except Ts32297Error:
        # Empty or unreadable: the library's record-0 reject and nothing else.
        from pipelines.mediation import ts32298_ber  # pycrate: only for what the kernel leaves

        return parsed_batch(ts32298_ber.parse_file(data, context))
    frames = frame_cdrs(data, frame.header_length)
    n = frames.payload_start.size
    tables: list[pa.Table] = []
    rejects: list[RejectedRecord] = []
    for first, last in _chunks(frames.payload_length):
        chunk = _columnar_chunk(data, frames, first, last)
        if chunk is None:
            return None
        tables.append(chunk.records)
        rejects.extend(chunk.rejects)
    if frames.truncated_at >= 0:
        rejects.append(_truncated(data, frames.truncated_at, n + 1))
    records = pa.concat_tables(tables) if tables else PARSED_SCHEMA.empty_table()
    return ParsedBatch(records, rejects)


def _chunks(lengths: np.ndarray) -> Iterator[tuple[int, int]]:
    """(first, last) ranges of at most COLUMNAR_CHUNK CDRs and COLUMNAR_CHUNK_OCTETS payload
    octets (a CDR holds at most 65535)."""
    ends = np.cumsum(lengths)
    first = 0
    while first < lengths.size:
        before = int(ends[first - 1]) if first else 0
        fit = int(np.searchsorted(ends, before + COLUMNAR_CHUNK_OCTETS, side="right"))
        last = max(first + 1, min(fit, first + COLUMNAR_CHUNK))
        yield first, last
        first = last


def _columnar_chunk(data: bytes, frames: CdrFrames, first: int, last: int) -> ParsedBatch | None:
    """CDRs first..last-1: the kernel's rows merged by record number with the rows and
    rejects of the library, which reads the records the kernel leaves; None as above."""
    starts = frames.payload_start[first:last]
    lengths = frames.payload_length[first:last]
    formats = frames.data_format[first:last]
    decoded = decode_cdr_columns(data, starts, lengths, formats)
    numbers = np.arange(first + 1, last + 1, dtype=np.int32)
    records = pa.table(
        {"record_number": numbers[decoded.decoded], **decoded.columns}, schema=PARSED_SCHEMA
    )
    items: list[ParsedRecord | RejectedRecord] = []
    for k in np.flatnonzero(~decoded.decoded).tolist():
        start = int(starts[k])
        payload = data[start : start + int(lengths[k])]
        from pipelines.mediation import ts32298_ber  # pycrate, as above

        try:
            items.append(ts32298_ber._parse_cdr(first + k + 1, int(formats[k]), payload))
        except Exception:  # parse_file raises here, so its batch does not exist
            return None
    try:
        library = parsed_batch(items)
    except (OverflowError, pa.ArrowInvalid):  # a value beyond its column's type
        return None
    if library.records.num_rows:
        merged = pa.concat_tables([records, library.records])
        order = np.argsort(merged["record_number"].to_numpy(), kind="stable")
        return ParsedBatch(merged.take(order), library.rejects)
    return ParsedBatch(records, library.rejects)


def _truncated(data: bytes, offset: int, record_number: int) -> RejectedRecord:
    # iter_cdrs raises at once at the truncated CDR: its message and remaining bytes are
    # those the library parser reports.
    try:
        for _ in iter_cdrs(data, offset):
            break
    except TruncatedCdrError as error:
        return RejectedRecord(
            record_number, RejectReason.TRUNCATED_RECORD, str(error), error.remaining.hex()
        )
    raise AssertionError(f"the CDR at offset {offset} is not truncated")  # framing disagrees
