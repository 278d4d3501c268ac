"""Numba kernels of the Asterisk ``cdr_csv`` fast path: line framing, CSV tokenising, field
checks and DST-aware call times.

The kernels accept only a strict subset of what the row parser
(``pipelines.mediation.asterisk_cdr_csv``) reads, and only lines it would accept: every
other line gets status 2 ("slow") and ``kernels.asterisk_cdr_api``'s caller hands it to the
row parser. Being strict costs speed on odd lines, never correctness.

Constants in a cached kernel must not depend on module globals (a changed global would be
ignored by the cache), so the codes below are literals mirrored in kernels.asterisk_cdr_api.
Line status: 0 blank, 1 fast, 2 slow. Text slots: 0 served number, 1 other party's
number, 2 disposition, 3 record key, 4 trunk group (of channel inbound, dstchannel
outbound). Flags: 0 inbound, 1 has_answer, 2 is_answered, 3 has_trunk_group, 4 served
number normalised, 5 other number normalised. Int slots: 0 duration, 1 billsec. Time
slots: 0 start, 1 answer, 2 end.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kernels.civil_date_nb import days_from_civil_nb
from kernels.utf8_nb import utf8_end_nb


@njit(cache=True, error_model="numpy", nogil=True)
def count_lines_nb(data):
    """How many lines ``data.split(b"\\n")`` has: one more than the newlines."""
    n = 1
    for k in range(data.size):
        if data[k] == 10:
            n += 1
    return n


@njit(cache=True, error_model="numpy", inline="always")
def is_content_end_nb(data, p, n):
    """Whether a line's content ends at ``p``: the end of the data, its LF, or a CR right
    before its LF or the end of the data (split_lines drops one trailing CR)."""
    if p >= n or data[p] == 10:
        return True
    return data[p] == 13 and (p + 1 >= n or data[p + 1] == 10)


@njit(cache=True, error_model="numpy", inline="always")
def tokenise_line_nb(data, s, n, field_limit, quoted_stop, bare_stop, fs, fe, fq):
    """Split the line from ``s`` into at most 21 fields as csv.reader(strict=True) does.

    Returns (field count, content end) or (-1, -1) for a line outside the subset: more than
    21 fields, an unclosed quote, text after a closing quote, a quote in an unquoted field,
    a CR or NUL inside the line, bytes that are not UTF-8, a field longer than
    ``field_limit`` bytes. Field k's text is data[fs[k]:fe[k]], fq[k] telling whether it
    holds doubled quotes (its text is then not that slice).
    """
    nf = 0
    p = s
    while True:
        if nf == 21:
            return -1, -1
        doubled = False
        if p < n and data[p] == 34:
            p += 1
            start = p
            while True:
                while p < n and quoted_stop[data[p]] == 0:
                    p += 1
                if p >= n:
                    return -1, -1
                c = data[p]
                if c == 34:
                    if p + 1 < n and data[p + 1] == 34:
                        doubled = True
                        p += 2
                        continue
                    break
                if c < 0x80:  # CR, LF or NUL inside the quotes
                    return -1, -1
                p = utf8_end_nb(data, p, n)
                if p < 0:
                    return -1, -1
            stop = p
            p += 1
        else:
            start = p
            while True:
                while p < n and bare_stop[data[p]] == 0:
                    p += 1
                if p < n and data[p] >= 0x80:
                    p = utf8_end_nb(data, p, n)
                    if p < 0:
                        return -1, -1
                    continue
                break
            stop = p
        if stop - start > field_limit:
            return -1, -1
        fs[nf] = start
        fe[nf] = stop
        fq[nf] = doubled
        nf += 1
        if is_content_end_nb(data, p, n):
            return nf, p
        if data[p] != 44:
            return -1, -1
        p += 1


@njit(cache=True, error_model="numpy", inline="always")
def read_seconds_nb(data, s, e):
    """The value of 1 to 12 ASCII digits, -1 for anything else (including spaces, which
    the row parser strips: such a line is left to it)."""
    if e - s < 1 or e - s > 12:
        return np.int64(-1)
    value = np.int64(0)
    for k in range(s, e):
        digit = np.int64(data[k]) - 48
        if digit < 0 or digit > 9:
            return np.int64(-1)
        value = value * 10 + digit
    return value


@njit(cache=True, error_model="numpy", inline="always")
def digit_nb(c):
    """The value of an ASCII digit; -100000 for any other byte, so that a number built
    from digits with one of these comes out negative."""
    d = np.int64(c) - 48
    return d if 0 <= d <= 9 else np.int64(-100000)


@njit(cache=True, error_model="numpy", inline="always")
def read_stamp_nb(data, s, e):
    """(ok, seconds since 1970-01-01 00:00 of the wall time) of ``YYYY-MM-DD HH:MM:SS``.

    ok only where local_instants' regex and strptime accept the text: a real date, hour
    <= 23, minute and second <= 59; years are kept to 1970-9998 so that no offset moves an
    instant out of datetime's range.
    """
    if e - s != 19:
        return False, np.int64(0)
    if data[s + 4] != 45 or data[s + 7] != 45 or data[s + 10] != 32:
        return False, np.int64(0)
    if data[s + 13] != 58 or data[s + 16] != 58:
        return False, np.int64(0)
    year = (
        digit_nb(data[s]) * 1000
        + digit_nb(data[s + 1]) * 100
        + digit_nb(data[s + 2]) * 10
        + digit_nb(data[s + 3])
    )
    month = digit_nb(data[s + 5]) * 10 + digit_nb(data[s + 6])
    day = digit_nb(data[s + 8]) * 10 + digit_nb(data[s + 9])
    hour = digit_nb(data[s + 11]) * 10 + digit_nb(data[s + 12])
    minute = digit_nb(data[s + 14]) * 10 + digit_nb(data[s + 15])
    second = digit_nb(data[s + 17]) * 10 + digit_nb(data[s + 18])
    if year < 1970 or year > 9998 or month < 1 or month > 12 or day < 1:
        return False, np.int64(0)
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = 31
    if month == 2:
        month_days = 29 if leap else 28
    elif month == 4 or month == 6 or month == 9 or month == 11:
        month_days = 30
    if day > month_days or hour < 0 or hour > 23 or minute < 0 or minute > 59:
        return False, np.int64(0)
    if second < 0 or second > 59:
        return False, np.int64(0)
    return True, days_from_civil_nb(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


@njit(cache=True, error_model="numpy", inline="always")
def equals_text_nb(data, s, e, text, first, last):
    """Whether data[s:e] equals text[first:last]."""
    if e - s != last - first:
        return False
    k = 0
    while k < e - s and data[s + k] == text[first + k]:
        k += 1
    return k == e - s


@njit(cache=True, error_model="numpy", inline="always")
def trunk_group_nb(data, s, e):
    """(start, end) of the trunk group in the channel name data[s:e], (-1, -1) for none.

    Mirrors asterisk_cdr_csv._trunk_group on UTF-8 bytes (its '/', '-' and digits are
    ASCII, never part of a multi-byte character): the peer is the text between the first
    '/' and the last '-'; a Local channel, an empty peer or one of exactly ten digits is no
    trunk group.
    """
    slash = -1
    for k in range(s, e):
        if data[k] == 47:
            slash = k
            break
    if slash < 0:
        return -1, -1
    if slash - s == 5:  # "Local/": a dialplan loopback channel
        local = True
        for k, c in enumerate(b"Local"):
            local = local and data[s + k] == c
        if local:
            return -1, -1
    dash = -1
    for k in range(e - 1, slash, -1):
        if data[k] == 45:
            dash = k
            break
    if dash <= slash + 1:  # no '-' after the '/', or nothing between them
        return -1, -1
    if dash - slash - 1 == 10:
        digits = True
        for k in range(slash + 1, dash):
            if data[k] < 48 or data[k] > 57:
                digits = False
                break
        if digits:
            return -1, -1
    return slash + 1, dash


@njit(cache=True, error_model="numpy", inline="always")
def read_row_nb(data, nf, fs, fe, fq, contexts, context_offsets, answered, tolerance, j,
                flags, ints, local, cut):  # fmt: skip
    """Check the fields of a line (18 or 21 of them) and write its outputs as candidate
    record ``j``; return whether the row parser certainly accepts it with these values
    (the numbers and the instants of its times are checked later). cut: int64 (7, 2)
    receives the spans of the served number (dst inbound, src outbound), the other party's
    (src inbound, dst outbound), disposition, uniqueid, sequence, trunk group and linkedid
    (start -1: absent)."""
    # Field positions: 1 src, 2 dst, 3 dcontext, 5 channel, 6 dstchannel, 9 start,
    # 10 answer, 11 end, 12 duration, 13 billsec, 14 disposition, 16 uniqueid,
    # 19 linkedid, 20 sequence.
    if fq[1] or fq[2] or fq[3] or fq[14] or fq[16] or (nf == 21 and (fq[19] or fq[20])):
        return False
    if fe[16] == fs[16]:  # no uniqueid: the key is a hash of all the fields
        return False
    duration = read_seconds_nb(data, fs[12], fe[12])
    billsec = read_seconds_nb(data, fs[13], fe[13])
    if duration < 0 or billsec < 0 or billsec > duration + tolerance:
        return False
    answer = fe[10] > fs[10]
    if billsec > 0 and not answer:
        return False
    ok_start, start = read_stamp_nb(data, fs[9], fe[9])
    ok_end, end = read_stamp_nb(data, fs[11], fe[11])
    ok_answer, answer_at = True, np.int64(0)
    if answer:
        ok_answer, answer_at = read_stamp_nb(data, fs[10], fe[10])
    if not (ok_start and ok_end and ok_answer):
        return False
    visible = False  # a printable ASCII character: the disposition is not blank
    for k in range(fs[14], fe[14]):
        if 0x21 <= data[k] <= 0x7E:
            visible = True
            break
    if not visible:
        return False
    incoming = False
    for c in range(context_offsets.size - 1):
        if equals_text_nb(data, fs[3], fe[3], contexts, context_offsets[c],
                          context_offsets[c + 1]):  # fmt: skip
            incoming = True
    channel = 5 if incoming else 6
    if fq[channel]:
        return False
    trunk_start, trunk_end = trunk_group_nb(data, fs[channel], fe[channel])
    flags[0, j] = incoming
    flags[1, j] = answer
    flags[2, j] = billsec > 0 and equals_text_nb(data, fs[14], fe[14], answered, 0, answered.size)
    flags[3, j] = trunk_start >= 0
    ints[j, 0] = duration
    ints[j, 1] = billsec
    local[j, 0] = start
    local[j, 1] = answer_at
    local[j, 2] = end
    number = 2 if incoming else 1  # the served number's field; the other party's is 3 - it
    cut[0, 0] = fs[number]
    cut[0, 1] = fe[number]
    cut[1, 0] = fs[3 - number]
    cut[1, 1] = fe[3 - number]
    cut[2, 0] = fs[14]
    cut[2, 1] = fe[14]
    cut[3, 0] = fs[16]
    cut[3, 1] = fe[16]
    cut[4, 0] = fs[20] if nf == 21 else -1
    cut[4, 1] = fe[20] if nf == 21 else -1
    cut[5, 0] = trunk_start
    cut[5, 1] = trunk_end
    cut[6, 0] = fs[19] if nf == 21 else -1
    cut[6, 1] = fe[19] if nf == 21 else -1
    return True


@njit(cache=True, error_model="numpy", inline="always")
def nanp_number_nb(data, s, e):
    """1 if data[s:e] is a plain NANP number (NPA and NXX starting 2-9), 2 if it is one
    with the leading 1, else 0. normalise_number makes both "1" and the ten digits."""
    skip = 0
    if e - s == 11 and data[s] == 49:
        skip = 1
    elif e - s != 10:
        return 0
    for k in range(s + skip, e):
        if data[k] < 48 or data[k] > 57:
            return 0
    if data[s + skip] < 50 or data[s + skip + 3] < 50:
        return 0
    return 1 + skip


@njit(cache=True, error_model="numpy", inline="always")
def copy_text_nb(text, used, data, s, e):
    """Copy data[s:e] to text[used:] (which has room); return the bytes now used."""
    for k in range(s, e):
        text[used] = data[k]
        used += 1
    return used


@njit(cache=True, error_model="numpy")
def reserve_nb(text, used, size):
    """``text`` if it has room for ``size`` more bytes after ``used``, else a copy of its
    first ``used`` bytes in a buffer twice as large (or as large as needed)."""
    if used + size <= text.size:
        return text
    bigger = np.empty(max(2 * text.size, used + size), np.uint8)
    bigger[:used] = text[:used]
    return bigger


@njit(cache=True, error_model="numpy", nogil=True)
def frame_lines_nb(data, field_limit, contexts, context_offsets, answered, tolerance, nanp,
                   line_start, line_end, status, rows, flags, ints, local,
                   text_offsets):  # fmt: skip
    """Read every line of ``data`` (n = count_lines_nb(data) lines) and return (m, served
    number, other party's number, disposition, record key, trunk group, linkedid texts:
    uint8 each).

    Per line: int64 line_start and line_end (the line without its LF and one trailing CR),
    int8 status. Per candidate record j < m (a line with status 1, in line order): int64
    rows[j] its line; bool flags[:, j] (flags: (6, n)): inbound, has_answer, is_answered,
    has_trunk_group, and whether the served and the other number are normalised (plain
    NANP numbers when ``nanp``; others are copied as written); int64 ints[j] (ints: (n, 2))
    duration and billsec, int64 local[j] (local: (n, 3)) wall times as seconds since
    1970-01-01, and int32 text_offsets[:, j + 1] (text_offsets: (6, n + 1)) the end of its
    text in each returned text (the record key is
    uniqueid, with '#' and sequence in the 21-column layout; an absent trunk group or
    linkedid is empty). Outputs are sized for n; only the first m (m + 1) are written.

    ``contexts``/``context_offsets``: the inbound dialplan contexts as one uint8 text and
    its int64 offsets; ``answered``: the disposition of an answered call; ``tolerance``:
    how many seconds billsec may exceed duration.
    """
    n = data.size
    # Bytes that end a run of plain field text: '"', CR, LF, NUL and non-ASCII inside
    # quotes; also ',' outside them.
    quoted_stop = np.zeros(256, np.uint8)
    quoted_stop[0] = 1
    quoted_stop[10] = 1
    quoted_stop[13] = 1
    quoted_stop[34] = 1
    quoted_stop[128:] = 1
    bare_stop = quoted_stop.copy()
    bare_stop[44] = 1
    fs = np.zeros(21, np.int64)
    fe = np.zeros(21, np.int64)
    fq = np.zeros(21, np.bool_)
    cut = np.zeros((7, 2), np.int64)
    capacity = n // 16 + 64
    served = np.empty(capacity, np.uint8)
    other = np.empty(capacity, np.uint8)
    disposition = np.empty(capacity, np.uint8)
    key = np.empty(capacity, np.uint8)
    trunk = np.empty(capacity, np.uint8)
    linked = np.empty(capacity, np.uint8)
    used = np.zeros(6, np.int64)
    most = np.int64(0)  # the largest of used
    text_offsets[:, 0] = 0
    m = 0
    p = 0
    for i in range(line_start.size):
        nf, stop = tokenise_line_nb(data, p, n, field_limit, quoted_stop, bare_stop, fs, fe, fq)
        fast = nf == 18 or nf == 21
        if fast:
            fast = read_row_nb(data, nf, fs, fe, fq, contexts, context_offsets, answered,
                               tolerance, m, flags, ints, local, cut)  # fmt: skip
        q = p if stop < 0 else stop
        while q < n and data[q] != 10:
            q += 1
        line_start[i] = p
        line_end[i] = q - 1 if q > p and data[q - 1] == 13 else q
        if fast:
            status[i] = 1
            rows[m] = i
            # No text of a line is longer than the line (the key's '#' replaces a ','),
            # but for the '1' a national number gains.
            if most + q - p + 1 > capacity:
                capacity = max(2 * capacity, most + q - p + 1)
                served = reserve_nb(served, used[0], capacity - used[0])
                other = reserve_nb(other, used[1], capacity - used[1])
                disposition = reserve_nb(disposition, used[2], capacity - used[2])
                key = reserve_nb(key, used[3], capacity - used[3])
                trunk = reserve_nb(trunk, used[4], capacity - used[4])
                linked = reserve_nb(linked, used[5], capacity - used[5])
            for slot in range(2):
                kind = nanp_number_nb(data, cut[slot, 0], cut[slot, 1]) if nanp else 0
                flags[4 + slot, m] = kind > 0
            if flags[4, m] and cut[0, 1] - cut[0, 0] == 10:
                served[used[0]] = 49  # '1'
                used[0] += 1
            if flags[5, m] and cut[1, 1] - cut[1, 0] == 10:
                other[used[1]] = 49
                used[1] += 1
            used[0] = copy_text_nb(served, used[0], data, cut[0, 0], cut[0, 1])
            used[1] = copy_text_nb(other, used[1], data, cut[1, 0], cut[1, 1])
            used[2] = copy_text_nb(disposition, used[2], data, cut[2, 0], cut[2, 1])
            used[3] = copy_text_nb(key, used[3], data, cut[3, 0], cut[3, 1])
            if cut[4, 0] >= 0:
                key[used[3]] = 35  # '#'
                used[3] = copy_text_nb(key, used[3] + 1, data, cut[4, 0], cut[4, 1])
            if cut[5, 0] >= 0:
                used[4] = copy_text_nb(trunk, used[4], data, cut[5, 0], cut[5, 1])
            if cut[6, 0] >= 0:
                used[5] = copy_text_nb(linked, used[5], data, cut[6, 0], cut[6, 1])
            m += 1
            for slot in range(6):
                text_offsets[slot, m] = used[slot]
                most = max(most, used[slot])
        else:
            # bytes.strip() whitespace only: a blank line, not a record.
            blank = True
            for k in range(p, q):
                c = data[k]
                if c != 32 and c != 9 and c != 11 and c != 12 and c != 13:
                    blank = False
                    break
            status[i] = 0 if blank else 2
        p = q + 1
    return (m, served[: used[0]], other[: used[1]], disposition[: used[2]], key[: used[3]],
            trunk[: used[4]], linked[: used[5]])  # fmt: skip


@njit(cache=True, error_model="numpy")
def call_hour_range_nb(keep, has_answer, local):
    """(first, last) wall-clock hour (hours since 1970-01-01) of the kept records' times;
    (0, -1) when none is kept."""
    first = np.int64(0)
    last = np.int64(-1)
    for j in range(keep.size):
        if not keep[j]:
            continue
        for slot in range(3):
            if slot == 1 and not has_answer[j]:
                continue
            hour = local[j, slot] // 3600
            if last < first:
                first = hour
                last = hour
            else:
                first = min(first, hour)
                last = max(last, hour)
    return first, last


@njit(cache=True, error_model="numpy")
def mark_call_hours_nb(keep, has_answer, local, first, present):
    """Set present[h - first] for every wall-clock hour h of a kept record's times."""
    for j in range(keep.size):
        if not keep[j]:
            continue
        for slot in range(3):
            if slot == 1 and not has_answer[j]:
                continue
            present[local[j, slot] // 3600 - first] = True


@njit(cache=True, error_model="numpy")
def resolve_call_times_nb(keep, has_answer, ints, local, first, reading_count,
                          reading_offset, start_us, answer_us, end_us):  # fmt: skip
    """Choose each kept record's UTC start, answer and end as local_time.best_call_times
    does, writing int64 (m,) microseconds since the epoch (answer_us of an unanswered call
    is its start).

    reading_count: int8 (hours,) how many instants a wall time in hour ``first + h`` names
    (0: skipped by DST or not provably uniform), reading_offset: int64 (hours, 2) their UTC
    offsets in seconds, earlier instant first. A record whose times name no instant or no
    ordered combination is no longer kept (the row parser rejects it). Of the ordered
    combinations, in product order (start, answer, end; earlier reading first), the first
    whose spans best match duration and billsec wins.
    """
    for j in range(keep.size):
        if not keep[j]:
            continue
        answered = has_answer[j]
        hs = local[j, 0] // 3600 - first
        ha = local[j, 1] // 3600 - first if answered else hs
        he = local[j, 2] // 3600 - first
        starts = reading_count[hs]
        answers = reading_count[ha] if answered else 1
        ends = reading_count[he]
        duration = ints[j, 0]
        billsec = ints[j, 1]
        best = np.int64(-1)
        for a in range(starts):
            start = local[j, 0] - reading_offset[hs, a]
            for b in range(answers):
                answer = local[j, 1] - reading_offset[ha, b] if answered else start
                for c in range(ends):
                    end = local[j, 2] - reading_offset[he, c]
                    if start > end or answer < start or answer > end:
                        continue
                    mismatch = abs(end - start - duration)
                    if answered:
                        mismatch += abs(end - answer - billsec)
                    if best < 0 or mismatch < best:
                        best = mismatch
                        start_us[j] = start * 1_000_000
                        answer_us[j] = answer * 1_000_000
                        end_us[j] = end * 1_000_000
        if best < 0:
            keep[j] = False
