"""Numba kernels of the Cisco CUCM CDR fast path: one pass over the data rows of a flat file.

The scanner reads only a strict subset of CSV, the one CUCM writes: every field either bare
(no quote, comma, CR or NUL) or wholly quoted (no quote, CR, NUL or line end inside), lines
ending in LF or CRLF, UTF-8 throughout. On the fields it is given it also checks the subset
of values the row parser (``pipelines.mediation.cisco_cucm_cdr``) accepts without a reject.
Any other line stops the scan with a non-zero status, and the caller declines the file:
being strict costs a fallback to the row parser, never correctness.

Field kinds and status codes are the ``kernels.cucm_api`` constants.
"""

from __future__ import annotations

from numba import njit, prange, types

# Constants in a cached kernel must not depend on module globals (a changed global would be
# ignored by the cache), so the codes below are literals mirrored in kernels.cucm_api.
# Kinds: 0 not read, 1 record type (exactly "1"), 2 identifier (1-10 digits), 3 epoch
# seconds (1-12 digits), 4 cause (optional '-', 1-10 digits), 5 text (ASCII, no space or
# control byte at either end).
# Status: 0 ok, 1 quoting outside the subset, 2 CR or NUL inside a line, 3 field longer than
# the csv module's limit, 4 column count, 5 record type, 6 integer, 7 text, 8 not UTF-8.

# Explicit signatures compile the kernels (or load them from the cache) at import, so the
# first file a process parses does not pay for it.
_DATA = types.Array(types.uint8, 1, "C", readonly=True)
_BYTES = types.uint8[::1]
_INTS = types.int64[::1]
_TABLE = types.int64[:, ::1]
_INT32S = types.int32[::1]
_INT32_TABLE = types.int32[:, ::1]
# Views of the scan's outputs (a slice of their rows) need not be C-contiguous.
_ANY_TABLE = types.Array(types.int64, 2, "A")
_ANY_INT32_TABLE = types.Array(types.int32, 2, "A")
_ANY_BOOL_TABLE = types.Array(types.boolean, 2, "A")
_ANY_INT32S = types.Array(types.int32, 1, "A")
_I64 = types.int64


@njit(
    types.void(_DATA, _INTS, _INTS, _INTS),
    cache=True,
    parallel=True,
)
def count_lines_nb(data, starts, ends, counts):
    """Fill int64 counts (k,) with the number of lines (LF-terminated or final) of each
    chunk data[starts[k]:ends[k]]: a bound on its rows."""
    for k in prange(starts.size):
        n = 0
        for pos in range(starts[k], ends[k]):
            if data[pos] == 10:
                n += 1
        if ends[k] > starts[k] and data[ends[k] - 1] != 10:
            n += 1
        counts[k] = n


@njit(
    _I64(_DATA, _I64, _I64),
    cache=True,
)
def utf8_length_nb(data, pos, end):
    """Length of the well-formed UTF-8 sequence (Unicode Table 3-7, what Python's strict
    decoder accepts) of 2-4 bytes at ``pos``, or 0 when the bytes there are not one."""
    first = data[pos]
    if first < 0xC2 or first > 0xF4:
        return 0
    low, high = 0x80, 0xBF
    if first < 0xE0:
        n = 2
    elif first < 0xF0:
        n = 3
        if first == 0xE0:
            low = 0xA0  # overlong below U+0800
        elif first == 0xED:
            high = 0x9F  # surrogates
    else:
        n = 4
        if first == 0xF0:
            low = 0x90  # overlong below U+10000
        elif first == 0xF4:
            high = 0x8F  # beyond U+10FFFF
    if end - pos < n or data[pos + 1] < low or data[pos + 1] > high:
        return 0
    for k in range(2, n):
        if data[pos + k] < 0x80 or data[pos + k] > 0xBF:
            return 0
    return n


