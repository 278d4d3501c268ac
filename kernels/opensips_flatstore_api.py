"""Validated entry point to the OpenSIPS flatstore fast path (``kernels.opensips_flatstore_nb``).

``read_lines`` checks and splits every line of a ``CGRATES_LAYOUT`` file in one parallel
pass, or returns None at the first line the row parser (``pipelines.mediation.
opensips_flatstore``) would reject on its own. ``pair_dialogs`` pairs the lines into calls
by dialog (Call-ID and both tags in either order) through a hash table, by the row
parser's rules. ``call_texts`` gives each call's failure of the call checks it can make
and its text columns as Arrow strings. Numbers are left to the caller, but for plain NANP
numbers, which the kernel normalises where ``nanp`` says the rule holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numba
import numpy as np
import pyarrow as pa

from kernels.opensips_flatstore_nb import (
    call_text_lengths_nb,
    count_newlines_nb,
    pair_dialogs_nb,
    read_lines_nb,
    write_call_texts_nb,
)

#: Offsets into the file are int32 (as Arrow's string offsets): larger files decline.
MAX_FILE_BYTES = 2**31 - 1
#: The fields of a line (7 core fields and 5 extras) the kernels read.
FIELDS = 12
#: Bytes a chunk should hold at least: below that, threads cost more than they save.
_MIN_CHUNK = 1 << 16
#: Lines a file should have at least for its dialogs to be paired in parallel.
_MIN_PARALLEL_LINES = 1 << 14


class LineKind(IntEnum):
    """What a line is (codes shared with kernels.opensips_flatstore_nb)."""

    BLANK = 0
    INVITE = 1
    BYE = 2


class CallFailure(IntEnum):
    """The first call check a call fails, of those the kernel makes (codes shared with
    kernels.opensips_flatstore_nb)."""

    NONE = 0
    NO_BYE = 1  # answered, no BYE in the file
    BYE_BEFORE_ANSWER = 2
    NO_DESTINATION = 3
    NO_CALLER = 4


class NumberClass(IntEnum):
    """How ``call_texts`` wrote a number (codes shared with kernels.opensips_flatstore_nb)."""

    AS_WRITTEN = 0  # the caller normalises it
    NANP = 1  # 1NXXNXXXXXX, already normalised
    NANP_NATIONAL = 2  # NXXNXXXXXX, written with its leading 1


@dataclass(frozen=True)
class FlatstoreLines:
    """The n lines of a file (``data.split(b"\\n")``), line i numbered i + 1.

    kind: int8 (n,) LineKind; bounds: int32 (n, 13) per line its start, its content end
    (before the LF and one CR before it) and, for INVITE and BYE lines, the offsets of its
    11 '|'. For INVITE and BYE lines only: code: int16 (n,) SIP code; epoch: int64 (n,)
    seconds since 1970; dialog_hash: uint64 (n,) of the Call-ID and both tags.
    """

    kind: np.ndarray
    code: np.ndarray
    epoch: np.ndarray
    bounds: np.ndarray
    dialog_hash: np.ndarray

    def text(self, data: bytes, line: int) -> str:
        """Line ``line`` (0-based) as a reject quotes it: decoded, without LF and CR."""
        start, end = self.bounds[line, :2]
        return data[start:end].decode("utf-8")


@dataclass(frozen=True)
class Calls:
    """The calls of a file, in the line order of their opening INVITE lines.

    openings: int32 (c,) each call's opening line; byes: int32 (c,) its ending BYE line
    (answered calls; -1 when none or unanswered); call_of: int32 (n,) per line the opening
    line of the call it belongs to, -1 for blank lines and those that join no call.
    """

    openings: np.ndarray
    byes: np.ndarray
    call_of: np.ndarray


@dataclass(frozen=True)
class CallTexts:
    """Per call: failure int8 (c,) CallFailure; classes int8 (2, c) NumberClass of the
    caller and destination; record_key, served, other and release_cause as pa.string()
    (release_cause empty for an answered call without BYE)."""

    failure: np.ndarray
    classes: np.ndarray
    record_key: pa.StringArray
    served: pa.StringArray
    other: pa.StringArray
    release_cause: pa.StringArray


def read_lines(data: bytes, max_epoch: int) -> FlatstoreLines | None:
    """Every line of ``data``, or None when a non-blank line fails a line check of the row
    parser (UTF-8, 12 fields, method INVITE or BYE, from_tag and Call-ID not empty, a SIP
    code 100-699, a time of 1-18 digits from 1 to ``max_epoch``), holds a CR that does not
    end it, or the file has more than MAX_FILE_BYTES bytes."""
    if len(data) > MAX_FILE_BYTES:
        return None
    array = np.frombuffer(data, np.uint8)
    starts, ends = _chunks(data)
    counts = np.empty(starts.size, np.int64)
    with numba.parallel_chunksize(1):
        count_newlines_nb(array, starts, ends, counts)
    firsts = np.zeros(starts.size, np.int64)
    np.cumsum(counts[:-1], out=firsts[1:])
    n = int(counts.sum()) + 1
    kind = np.empty(n, np.int8)
    code = np.empty(n, np.int16)
    epoch = np.empty(n, np.int64)
    bounds = np.empty((n, 13), np.int32)
    dialog_hash = np.empty(n, np.uint64)
    # Chunks one at a time to whichever thread is free: on a busy machine a thread that
    # waits for a core does not hold up the others.
    with numba.parallel_chunksize(1):
        status = read_lines_nb(
            array, starts, ends, firsts, max_epoch, kind, code, epoch, bounds, dialog_hash
        )
    if status.any():
        return None
    return FlatstoreLines(kind, code, epoch, bounds, dialog_hash)


def pair_dialogs(data: bytes, lines: FlatstoreLines, parts: int | None = None) -> Calls:
    """The calls of the lines, paired as opensips_flatstore._pair pairs them.

    parts: how many threads pair them (default: 2 for a file of _MIN_PARALLEL_LINES lines
    or more when numba has two threads, else 1); the dialogs are shared out by hash.
    """
    n = lines.kind.size
    if parts is None:
        parts = 2 if n >= _MIN_PARALLEL_LINES and numba.get_num_threads() > 1 else 1
    call_of = np.empty(n, np.int32)
    openings = np.empty(n, np.int32)
    byes = np.empty(n, np.int32)
    c = -1
    while c < 0:
        tables = np.full((parts, _table_size(n, parts)), -1, np.int32)
        c = pair_dialogs_nb(
            np.frombuffer(data, np.uint8),
            lines.kind,
            lines.code,
            lines.epoch,
            lines.bounds,
            lines.dialog_hash,
            tables,
            call_of,
            openings,
            byes,
        )
        parts = 1  # a part filled its table: the dialogs did not spread
    return Calls(openings[:c], byes[:c], call_of)


def _table_size(lines: int, parts: int) -> int:
    """Slots of each part's hash table. Hashes spread the dialogs evenly, so a part has
    room for one dialog per line of its share and an eighth of the file more at most half
    full; one part (the fallback) never fills."""
    return 1 << (2 * lines // parts + lines // 8).bit_length()


def call_texts(
    data: bytes, lines: FlatstoreLines, calls: Calls, caller: int, destination: int, nanp: bool
) -> CallTexts:
    """Each call's failure, number classes and texts (see CallTexts). caller, destination:
    the positions (7-10) of the extras holding the calling and the called number; nanp:
    whether plain NANP numbers normalise to ``1NXXNXXXXXX`` (the numbering plan is the
    NANP's)."""
    for position in (caller, destination):
        if not 1 <= position <= FIELDS - 2:
            raise ValueError(f"field {position}: the kernel reads fields 1 to {FIELDS - 2}")
    array = np.frombuffer(data, np.uint8)
    c = calls.openings.size
    failure = np.empty(c, np.int8)
    classes = np.empty((2, c), np.int8)
    lengths = np.empty((4, c), np.int64)
    call_text_lengths_nb(
        array,
        lines.code,
        lines.epoch,
        lines.bounds,
        calls.openings,
        calls.byes,
        caller,
        destination,
        nanp,
        failure,
        classes,
        lengths,
    )
    offsets = np.zeros((4, c + 1), np.int64)
    np.cumsum(lengths, axis=1, out=offsets[:, 1:])
    if offsets[:, -1].max(initial=0) > MAX_FILE_BYTES:
        raise ValueError("a text column does not fit one pa.string() array")
    offsets32 = offsets.astype(np.int32)
    texts = [np.empty(int(size), np.uint8) for size in offsets[:, -1]]
    write_call_texts_nb(
        array,
        lines.code,
        lines.bounds,
        calls.openings,
        calls.byes,
        caller,
        destination,
        classes,
        offsets32,
        *texts,
    )
    key, served, other, cause = (
        pa.StringArray.from_buffers(c, pa.py_buffer(offsets32[k]), pa.py_buffer(texts[k]))
        for k in range(4)
    )
    return CallTexts(failure, classes, key, served, other, cause)


def _chunks(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Split data into chunks of whole lines, a few per thread; each but the last ends
    just after an LF."""
    size = len(data)
    wanted = max(1, min(numba.get_num_threads() * 8, size // _MIN_CHUNK))
    bounds = [0]
    for k in range(1, wanted):
        newline = data.find(b"\n", max(size * k // wanted, bounds[-1]))
        if newline < 0 or newline + 1 == size:
            break
        bounds.append(newline + 1)
    bounds.append(size)
    edges = np.array(bounds, np.int64)
    return edges[:-1], edges[1:]
