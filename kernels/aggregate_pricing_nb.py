"""Numba kernel pricing cycles' aggregated usage with graduated, volume or package tiers.

The price table arrives as flat arrays with CSR tier offsets (``kernels.allowance_api.
AggregatePriceTable``); call it through ``kernels.allowance_api.price_aggregates``.
pipelines/tariffs/aggregate.py is the specification.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def tier_reached_nb(total, first, last, tier_up_to):
    """Index in [first, last) of the tier holding the ``total``-th unit (up_to -1: open)."""
    for t in range(first, last):
        if tier_up_to[t] < 0 or total <= tier_up_to[t]:
            return t
    return last - 1


@njit(cache=True, parallel=True)
def price_aggregates_nb(
    raw_units,
    price,
    model,
    unit,
    package_size,
    free_units,
    tier_offsets,
    tier_up_to,
    tier_price_micros,
    tier_flat_fee_micros,
    row_offsets,
):
    """Charge each cycle's raw units at its price; one output row per tier of that price.

    model codes: 0 graduated, 1 volume, 2 package (``kernels.allowance_api.PRICING_MODELS``).

    Cycle c's rows are ``row_offsets[c]:row_offsets[c + 1]``, one per tier of
    ``price[c]`` in tier order; rows of tiers not reached stay zero and unflagged.
    """
    n = raw_units.size
    rows = row_offsets[n]
    units = np.zeros(n, np.int64)
    charge = np.zeros(n, np.int64)
    row_reached = np.zeros(rows, np.bool_)
    row_units = np.zeros(rows, np.int64)
    row_quantity = np.zeros(rows, np.int64)
    row_amount = np.zeros(rows, np.int64)
    for c in prange(n):
        p = price[c]
        raw = raw_units[c]
        # (raw - 1) // unit + 1 rounds up without forming raw + unit, which may overflow.
        total = (raw - 1) // unit[p] + 1 if raw > 0 else 0
        units[c] = total
        first = tier_offsets[p]
        last = tier_offsets[p + 1]
        base = row_offsets[c] - first
        if total == 0:
            continue
        if model[p] == 0:
            floor = 0
            for t in range(first, last):
                top = total if tier_up_to[t] < 0 else min(total, tier_up_to[t])
                if top <= floor:
                    break
                row_reached[base + t] = True
                row_units[base + t] = top - floor
                row_quantity[base + t] = top - floor
                floor = top
        else:
            t = tier_reached_nb(total, first, last, tier_up_to)
            if model[p] == 1:
                row_reached[base + t] = True
                row_units[base + t] = total
                row_quantity[base + t] = total
            elif total > free_units[p]:
                billable = total - free_units[p]
                row_reached[base + t] = True
                row_units[base + t] = billable
                row_quantity[base + t] = (billable - 1) // package_size[p] + 1
        amount = 0
        for t in range(first, last):
            if row_reached[base + t]:
                row_amount[base + t] = (
                    row_quantity[base + t] * tier_price_micros[t] + tier_flat_fee_micros[t]
                )
                amount += row_amount[base + t]
        charge[c] = amount
    return units, charge, row_reached, row_units, row_quantity, row_amount