@njit(
    types.UniTuple(_I64, 3)(
        _DATA, _I64, _I64, _I64, _INTS, _INTS, _BYTES, _I64, _TABLE, _INT32_TABLE, _INT32_TABLE
    ),
    cache=True,
)
def scan_chunk_nb(
    data, start, end, first, kinds, slots, stops, field_limit, integers, text_begin, text_length
):
    """Scan the lines of data[start:end] (whole lines), writing rows from index ``first``:
    integers int64 (slots, rows), text_begin and text_length int32 (slots, rows) (the data
    is under 2 GiB).

    kinds, slots: int64 (columns,) per header column, its kind and output slot; stops:
    uint8 (256,), bit 1 for the bytes that end a bare field (, " LF CR NUL and >= 0x80),
    bit 2 for those that end a quoted one (the same but the comma). Returns (rows written,
    status, offset of the line that stopped the scan or -1). Empty lines (also a lone CR)
    are not rows.
    """
    columns = kinds.size
    row = first
    pos = start
    while pos < end:
        line = pos
        if data[pos] == 10:
            pos += 1
            continue
        if data[pos] == 13 and (pos + 1 == end or data[pos + 1] == 10):
            pos += 2
            continue
        column = 0
        while True:
            quoted = pos < end and data[pos] == 34
            if quoted:
                pos += 1
            begin = pos
            mask = 2 if quoted else 1
            while True:
                while pos < end and stops[data[pos]] & mask == 0:
                    pos += 1
                if pos < end and data[pos] >= 128:
                    n = utf8_length_nb(data, pos, end)
                    if n == 0:
                        return row - first, 8, line
                    pos += n
                    continue
                break
            stop = pos
            if quoted:
                if pos == end or data[pos] == 10:
                    return row - first, 1, line
                if data[pos] != 34:
                    return row - first, 2, line
                pos += 1
            if stop - begin > field_limit:
                return row - first, 3, line
            if column == columns:
                return row - first, 4, line
            # The fields asked for, read here rather than in a function: a call per field
            # (arrays as arguments) costs more than the whole scan.
            kind = kinds[column]
            if kind == 1:
                if stop - begin != 1 or data[begin] != 49:
                    return row - first, 5, line
            elif kind == 5:
                if stop > begin:
                    # str.strip() removes \t-\r, \x1c-\x1f, space and non-ASCII spaces.
                    if data[begin] <= 32 or data[stop - 1] <= 32:
                        return row - first, 7, line
                    for k in range(begin, stop):
                        if data[k] >= 128:
                            return row - first, 7, line
                text_begin[slots[column], row] = begin
                text_length[slots[column], row] = stop - begin
            elif kind != 0:
                k = begin
                negative = kind == 4 and stop > begin and data[k] == 45
                if negative:
                    k += 1
                if stop - k < 1 or stop - k > (12 if kind == 3 else 10):
                    return row - first, 6, line
                value = 0
                while k < stop:
                    digit = data[k] - 48
                    if digit < 0 or digit > 9:
                        return row - first, 6, line
                    value = value * 10 + digit
                    k += 1
                integers[slots[column], row] = -value if negative else value
            column += 1
            if pos == end:
                break
            c = data[pos]
            if c == 44:
                pos += 1
                continue
            if c == 10 or (c == 13 and (pos + 1 == end or data[pos + 1] == 10)):
                break
            return row - first, 2 if c == 13 or c == 0 else 1, line
        if column != columns:
            return row - first, 4, line
        row += 1
        if pos < end and data[pos] == 13:
            pos += 1
        pos += 1
    return row - first, 0, -1


@njit(
    types.void(
        _DATA,
        _INTS,
        _INTS,
        _INTS,
        _INTS,
        _INTS,
        _BYTES,
        _I64,
        _TABLE,
        _INT32_TABLE,
        _INT32_TABLE,
        _INTS,
        _INTS,
        _INTS,
    ),
    cache=True,
    parallel=True,
)
def scan_rows_nb(
    data,
    starts,
    ends,
    firsts,
    kinds,
    slots,
    stops,
    field_limit,
    integers,
    text_begin,
    text_length,
    rows,
    status,
    failed_at,
):
    """scan_chunk_nb over chunks k (data[starts[k]:ends[k]], rows from firsts[k]) in
    parallel; fills int64 (k,) rows, status and failed_at per chunk."""
    for k in prange(starts.size):
        rows[k], status[k], failed_at[k] = scan_chunk_nb(
            data,
            starts[k],
            ends[k],
            firsts[k],
            kinds,
            slots,
            stops,
            field_limit,
            integers,
            text_begin,
            text_length,
        )


