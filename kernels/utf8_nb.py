"""UTF-8 validation shared by the text-format kernels (Asterisk, OpenSIPS).

A kernel that accepts a line must accept exactly what ``bytes.decode("utf-8")`` accepts, or
its answer would differ from the row parser's; one validator keeps the kernels agreeing.
Numba's cache does not notice a change here in the kernels that inline it: clear
``__pycache__`` after editing this module.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, error_model="numpy", inline="always")
def utf8_end_nb(data, p, end):
    """The offset after the UTF-8 sequence whose lead byte (>= 0x80) is data[p], or -1 if
    it is not a well-formed sequence ending before ``end`` (Unicode Table 3-7: no overlong
    forms, no surrogates, nothing above U+10FFFF), exactly what bytes.decode rejects."""
    lead = data[p]
    if 0xC2 <= lead <= 0xDF:
        size, low, high = 2, 0x80, 0xBF
    elif lead == 0xE0:
        size, low, high = 3, 0xA0, 0xBF
    elif 0xE1 <= lead <= 0xEC or lead == 0xEE or lead == 0xEF:
        size, low, high = 3, 0x80, 0xBF
    elif lead == 0xED:
        size, low, high = 3, 0x80, 0x9F
    elif lead == 0xF0:
        size, low, high = 4, 0x90, 0xBF
    elif 0xF1 <= lead <= 0xF3:
        size, low, high = 4, 0x80, 0xBF
    elif lead == 0xF4:
        size, low, high = 4, 0x80, 0x8F
    else:
        return -1
    if p + size > end:
        return -1
    if not low <= data[p + 1] <= high:
        return -1
    for k in range(2, size):
        if not 0x80 <= data[p + k] <= 0xBF:
            return -1
    return p + size
