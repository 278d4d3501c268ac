"""Numba kernels of the OpenSIPS flatstore fast path (``CGRATES_LAYOUT`` files): line
checks, dialog pairing and the calls' text columns.

The line reader accepts only lines the row parser (``pipelines.mediation.opensips_flatstore``)
reads without a reject, and blank lines; any other line stops it with a non-zero status
and ``kernels.opensips_flatstore_api``'s caller declines the file.

Constants in a cached kernel must not depend on module globals (a changed global would be
ignored by the cache), so the codes below are literals mirrored in
kernels.opensips_flatstore_api. Line kinds: 0 blank, 1 INVITE, 2 BYE. Bound columns of a
line: 0 its start, 1 its content end (before the LF and a CR before it), 2 + k the offset
of its '|' number k (k = 0..10): field k spans bounds 1 + k (+ 1, or the start for field 0)
to 2 + k.
Call failures: 0 none, 1 answered without BYE, 2 BYE before the answer, 3 destination
empty, 4 caller empty. Number classes: 0 other (the caller normalises it), 1 NANP with the
leading 1, 2 NANP national (gets the 1).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.utf8_nb import utf8_end_nb


@njit(cache=True, error_model="numpy", parallel=True)
def count_newlines_nb(data, starts, ends, counts):
    """Fill int64 counts (k,) with the LF bytes of each chunk data[starts[k]:ends[k]]."""
    for k in prange(starts.size):
        n = 0
        for p in range(starts[k], ends[k]):
            if data[p] == 10:
                n += 1
        counts[k] = n


@njit(cache=True, error_model="numpy", inline="always")
def text_hash_nb(data, begin, end):
    """FNV-1a of data[begin:end]."""
    h = np.uint64(0xCBF29CE484222325)
    for p in range(begin, end):
        h = (h ^ np.uint64(data[p])) * np.uint64(0x100000001B3)
    return h


@njit(cache=True, error_model="numpy")
def read_chunk_nb(data, start, end, first, max_epoch, kind, code, epoch, bounds, dialog_hash):
    """Read the lines of data[start:end] (whole lines; the last chunk ends with the data)
    into rows ``first`` on of the line arrays; 0, or 1 at the first line that fails a check
    (see read_lines_nb)."""
    seps = np.empty(11, np.int64)
    line = first
    p = start
    while True:
        s = p
        n_seps = 0
        blank = True
        while p < end and data[p] != 10:
            c = data[p]
            if c == 124:
                if n_seps == 11:
                    return 1
                seps[n_seps] = p
                n_seps += 1
                blank = False
                p += 1
            elif c == 13:
                if p + 1 == end or data[p + 1] != 10:
                    return 1  # a CR that split_lines would keep in the line
                break
            elif c >= 0x80:
                p = utf8_end_nb(data, p, end)
                if p < 0:
                    return 1
                blank = False
            else:
                if c != 32 and not 9 <= c <= 12:
                    blank = False
                p += 1
        content_end = p
        bounds[line, 0] = s
        bounds[line, 1] = content_end
        if blank:
            kind[line] = 0
        else:
            if n_seps != 11:
                return 1
            for k in range(11):
                bounds[line, 2 + k] = seps[k]
            method = seps[0] - s
            if (
                method == 6
                and data[s] == 73
                and data[s + 1] == 78
                and data[s + 2] == 86
                and data[s + 3] == 73
                and data[s + 4] == 84
                and data[s + 5] == 69
            ):
                kind[line] = 1  # INVITE
            elif method == 3 and data[s] == 66 and data[s + 1] == 89 and data[s + 2] == 69:
                kind[line] = 2  # BYE
            else:
                return 1
            if seps[1] - seps[0] == 1 or seps[3] - seps[2] == 1:
                return 1  # an empty from_tag or Call-ID
            c0 = seps[3] + 1
            if (
                seps[4] - c0 != 3
                or not 49 <= data[c0] <= 54
                or not 48 <= data[c0 + 1] <= 57
                or not 48 <= data[c0 + 2] <= 57
            ):
                return 1  # a SIP status is 1xx to 6xx
            code[line] = (data[c0] - 48) * 100 + (data[c0 + 1] - 48) * 10 + data[c0 + 2] - 48
            digits = seps[6] - seps[5] - 1
            if digits < 1 or digits > 18:
                return 1  # more digits than int64 holds are left to the row parser
            value = 0
            for q in range(seps[5] + 1, seps[6]):
                if not 48 <= data[q] <= 57:
                    return 1
                value = value * 10 + data[q] - 48
            if value < 1 or value > max_epoch:
                return 1
            epoch[line] = value
            # The callee's in-dialog requests carry the tags swapped: a hash of both orders.
            a = text_hash_nb(data, seps[0] + 1, seps[1])
            b = text_hash_nb(data, seps[1] + 1, seps[2])
            low, high = min(a, b), max(a, b)
            h = text_hash_nb(data, seps[2] + 1, seps[3])
            h = (h ^ low) * np.uint64(0x9E3779B97F4A7C15)
            dialog_hash[line] = (h ^ high) * np.uint64(0x9E3779B97F4A7C15)
        line += 1
        if p < end and data[p] == 13:
            p += 1
        if p >= end:
            return 0
        p += 1  # the LF
        if p == end and end < data.size:
            return 0  # the next chunk starts with the next line


@njit(cache=True, error_model="numpy", parallel=True)
def read_lines_nb(data, starts, ends, firsts, max_epoch, kind, code, epoch, bounds, dialog_hash):
    """Read every line of the chunks data[starts[k]:ends[k]] (cut after an LF), chunk k
    from line firsts[k] on, in parallel; return one status per chunk (0: every line read).

    A line is blank (only ASCII whitespace) or must pass the row parser's line checks:
    UTF-8, 12 fields, method INVITE or BYE, from_tag and Call-ID not empty, a SIP code
    100-699, a time of 1-18 digits from 1 to ``max_epoch``; also no CR but one before the
    LF. Fills per line i: kind int8 (n,); for INVITE and BYE lines code int16 (n,), epoch
    int64 (n,) seconds, dialog_hash uint64 (n,) of the Call-ID and both tags in either
    order; bounds int32 (n, 13) for every line.
    """
    status = np.zeros(starts.size, np.int64)
    for k in prange(starts.size):
        status[k] = read_chunk_nb(
            data, starts[k], ends[k], firsts[k], max_epoch, kind, code, epoch, bounds, dialog_hash
        )
    return status


@njit(cache=True, error_model="numpy", inline="always")
def same_text_nb(data, a, a_end, b, b_end):
    if a_end - a != b_end - b:
        return False
    k = 0
    while k < a_end - a and data[a + k] == data[b + k]:
        k += 1
    return k == a_end - a


@njit(cache=True, error_model="numpy", inline="always")
def same_dialog_nb(data, bounds, i, j):
    """Whether lines i and j have the same Call-ID and the same two tags, in either order."""
    if not same_text_nb(data, bounds[i, 4] + 1, bounds[i, 5], bounds[j, 4] + 1, bounds[j, 5]):
        return False
    fi, ti = bounds[i, 2] + 1, bounds[i, 3] + 1
    fj, tj = bounds[j, 2] + 1, bounds[j, 3] + 1
    if same_text_nb(data, fi, bounds[i, 3], fj, bounds[j, 3]) and same_text_nb(
        data, ti, bounds[i, 4], tj, bounds[j, 4]
    ):
        return True
    return same_text_nb(data, fi, bounds[i, 3], tj, bounds[j, 4]) and same_text_nb(
        data, ti, bounds[i, 4], fj, bounds[j, 3]
    )


@njit(cache=True, error_model="numpy", parallel=True)
def pair_dialogs_nb(data, kind, code, epoch, bounds, dialog_hash, tables, call_of, calls, byes):
    """Pair the lines into calls as opensips_flatstore._pair does; return the number of
    calls c, or -1 when a part's dialogs fill half its table (nothing else is then filled).

    tables: int32 (parts, 2**k) of -1; the lines of a dialog all go to part
    (hash >> 32) % parts, so the parts pair in parallel. Fills
    call_of int32 (n,): for a line that belongs to a call, the call's opening line (the
    dialog's earliest final INVITE by time, then line); -1 for a blank line and one that
    joins no call (a BYE without an answered call, a 1xx INVITE without a call). Fills
    calls int32 (c,) with the opening lines in line order, byes int32 (c,) with each
    answered call's ending BYE (the dialog's earliest BYE by time, then line; -1 when none
    or not answered).
    """
    n = kind.size
    parts = np.uint64(tables.shape[0])
    mask = np.uint64(tables.shape[1] - 1)
    # head[i]: the first line of i's dialog, which holds the dialog's opening and first BYE.
    head = np.empty(n, np.int32)
    opening = np.full(n, -1, np.int32)
    first_bye = np.full(n, -1, np.int32)
    full = np.zeros(tables.shape[0], np.bool_)
    for part in prange(tables.shape[0]):
        table = tables[part]
        dialogs = 0
        for i in range(n):
            if kind[i] == 0 or (dialog_hash[i] >> np.uint64(32)) % parts != part:
                continue
            slot = dialog_hash[i] & mask
            while True:
                j = table[slot]
                if j < 0:
                    table[slot] = i
                    head[i] = i
                    dialogs += 1
                    break
                if dialog_hash[j] == dialog_hash[i] and same_dialog_nb(data, bounds, i, j):
                    head[i] = j
                    break
                slot = (slot + np.uint64(1)) & mask
            h = head[i]
            # Lines come in line order: at an equal time the earlier line stays.
            if kind[i] == 1:
                if code[i] >= 200 and (opening[h] < 0 or epoch[i] < epoch[opening[h]]):
                    opening[h] = i
            elif first_bye[h] < 0 or epoch[i] < epoch[first_bye[h]]:
                first_bye[h] = i
            if 2 * dialogs >= table.size:
                full[part] = True  # probing slows down: the caller retries with more room
                break
    if full.any():
        return -1
    for i in prange(n):
        call_of[i] = -1
        if kind[i] != 0:
            o = opening[head[i]]
            if o >= 0 and (kind[i] == 1 or 200 <= code[o] < 300):
                call_of[i] = o
    c = 0
    for i in range(n):
        if call_of[i] == i:
            calls[c] = i
            byes[c] = first_bye[head[i]] if 200 <= code[i] < 300 else -1
            c += 1
    return c


@njit(cache=True, error_model="numpy", inline="always")
def field_begin_nb(bounds, i, k):
    """Where field k (k >= 1) of line i starts."""
    return bounds[i, 1 + k] + 1


@njit(cache=True, error_model="numpy", inline="always")
def field_end_nb(bounds, i, k):
    """Where field k (k <= 10) of line i ends."""
    return bounds[i, 2 + k]


@njit(cache=True, error_model="numpy", inline="always")
def is_digit_nb(c, low):
    """Whether byte c is an ASCII digit from chr(low) to '9'."""
    return low <= c <= 57


@njit(cache=True, error_model="numpy", inline="always")
def number_class_nb(data, b, e, nanp):
    """1 for ``1NXXNXXXXXX``, 2 for ``NXXNXXXXXX`` (N: 2-9, X: 0-9) where ``nanp``, else 0."""
    if not nanp:
        return 0
    if e - b == 11 and data[b] == 49:
        b += 1
        found = 1
    elif e - b == 10:
        found = 2
    else:
        return 0
    for k in range(10):
        if not is_digit_nb(data[b + k], 50 if k == 0 or k == 3 else 48):
            return 0
    return found


@njit(cache=True, error_model="numpy", parallel=True)
def call_text_lengths_nb(
    data, code, epoch, bounds, calls, byes, caller, destination, nanp, failure, classes, lengths
):
    """Per call j (opening line calls[j], ending BYE byes[j] or -1): failure int8 (c,)
    (the first call check it fails, without the number checks: 0 none, 1 answered without
    BYE, 2 BYE before the answer, 3 destination empty, 4 caller empty); classes int8 (2, c)
    of the caller and destination (fields ``caller`` and ``destination``) numbers; lengths
    int64 (4, c) in bytes of its record key, served number, other party's number and
    release cause as write_call_texts_nb writes them."""
    for j in prange(calls.size):
        o = calls[j]
        bye = byes[j]
        answered = 200 <= code[o] < 300
        cb, ce = field_begin_nb(bounds, o, caller), field_end_nb(bounds, o, caller)
        db, de = field_begin_nb(bounds, o, destination), field_end_nb(bounds, o, destination)
        if answered and bye < 0:
            failure[j] = 1
        elif answered and epoch[bye] < epoch[o]:
            failure[j] = 2
        elif de == db:
            failure[j] = 3
        elif ce == cb:
            failure[j] = 4
        else:
            failure[j] = 0
        classes[0, j] = number_class_nb(data, cb, ce, nanp)
        classes[1, j] = number_class_nb(data, db, de, nanp)
        lengths[0, j] = field_end_nb(bounds, o, 3) - field_begin_nb(bounds, o, 3) + 1
        lengths[0, j] += field_end_nb(bounds, o, 1) - field_begin_nb(bounds, o, 1)
        lengths[1, j] = ce - cb + (classes[0, j] == 2)
        lengths[2, j] = de - db + (classes[1, j] == 2)
        if answered and bye < 0:
            lengths[3, j] = 0
        elif answered and 200 <= code[bye] < 300:
            lengths[3, j] = 6
        else:
            cause = bye if answered else o
            lengths[3, j] = 8 + field_end_nb(bounds, cause, 5) - field_begin_nb(bounds, cause, 5)


@njit(cache=True, error_model="numpy", inline="always")
def copy_nb(data, b, e, out, at):
    for p in range(b, e):
        out[at] = data[p]
        at += 1
    return at


@njit(cache=True, error_model="numpy", inline="always")
def write_number_nb(data, bounds, i, field, number_class, out, at):
    if number_class == 2:
        out[at] = 49  # '1'
        at += 1
    copy_nb(data, field_begin_nb(bounds, i, field), field_end_nb(bounds, i, field), out, at)


@njit(cache=True, error_model="numpy", parallel=True)
def write_call_texts_nb(
    data,
    code,
    bounds,
    calls,
    byes,
    caller,
    destination,
    classes,
    offsets,
    keys,
    served,
    other,
    causes,
):
    """Write each call's texts at offsets int32 (4, c + 1) (from call_text_lengths_nb) into
    uint8 keys, served, other and causes: ``<Call-ID>:<from_tag>``; the caller's and the
    destination's number, NANP numbers normalised to ``1NXXNXXXXXX`` (class 2 gets its 1)
    and the others as written; ``normal`` when the ending BYE's reply is 2xx, else
    ``bye:<code> <reason>`` of the BYE of an answered call or ``sip:<code> <reason>`` of the
    opening INVITE (nothing for an answered call without BYE)."""
    for j in prange(calls.size):
        o = calls[j]
        at = copy_nb(
            data, field_begin_nb(bounds, o, 3), field_end_nb(bounds, o, 3), keys, offsets[0, j]
        )
        keys[at] = 58  # ':'
        copy_nb(data, field_begin_nb(bounds, o, 1), field_end_nb(bounds, o, 1), keys, at + 1)
        write_number_nb(data, bounds, o, caller, classes[0, j], served, offsets[1, j])
        write_number_nb(data, bounds, o, destination, classes[1, j], other, offsets[2, j])
        at = offsets[3, j]
        if offsets[3, j + 1] == at:
            continue
        bye = byes[j]
        answered = 200 <= code[o] < 300
        if answered and 200 <= code[bye] < 300:
            for c in (110, 111, 114, 109, 97, 108):  # normal
                causes[at] = c
                at += 1
            continue
        cause = bye if answered else o
        for c in (98, 121, 101) if answered else (115, 105, 112):  # bye or sip
            causes[at] = c
            at += 1
        causes[at] = 58  # ':'
        at = copy_nb(
            data, field_begin_nb(bounds, cause, 4), field_end_nb(bounds, cause, 4), causes, at + 1
        )
        causes[at] = 32  # ' '
        copy_nb(
            data, field_begin_nb(bounds, cause, 5), field_end_nb(bounds, cause, 5), causes, at + 1
        )