@njit(
    types.boolean(_ANY_INT32_TABLE, _ANY_BOOL_TABLE, _INT32_TABLE),
    cache=True,
)
def text_offsets_nb(length, valid, offsets):
    """Fill int32 (k, n + 1) offsets with the running length of the texts of each column j
    (int32 length (k, n), 0 where bool ``valid`` is False); False past 2**31 - 1."""
    for j in range(length.shape[0]):
        total = 0
        offsets[j, 0] = 0
        for i in range(length.shape[1]):
            if valid[j, i]:
                total += length[j, i]
                if total > 2147483647:
                    return False
            offsets[j, i + 1] = total
    return True


@njit(
    types.void(_DATA, _ANY_INT32_TABLE, _INT32_TABLE, _INTS, _BYTES),
    cache=True,
    parallel=True,
)
def gather_texts_nb(data, begin, offsets, bases, out):
    """Copy text j of row i, data[begin[j, i]:] of its length in int32 offsets (k, n + 1)
    (from text_offsets_nb), to out[bases[j] + offsets[j, i]:...]; begin int32 (k, n).
    Row by row, so that the texts of one line are read while it is in cache."""
    for i in prange(begin.shape[1]):
        for j in range(begin.shape[0]):
            source = begin[j, i]
            target = bases[j] + offsets[j, i]
            for k in range(offsets[j, i + 1] - offsets[j, i]):
                out[target + k] = data[source + k]


@njit(
    types.void(_DATA, _ANY_INT32S, _ANY_INT32S, _BYTES, types.boolean[::1]),
    cache=True,
    parallel=True,
)
def starts_with_ascii_nb(data, begin, length, prefix, out):
    """Set bool (n,) out[i] when the text data[begin[i]:begin[i] + length[i]], its ASCII
    letters upper-cased, starts with ``prefix`` (upper-case ASCII bytes)."""
    for i in prange(begin.size):
        match = length[i] >= prefix.size
        if match:
            for k in range(prefix.size):
                byte = data[begin[i] + k]
                if 97 <= byte <= 122:
                    byte -= 32
                if byte != prefix[k]:
                    match = False
                    break
        out[i] = match


@njit(
    _I64(_I64),
    cache=True,
)
def decimal_width_nb(value):
    """Digits of a non-negative int64 written in decimal."""
    width = 1
    while value >= 10:
        value //= 10
        width += 1
    return width


@njit(
    types.boolean(_ANY_TABLE, _INT32S),
    cache=True,
)
def joined_offsets_nb(values, offsets):
    """Fill int32 (n + 1,) offsets with the running length of the rows of int64 (k, n)
    non-negative ``values`` as join_decimals_nb writes them; False past 2**31 - 1."""
    total = 0
    offsets[0] = 0
    for i in range(values.shape[1]):
        total += values.shape[0] - 1
        for j in range(values.shape[0]):
            total += decimal_width_nb(values[j, i])
        if total > 2147483647:
            return False
        offsets[i + 1] = total
    return True


@njit(
    types.void(_ANY_TABLE, _I64, _INT32S, _BYTES),
    cache=True,
    parallel=True,
)
def join_decimals_nb(values, separator, offsets, out):
    """Write row i of int64 (k, n) non-negative ``values`` as decimals joined by the byte
    ``separator`` to out[offsets[i]:offsets[i + 1]] (offsets from joined_offsets_nb)."""
    for i in prange(values.shape[1]):
        pos = offsets[i]
        for j in range(values.shape[0]):
            if j > 0:
                out[pos] = separator
                pos += 1
            value = values[j, i]
            width = decimal_width_nb(value)
            for d in range(width - 1, -1, -1):
                out[pos + d] = 48 + value % 10
                value //= 10
            pos += width
