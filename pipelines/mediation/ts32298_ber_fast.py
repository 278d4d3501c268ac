"""Fast parser of the ``ts32298_ber`` feed: the same output as ``ts32298_ber.parse_file``.

A Numba kernel (``kernels.ber_api``) frames the CDRs and decodes the records it reads with
certainty; every other record, and every reject, comes from the library parser's own code
(``ts32298_ber``: file header checks, the per-CDR decoder and its reject reasons), so the
two parsers yield equal items for any input. tests/kernels/test_ber_fast_path.py compares
them; scripts/bench_ber.py measures both.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

from kernels.ber_api import CdrFrames, decode_cdrs, frame_cdrs
from pipelines.formats.ts32297 import TruncatedCdrError, Ts32297Error, decode_file_header, iter_cdrs
from pipelines.mediation import ts32298_ber
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.schema import RejectReason

#: CDRs decoded per kernel call: bounds the memory of the column arrays on large files.
CHUNK = 16384


def parse_file(data: bytes, context: FileContext) -> Iterator[ParsedRecord | RejectedRecord]:
    """Parse a TS 32.297 CDR file into canonical usage records and rejects, exactly as
    ``pipelines.mediation.ts32298_ber.parse_file`` does (see that module). Never raises
    where the library parser does not."""
    try:
        frame = decode_file_header(data)
    except Ts32297Error:
        # Empty or unreadable: the library yields its record-0 reject and nothing else.
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
    # Building a chunk creates ~3 tracked containers a record; with pycrate's few hundred
    # thousand objects on the heap, the collections they trigger cost more than the
    # building itself. Nothing here makes reference cycles, so pause the collector for
    # the chunk (it runs as usual between chunks and in the caller).
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
            try:
                items.append(ts32298_ber._parse_cdr(record_number, int(formats[k]), payload))
            except Exception as error:  # re-raised by parse_file after the items before it
                return items, error
    finally:
        if was_enabled:
            gc.enable()
    return items, None


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
