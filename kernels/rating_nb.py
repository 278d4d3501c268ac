"""Numba kernels of usage rating: time band, longest-prefix rate lookup, increments,
allowances and charges.

Tables arrive as flat arrays (rate tables with CSR offsets per group and prefix length, see
``kernels.api.RateTable``); nothing here reads a module global, so a cached compilation never
freezes a tariff. Call these through ``kernels.api``, which checks dtypes and shapes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def lower_bound_nb(values, lo, hi, target):
    """First index in [lo, hi) of ascending ``values`` holding a value >= target (hi if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def day_type_nb(day, holiday_days):
    """Day type of a local day number: 0 weekday, 1 weekend, 2 holiday (kernels.api.DAY_TYPES)."""
    k = lower_bound_nb(holiday_days, 0, holiday_days.size, day)
    if k < holiday_days.size and holiday_days[k] == day:
        return 2
    # Day 0 (1970-01-01) was a Thursday, so (day + 3) % 7 counts Monday as 0.
    if (day + 3) % 7 >= 5:
        return 1
    return 0


@njit(cache=True)
def time_band_nb(
    local_second, holiday_days, band_day_type, band_start, band_end, band_weight, band_id
):
    """Band id covering a local instant, highest weight first (first row on ties); -1 if none."""
    day = local_second // 86400
    second_of_day = local_second - day * 86400
    day_type = day_type_nb(day, holiday_days)
    best = -1
    for b in range(band_day_type.size):
        if (
            band_day_type[b] == day_type
            and band_start[b] <= second_of_day < band_end[b]
            and (best < 0 or band_weight[b] > band_weight[best])
        ):
            best = b
    if best < 0:
        return -1
    return band_id[best]


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
def rate_usage_nb(
    pool_offsets,
    tariff,
    local_seconds,
    number_value,
    number_len,
    units,
    allowance,
    holiday_days,
    band_day_type,
    band_start,
    band_end,
    band_weight,
    band_id,
    n_bands,
    offsets,
    prefix_value,
    effective_day,
    connect_fee_micros,
    price_micros,
    price_unit,
    first_increment,
    increment,
    is_zero_rated,
    is_in_bundle,
):
    """Rate usage records; outcome codes: 0 not for rating, 1 rated, 2 zero-rated, 3 no rate.

    Rows of one allowance pool are ``pool_offsets[p]:pool_offsets[p + 1]`` in event order.
    """
    n = tariff.size
    band = np.empty(n, np.int64)
    rate = np.full(n, -1, np.int64)
    outcome = np.zeros(n, np.int8)
    billable = np.zeros(n, np.int64)
    allowance_units = np.zeros(n, np.int64)
    chargeable = np.zeros(n, np.int64)
    charge = np.zeros(n, np.int64)

    for i in prange(n):
        band[i] = time_band_nb(
            local_seconds[i],
            holiday_days,
            band_day_type,
            band_start,
            band_end,
            band_weight,
            band_id,
        )
        if tariff[i] < 0:
            continue
        group = -1 if band[i] < 0 else tariff[i] * n_bands + band[i]
        r = find_rate_nb(
            group,
            number_value[i],
            number_len[i],
            local_seconds[i] // 86400,
            offsets,
            prefix_value,
            effective_day,
        )
        rate[i] = r
        if r < 0:
            outcome[i] = 3
            continue
        billable[i] = billable_units_nb(units[i], first_increment[r], increment[r])
        outcome[i] = 2 if is_zero_rated[r] else 1

    # The only sequential dependency: a pool's allowance is drawn in event order.
    for p in prange(pool_offsets.size - 1):
        used = 0
        for i in range(pool_offsets[p], pool_offsets[p + 1]):
            if outcome[i] != 1 or not is_in_bundle[rate[i]]:
                continue
            take = min(max(allowance[i] - used, 0), billable[i])
            allowance_units[i] = take
            used += take

    for i in prange(n):
        if outcome[i] == 1:
            r = rate[i]
            chargeable[i] = billable[i] - allowance_units[i]
            charge[i] = charge_micros_nb(
                chargeable[i], connect_fee_micros[r], price_micros[r], price_unit[r]
            )
    return band, rate, outcome, billable, allowance_units, chargeable, charge


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
