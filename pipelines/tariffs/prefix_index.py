"""Longest-prefix lookup tables of a compiled catalog (``kernels.tariff_nb.matching_key_nb``).

A plan's prefix keys (sorted by plan, length, value) go into two tables:

- ``key_hash``: every key in an open-addressing hash table (linear probing), one row per
  slot: KEY_HASH_COLUMNS. ``parent`` is the row of the key's longest shorter key of the same
  plan that prefixes it, so that once an event's longest matching key is found, the shorter
  ones it falls back to (when no binding of the longer is active) cost no search.
- ``head_table``: per plan, a dense table indexed by a number's first ``head_digits`` digits
  (``plan_heads[p]`` = (first entry, head digits)). Each int32 entry is
  ``(row + 1) * 2 + longer``: row is the hash row of the longest key of at most head-digits
  digits prefixing those digits (-1 none), and ``longer`` says whether some longer key starts
  with them, the only case that still probes the hash. A plan's head digits are the most
  whose table stays within HEAD_ENTRIES_PER_KEY entries per key (at least
  MIN_HEAD_ENTRIES), so a deck's table grows with the deck and stays cache-sized.

Most numbers then find their destination in two reads (head entry, key row) instead of one
hash probe per prefix length.
"""

from __future__ import annotations

import numpy as np

#: The longest prefix a key can hold (an E.164 number has at most 15 digits).
MAX_PREFIX_DIGITS = 15
#: Multipliers of the prefix keys' hash (``kernels.tariff_nb.find_key_nb`` uses the same).
KEY_HASH_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)
#: key_hash columns, by position (``kernels.tariff_nb`` indexes them so).
KEY_HASH_COLUMNS = (
    "packed",  # value * 16 + length
    "plan",
    "prefix",  # prefix id
    "first_candidate",  # -1: an empty row
    "end_candidate",
    "schedule",
    "parent",  # hash row of the longest shorter key prefixing this one, -1 none
    "length",
)
HEAD_ENTRIES_PER_KEY = 32
MIN_HEAD_ENTRIES = 10_000
#: Head digits are capped so that a head fits the dense table's int64 arithmetic cheaply.
MAX_HEAD_DIGITS = 7
POW10 = np.array([10**k for k in range(MAX_PREFIX_DIGITS + 1)], dtype=np.int64)


def key_hash_rows(packed: np.ndarray, plan: np.ndarray, size: int) -> np.ndarray:
    """First row of each (value * 16 + length, plan) key in a hash table of ``size`` rows."""
    first, second = (np.uint64(m) for m in KEY_HASH_MULTIPLIERS)
    mixed = packed.astype(np.uint64) * first + plan.astype(np.uint64) * second
    return ((mixed >> np.uint64(32)) & np.uint64(size - 1)).astype(np.int64)


def key_parents(key_plan: np.ndarray, key_len: np.ndarray, key_value: np.ndarray) -> np.ndarray:
    """Per key, the index of its longest shorter key of the same plan prefixing it, -1."""
    parent = np.full(key_value.size, -1, dtype=np.int64)
    # Plan and value in one sortable code per length (plans < 9,000 keep it in int64).
    for length in range(MAX_PREFIX_DIGITS - 1, 0, -1):
        at_length = np.flatnonzero(key_len == length)
        if not at_length.size:
            continue
        codes = key_plan[at_length] * 10**MAX_PREFIX_DIGITS + key_value[at_length]
        order = np.argsort(codes, kind="stable")
        codes, at_length = codes[order], at_length[order]
        asking = np.flatnonzero((key_len > length) & (parent < 0))
        truncated = key_value[asking] // POW10[key_len[asking] - length]
        wanted = key_plan[asking] * 10**MAX_PREFIX_DIGITS + truncated
        found = np.minimum(np.searchsorted(codes, wanted), codes.size - 1)
        hit = codes[found] == wanted
        parent[asking[hit]] = at_length[found[hit]]
    return parent


def build_key_hash(
    key_plan: np.ndarray,
    key_len: np.ndarray,
    key_value: np.ndarray,
    key_prefix: np.ndarray,
    key_candidates: np.ndarray,
    key_schedule: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(key_hash (h, 8), hash row of each key): h a power of two >= 2 keys."""
    packed = key_value * 16 + key_len
    size = 2
    while size < 2 * key_value.size:
        size *= 2
    table = np.full((size, len(KEY_HASH_COLUMNS)), -1, dtype=np.int64)
    key_row = np.empty(key_value.size, dtype=np.int64)
    for k, row in enumerate(key_hash_rows(packed, key_plan, size).tolist()):
        while table[row, 3] >= 0:
            row = (row + 1) & (size - 1)
        key_row[k] = row
        table[row, :6] = (
            packed[k],
            key_plan[k],
            key_prefix[k],
            key_candidates[k],
            key_candidates[k + 1],
            key_schedule[k],
        )
        table[row, 7] = key_len[k]
    parent = key_parents(key_plan, key_len, key_value)
    table[key_row, 6] = np.where(parent >= 0, key_row[np.maximum(parent, 0)], -1)
    return table, key_row


def head_digits(key_len: np.ndarray) -> int:
    """Digits a plan's dense head table is indexed by, for its keys' lengths."""
    if not key_len.size:
        return 0
    budget = max(HEAD_ENTRIES_PER_KEY * key_len.size, MIN_HEAD_ENTRIES)
    digits = 1
    while digits < min(int(key_len.max()), MAX_HEAD_DIGITS) and 10 ** (digits + 1) <= budget:
        digits += 1
    return digits


def build_head_tables(
    n_plans: int,
    key_plan: np.ndarray,
    key_len: np.ndarray,
    key_value: np.ndarray,
    key_row: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(plan_heads (p, 2): first entry, head digits; head_table int32) of the keys."""
    plan_heads = np.zeros((n_plans, 2), dtype=np.int64)
    tables = []
    first = 0
    for p in range(n_plans):
        in_plan = np.flatnonzero(key_plan == p)
        digits = head_digits(key_len[in_plan])
        plan_heads[p] = (first, digits)
        if not digits:
            continue
        # Longest key of at most `digits` digits per head: shorter keys first, longer
        # ones overwrite the heads they cover. Keys of exactly `digits` digits (most of a
        # large deck) cover one head each and are assigned at once.
        longest = np.full(10**digits, -1, dtype=np.int64)
        longer = np.zeros(10**digits, dtype=bool)
        for length in range(1, digits):
            at = in_plan[key_len[in_plan] == length]
            scale = 10 ** (digits - length)
            for value, row in zip(key_value[at].tolist(), key_row[at].tolist(), strict=True):
                longest[value * scale : (value + 1) * scale] = row
        at = in_plan[key_len[in_plan] == digits]
        longest[key_value[at]] = key_row[at]
        at = in_plan[key_len[in_plan] > digits]
        longer[key_value[at] // POW10[key_len[at] - digits]] = True
        tables.append(((longest + 1) * 2 + longer).astype(np.int32))
        first += 10**digits
    head_table = np.concatenate(tables) if tables else np.zeros(0, dtype=np.int32)
    return plan_heads, head_table
