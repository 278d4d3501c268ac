"""Numba kernels giving each event the integer key its plan chain depends on.

``pipelines.tariffs.compile.resolve_plan_chains`` resolves each distinct (tenant, category,
subject, activation epoch) once; these kernels do the per-event part, on dictionary codes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.tariff_nb import lower_bound_nb


@njit(cache=True, parallel=True)
def profile_keys_nb(
    tenant, category, subject, start_us, n_categories, n_subjects, pair_offsets, activations
):
    """Per event, ``(pair * n_subjects + subject) * epochs + epoch`` (int64 (n,)).

    pair = tenant * n_categories + category; the pair's profile activations (ascending, in
    microseconds) are ``activations[pair_offsets[pair]:pair_offsets[pair + 1]]``, and the
    epoch is how many of them are at or before the event's start. epochs is one more than
    the most activations of any pair.
    """
    n_pairs = pair_offsets.size - 1
    epochs = 1
    for pair in range(n_pairs):
        epochs = max(epochs, pair_offsets[pair + 1] - pair_offsets[pair] + 1)
    key = np.empty(tenant.size, np.int64)
    for i in prange(tenant.size):
        pair = np.int64(tenant[i]) * n_categories + category[i]
        lo = pair_offsets[pair]
        # The first activation after the start (at or after one microsecond later).
        after = lower_bound_nb(activations, lo, pair_offsets[pair + 1], start_us[i] + 1)
        key[i] = (pair * n_subjects + subject[i]) * epochs + after - lo
    return key, epochs


@njit(cache=True, parallel=True)
def dense_distinct_nb(codes, space):
    """(ascending distinct codes, each code's index among them) of codes in [0, space)."""
    present = np.zeros(space, np.bool_)
    for i in range(codes.size):
        present[codes[i]] = True
    index = np.empty(space, np.int64)
    count = 0
    for code in range(space):
        index[code] = count
        count += present[code]
    distinct = np.empty(count, np.int64)
    for code in range(space):
        if present[code]:
            distinct[index[code]] = code
    of_event = np.empty(codes.size, np.int64)
    for i in prange(codes.size):
        of_event[i] = index[codes[i]]
    return distinct, of_event
