"""Numba kernel that encodes numbers for longest-prefix matching (as integers of their
leading digits and their length). Call it through ``kernels.api.encode_numbers``, which
checks the input; the tariff kernels (``kernels.tariff_nb``) match the encoded numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def encode_numbers_nb(offsets, data, is_null, max_digits, skip_plus):
    """(value, length) int64 (n,) of n UTF-8 strings: string i is data[offsets[i]:offsets[i + 1]].

    A string of ASCII digits only (after one leading "+" when skip_plus) gives the integer of
    its first max_digits digits and their count; a null, empty or other string gives (0, 0).
    """
    n = is_null.size
    value = np.zeros(n, np.int64)
    length = np.zeros(n, np.int64)
    for i in prange(n):
        if is_null[i]:
            continue
        start = offsets[i]
        end = offsets[i + 1]
        if skip_plus and start < end and data[start] == 43:  # "+"
            start += 1
        if start == end:
            continue
        head = 0
        digits = 0
        for p in range(start, end):
            byte = data[p]
            if byte < 48 or byte > 57:
                digits = -1
                break
            if digits < max_digits:
                head = head * 10 + (byte - 48)
                digits += 1
        if digits > 0:
            value[i] = head
            length[i] = digits
    return value, length
