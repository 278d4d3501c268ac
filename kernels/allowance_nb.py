"""Numba kernel of allowance draw-down: the sequential pass over each account's events.

Arrays only (CSR offsets for the buckets each event may draw from); call it through
``kernels.allowance_api``, which checks dtypes, shapes and that every bucket belongs to
the account whose events draw it. pipelines/tariffs/allowances.py is the specification.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def draw_allowances_nb(
    account_offsets,
    candidate_offsets,
    candidate_bucket,
    candidate_grant,
    billed_units,
    rolled_in,
):
    """Draw each event's billed units from its candidate buckets, rolled-in units first.

    Events of account a are ``account_offsets[a]:account_offsets[a + 1]`` in event order;
    event i may draw the buckets ``candidate_bucket[candidate_offsets[i]:...[i + 1]]`` in
    that order, the grant of each at the event being ``candidate_grant`` of the same row.
    """
    n = billed_units.size
    covered = np.zeros(n, np.int64)
    from_rollover = np.zeros(candidate_bucket.size, np.int64)
    from_grant = np.zeros(candidate_bucket.size, np.int64)
    used_from_rollover = np.zeros(rolled_in.size, np.int64)
    used_from_grant = np.zeros(rolled_in.size, np.int64)
    # An account's buckets are drawn by its events only, so accounts write disjoint rows.
    for a in prange(account_offsets.size - 1):
        for i in range(account_offsets[a], account_offsets[a + 1]):
            to_pay = billed_units[i]
            first = candidate_offsets[i]
            last = candidate_offsets[i + 1]
            for j in range(first, last):
                k = candidate_bucket[j]
                take = min(rolled_in[k] - used_from_rollover[k], to_pay)
                from_rollover[j] = take
                used_from_rollover[k] += take
                to_pay -= take
            for j in range(first, last):
                k = candidate_bucket[j]
                take = min(max(candidate_grant[j] - used_from_grant[k], 0), to_pay)
                from_grant[j] = take
                used_from_grant[k] += take
                to_pay -= take
            covered[i] = billed_units[i] - to_pay
    return covered, from_rollover, from_grant, used_from_rollover, used_from_grant
