"""Validated entry point to the Asterisk ``cdr_csv`` fast path (``kernels.asterisk_cdr_nb``).

``frame_master_csv`` splits a Master.csv file into lines and reads, in one pass, every line
it can prove the row parser (``pipelines.mediation.asterisk_cdr_csv``) accepts: CSV in the
strict subset below, 18 or 21 columns, a uniqueid, well-formed durations and wall times.
It copies the texts the usage columns need into Arrow string buffers as it goes, while
each line is in cache (gathering them afterwards would read the file a second time).
``resolve_call_times`` turns wall times into UTC instants from per-hour UTC offsets the
caller computes with zoneinfo. Numbers are left to the caller (phonenumbers), but for plain
NANP numbers, which the kernel normalises. A line the kernels cannot prove is SLOW: the
caller hands it to the row parser.

The CSV subset: fields quoted with '"' (a quote inside doubled) or bare without '"'; no CR
or NUL inside a line (one CR before its LF is dropped); UTF-8; at most 21 fields, each at
most csv.field_size_limit() bytes. Inside it, csv.reader(strict=True) splits a line exactly
as the kernel does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum

import numba
import numpy as np

from kernels.asterisk_cdr_nb import (
    call_hour_range_nb,
    count_lines_nb,
    frame_lines_nb,
    mark_call_hours_nb,
    resolve_call_times_nb,
)

#: Offsets into the file are int32 (Arrow string columns are too): larger files decline.
MAX_FILE_BYTES = np.iinfo(np.int32).max


class LineStatus(IntEnum):
    """What the kernel made of a line (codes shared with kernels.asterisk_cdr_nb)."""

    BLANK = 0  # whitespace only: no record
    FAST = 1  # a candidate record: the row parser accepts it if its numbers and times do
    SLOW = 2  # anything else: the row parser must read it


class Text(IntEnum):
    """Texts the kernel copies out of each candidate record (MasterCsvLines.texts)."""

    SERVED = 0  # dst inbound, src outbound: normalised, or as written (see *_normalised)
    OTHER = 1  # src inbound, dst outbound: likewise
    DISPOSITION = 2
    RECORD_KEY = 3  # uniqueid, with '#' and sequence in the 21-column layout
    TRUNK_GROUP = 4  # of channel (inbound) or dstchannel (outbound); empty when none
    LINKEDID = 5  # the call the CDR is a leg of (21-column layout); empty when none


class TimeSlot(IntEnum):
    START = 0
    ANSWER = 1
    END = 2


@dataclass(frozen=True)
class TextChunk:
    """The texts of consecutive candidate records: texts[k] uint8, the Text k of the chunk's
    record j being texts[k][offsets[k, j]:offsets[k, j + 1]] (offsets: int32 (len(Text),
    records + 1), each row contiguous): the buffers of Arrow string arrays."""

    offsets: np.ndarray
    texts: tuple[np.ndarray, ...]

    @property
    def records(self) -> int:
        return int(self.offsets.shape[1]) - 1


@dataclass(frozen=True)
class MasterCsvLines:
    """The kernel's reading of a Master.csv file of n lines (``data.split(b"\\n")``), m of
    them candidate records.

    Per line: line_start, line_end: int64 (n,), line i being data[line_start[i]:line_end[i]]
    without its LF and one trailing CR; status: int8 (n,) LineStatus. Per candidate record
    j, in line order: rows: int64 (m,) its line; inbound, has_answer, is_answered,
    has_trunk_group: bool (m,); served_normalised, other_normalised: bool (m,) whether
    Text.SERVED / Text.OTHER holds the number normalised (a plain NANP number) rather than
    as written; ints: int64 (m, 2) duration and billsec seconds; local:
    int64 (m, len(TimeSlot)) wall times, seconds since 1970-01-01 (answer 0 when absent);
    text_chunks: the texts of the candidate records, in order, in one TextChunk per piece of
    the file that was read on its own (joining them would copy every text once more).
    """

    line_start: np.ndarray
    line_end: np.ndarray
    status: np.ndarray
    rows: np.ndarray
    inbound: np.ndarray
    has_answer: np.ndarray
    is_answered: np.ndarray
    has_trunk_group: np.ndarray
    served_normalised: np.ndarray
    other_normalised: np.ndarray
    ints: np.ndarray
    local: np.ndarray
    text_chunks: tuple[TextChunk, ...]


def frame_master_csv(
    data: bytes,
    *,
    field_limit: int,
    inbound_contexts: Iterable[str],
    answered_disposition: str,
    billsec_tolerance: int,
    nanp_numbers: bool,
    threads: int | None = None,
) -> MasterCsvLines:
    """Read every line of ``data`` (see MasterCsvLines).

    field_limit: csv.field_size_limit(); inbound_contexts: the dcontext values of inbound
    calls; answered_disposition: the disposition of an answered call; billsec_tolerance:
    seconds billsec may exceed duration; nanp_numbers: whether plain NANP numbers
    (``3125550123``, ``13125550123``) are normalised to ``13125550123`` (true where the
    numbering plan is the NANP); threads: how many threads read a file of at least
    PARALLEL_MIN_BYTES (default: numba's thread count). Raises ValueError for a file of
    more than MAX_FILE_BYTES bytes.

    Every line is read on its own (an Asterisk field never spans lines), so a large file
    is cut at newlines into one piece per thread, the pieces are read at the same time
    (the kernel releases the GIL) and their results joined in file order.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{len(data)} bytes: more than the fast path's {MAX_FILE_BYTES}")
    array = np.frombuffer(data, np.uint8)
    contexts = [context.encode() for context in sorted(inbound_contexts)]
    context_offsets = np.zeros(len(contexts) + 1, np.int64)
    np.cumsum([len(context) for context in contexts], out=context_offsets[1:])
    settings: _Settings = (
        np.int64(min(field_limit, np.iinfo(np.int64).max)),
        np.frombuffer(b"".join(contexts) or b"\0", np.uint8),
        context_offsets,
        np.frombuffer(answered_disposition.encode(), np.uint8),
        np.int64(billsec_tolerance),
        bool(nanp_numbers),
    )
    pieces = _pieces(array, threads or numba.get_num_threads())
    if len(pieces) == 1:
        return _frame_piece(array, settings)
    with ThreadPoolExecutor(len(pieces)) as pool:
        read = list(pool.map(lambda piece: _frame_piece(piece, settings), pieces))
    return _joined(read, [piece.size for piece in pieces])


#: The kernel's arguments that are the same for every piece of a file: field limit, inbound
#: contexts and their offsets, answered disposition, billsec tolerance, NANP numbers.
_Settings = tuple[np.int64, np.ndarray, np.ndarray, np.ndarray, np.int64, bool]

#: Files smaller than this are read by one thread: starting more costs more than it saves.
PARALLEL_MIN_BYTES = 8 << 20


def _pieces(array: np.ndarray, threads: int) -> list[np.ndarray]:
    """``array`` cut into up to ``threads`` pieces of about equal size, each but the last
    ending just after a newline."""
    if threads < 2 or array.size < PARALLEL_MIN_BYTES:
        return [array]
    cuts = [0]
    for k in range(1, threads):
        newline = np.flatnonzero(array[k * array.size // threads :][: 1 << 20] == 10)
        if newline.size == 0:  # a line of more than 1 MiB: keep the piece whole
            continue
        cut = k * array.size // threads + int(newline[0]) + 1
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(array.size)
    return [array[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def _frame_piece(array: np.ndarray, settings: _Settings) -> MasterCsvLines:
    n = count_lines_nb(array)
    line_start = np.empty(n, np.int64)
    line_end = np.empty(n, np.int64)
    status = np.empty(n, np.int8)
    rows = np.empty(n, np.int64)
    flags = np.zeros((6, n), np.bool_)
    ints = np.empty((n, 2), np.int64)
    local = np.empty((n, len(TimeSlot)), np.int64)
    text_offsets = np.empty((len(Text), n + 1), np.int32)
    m, *texts = frame_lines_nb(
        array, *settings, line_start, line_end, status, rows, flags, ints, local, text_offsets
    )
    return MasterCsvLines(
        line_start=line_start,
        line_end=line_end,
        status=status,
        rows=rows[:m],
        inbound=flags[0, :m],
        has_answer=flags[1, :m],
        is_answered=flags[2, :m],
        has_trunk_group=flags[3, :m],
        served_normalised=flags[4, :m],
        other_normalised=flags[5, :m],
        ints=ints[:m],
        local=local[:m],
        text_chunks=(TextChunk(text_offsets[:, : m + 1], tuple(texts)),),
    )


def _joined(pieces: list[MasterCsvLines], sizes: list[int]) -> MasterCsvLines:
    """The reading of the whole file from the readings of its pieces (``sizes`` bytes each,
    each but the last ending in a newline, whose empty remainder is not a line of the
    file)."""
    starts = np.cumsum([0, *sizes[:-1]])
    kept = [piece.status.size - 1 for piece in pieces[:-1]] + [pieces[-1].status.size]
    first_lines = np.cumsum([0, *kept[:-1]])

    def lines(column: str) -> np.ndarray:
        return np.concatenate(
            [getattr(p, column)[:k] + s for p, k, s in zip(pieces, kept, starts, strict=True)]
        )

    def candidates(column: str, axis: int = 0) -> np.ndarray:
        return np.concatenate([getattr(p, column) for p in pieces], axis=axis)

    return MasterCsvLines(
        line_start=lines("line_start"),
        line_end=lines("line_end"),
        status=np.concatenate([p.status[:k] for p, k in zip(pieces, kept, strict=True)]),
        rows=np.concatenate([p.rows + f for p, f in zip(pieces, first_lines, strict=True)]),
        inbound=candidates("inbound"),
        has_answer=candidates("has_answer"),
        is_answered=candidates("is_answered"),
        has_trunk_group=candidates("has_trunk_group"),
        served_normalised=candidates("served_normalised"),
        other_normalised=candidates("other_normalised"),
        ints=candidates("ints"),
        local=candidates("local"),
        text_chunks=tuple(chunk for piece in pieces for chunk in piece.text_chunks),
    )


def call_hours(lines: MasterCsvLines, keep: np.ndarray, max_span: int) -> np.ndarray | None:
    """The distinct wall-clock hours (int64, hours since 1970-01-01, ascending) of the
    times of the records ``keep`` (bool (m,)) selects, or None when they spread over more
    than ``max_span`` hours."""
    first, last = call_hour_range_nb(keep, lines.has_answer, lines.local)
    if last < first:
        return np.empty(0, np.int64)
    if last - first + 1 > max_span:
        return None
    present = np.zeros(last - first + 1, np.bool_)
    mark_call_hours_nb(keep, lines.has_answer, lines.local, first, present)
    return first + np.flatnonzero(present).astype(np.int64)


def resolve_call_times(
    lines: MasterCsvLines,
    keep: np.ndarray,
    hours: np.ndarray,
    reading_count: np.ndarray,
    reading_offset: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC start, answer and end, int64 (m,) microseconds since the epoch each, of the
    records ``keep`` (bool (m,)) selects, chosen as
    pipelines.mediation.local_time.best_call_times chooses them (answer: the start when the
    call has none).

    hours: call_hours(...); reading_count: int8 (len(hours),) how many instants a wall time
    in that hour names (0, 1, or 2 in a repeated hour; 0 also when the hour's offsets are
    not the same throughout); reading_offset: int64 (len(hours), 2) their UTC offsets in
    seconds, in local_instants' order. A record whose times name no instant, or no ordered
    combination, is cleared from ``keep`` (in place): the row parser rejects it.
    """
    if keep.dtype != np.bool_ or keep.shape != lines.rows.shape:
        raise TypeError("keep must be a bool array with one value per candidate record")
    if hours.dtype != np.int64 or hours.ndim != 1:
        raise TypeError("hours must be a 1-D int64 array")
    if reading_count.shape != hours.shape or reading_offset.shape != (hours.size, 2):
        raise ValueError("reading_count and reading_offset must have a row per hour")
    m = keep.size
    start, answer, end = np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64)
    if hours.size == 0:
        keep[:] = False
        return start, answer, end
    first = int(hours[0])
    count = np.zeros(int(hours[-1]) - first + 1, np.int8)
    offset = np.zeros((count.size, 2), np.int64)
    count[hours - first] = reading_count
    offset[hours - first] = reading_offset
    resolve_call_times_nb(
        keep, lines.has_answer, lines.ints, lines.local, first, count, offset, start, answer, end
    )
    return start, answer, end
