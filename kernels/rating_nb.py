"""Numba kernels of longest-prefix rate tables, used to cost interconnect legs per carrier:
number encoding, rate lookup by number and date, increments and charges.

Retail usage is rated by the tariff catalog kernels (``kernels.tariff_nb`` behind
``kernels.tariff_api``). Tables arrive as flat arrays (CSR offsets per group and prefix
length, see ``kernels.api.RateTable``); nothing here reads a module global, so a cached
compilation never freezes a tariff. Call these through ``kernels.api``, which checks dtypes
and shapes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.tariff_nb import lower_bound_nb


@njit(cache=True)
def find_rate_nb(group, number_value, number_len, day, offsets, prefix_value, effective_day):
    """Entry of ``group`` with the longest prefix of the number effective on ``day``; -1 if none.

    ``number_len`` must not exceed the table's longest prefix length (offsets.shape[1] - 2).

    A prefix whose versions all start after ``day`` did not exist yet, so the search goes on
    with shorter prefixes, exactly as if the row were absent from the deck.
    """
    if group < 0:
        return -1
    length = number_len
    value = number_value
    while length >= 0:
        hi = offsets[group, length + 1]
        k = lower_bound_nb(prefix_value, offsets[group, length], hi, value)
        best = -1
        # Versions of one prefix sit together, oldest first.
        while k < hi and prefix_value[k] == value and effective_day[k] <= day:
            best = k
            k += 1
        if best >= 0:
            return best
        value //= 10
        length -= 1
    return -1


@njit(cache=True)
def billable_units_nb(units, first_increment, increment):
    """Units after increments: the first block whole, the rest rounded up to ``increment``."""
    if units <= 0:
        return 0
    if units <= first_increment:
        return first_increment
    return first_increment + (units - first_increment + increment - 1) // increment * increment


@njit(cache=True)
def charge_micros_nb(chargeable_units, connect_fee_micros, price_micros, price_unit):
    """Connect fee plus price, half-up to the micro in integers (floats would drop micros)."""
    if chargeable_units <= 0:
        return 0
    return connect_fee_micros + (chargeable_units * price_micros + price_unit // 2) // price_unit


@njit(cache=True, parallel=True)
def cost_legs_nb(
    group,
    local_seconds,
    number_value,
    number_len,
    seconds,
    offsets,
    prefix_value,
    effective_day,
    connect_fee_micros,
    price_micros,
    price_unit,
    first_increment,
    increment,
):
    """Cost interconnect legs against a carrier rate table (group = carrier); rate -1: none."""
    n = group.size
    rate = np.empty(n, np.int64)
    billable = np.zeros(n, np.int64)
    cost = np.zeros(n, np.int64)
    for i in prange(n):
        r = find_rate_nb(
            group[i],
            number_value[i],
            number_len[i],
            local_seconds[i] // 86400,
            offsets,
            prefix_value,
            effective_day,
        )
        rate[i] = r
        if r >= 0:
            billable[i] = billable_units_nb(seconds[i], first_increment[r], increment[r])
            cost[i] = charge_micros_nb(
                billable[i], connect_fee_micros[r], price_micros[r], price_unit[r]
            )
    return rate, billable, cost


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
