"""The compiled longest-prefix tables against brute force over prefix strings."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.tariffs import prefix_index
from pipelines.tariffs.prefix_index import (
    build_head_tables,
    build_key_hash,
    head_digits,
    key_parents,
)


def keys_of(prefixes_by_plan: list[list[str]]):
    """(plan, length, value, texts) of the keys, sorted by (plan, length, value)."""
    keys = sorted(
        {(plan, len(p), int(p), p) for plan, found in enumerate(prefixes_by_plan) for p in found}
    )
    plan, length, value, text = (list(column) for column in zip(*keys, strict=True))
    return np.array(plan), np.array(length), np.array(value), text


def test_parents_are_the_longest_shorter_prefix_of_the_same_plan():
    plan, length, value, text = keys_of([["3", "33", "336", "34", "4471"], ["33", "3361"]])
    parents = key_parents(plan, length, value)
    named = {
        (int(plan[k]), text[k]): None if parents[k] < 0 else text[parents[k]]
        for k in range(len(text))
    }
    assert named == {
        (0, "3"): None,
        (0, "33"): "3",
        (0, "336"): "33",
        (0, "34"): "3",
        (0, "4471"): None,  # "4", "44" and "447" are not keys
        (1, "33"): None,  # plan 0's "3" is another plan's
        (1, "3361"): "33",
    }


def test_head_digits_follow_the_deck_size():
    assert head_digits(np.array([], dtype=np.int64)) == 0
    assert head_digits(np.array([2, 3])) == 3  # the longest key, within the minimum table
    assert head_digits(np.array([9] * 10)) == 4  # 10 keys: 10,000 entries at most
    assert head_digits(np.array([9] * 4_000)) == 5  # 4,000 keys x 32 entries >= 100,000
    assert head_digits(np.array([15] * 10**6)) == prefix_index.MAX_HEAD_DIGITS


def longest_by_brute_force(texts: list[str], number: str, at_most: int) -> str | None:
    matching = [p for p in texts if len(p) <= at_most and number.startswith(p)]
    return max(matching, key=len, default=None)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.lists(st.text("0123", min_size=1, max_size=7), min_size=0, max_size=25),
        min_size=1,
        max_size=3,
    )
)
def test_head_tables_name_the_longest_key_of_every_head(prefixes_by_plan):
    if not any(prefixes_by_plan):
        return
    plan, length, value, text = keys_of(prefixes_by_plan)
    starts = np.searchsorted(plan, np.arange(len(prefixes_by_plan) + 1))
    candidates = np.arange(value.size + 1)
    table, key_row = build_key_hash(
        plan, length, value, np.arange(value.size), candidates, candidates
    )
    plan_heads, head_table = build_head_tables(len(prefixes_by_plan), plan, length, value, key_row)
    row_text = {int(key_row[k]): text[k] for k in range(value.size)}
    for p in range(len(prefixes_by_plan)):
        first, digits = (int(v) for v in plan_heads[p])
        texts = text[starts[p] : starts[p + 1]]
        assert digits == head_digits(length[starts[p] : starts[p + 1]])
        for head in range(10**digits if digits else 0):
            entry = int(head_table[first + head])
            digits_text = str(head).zfill(digits)
            expected = longest_by_brute_force(texts, digits_text, digits)
            row = (entry >> 1) - 1
            assert (row_text[row] if row >= 0 else None) == expected
            longer = any(len(t) > digits and t.startswith(digits_text) for t in texts)
            assert bool(entry & 1) == longer
    # Each key's parent row holds its longest shorter prefix of the same plan.
    for k in range(value.size):
        shorter = [
            t
            for t in text[starts[plan[k]] : starts[plan[k] + 1]]
            if len(t) < length[k] and text[k].startswith(t)
        ]
        parent_row = int(table[key_row[k], 6])
        assert (row_text[parent_row] if parent_row >= 0 else None) == max(
            shorter, key=len, default=None
        )
