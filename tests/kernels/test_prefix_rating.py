"""Longest-prefix carrier costing (``kernels.api.cost_legs``) against the pure-Python
reference, on hand-computed cases and on generated rate tables and legs."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import api

sys.path.insert(0, str(Path(__file__).parent))
import reference_rating as ref

DAY = 86_400
MONDAY = (date(2024, 7, 1) - ref.EPOCH).days

Leg = tuple[int, int, str | None, int]  # (carrier group, local_seconds, number, seconds)


def i64(values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def to_table(rates: list[ref.Rate], n_groups: int) -> api.RateTable:
    return api.build_rate_table(
        n_groups,
        group=i64([r.group for r in rates]),
        prefix=[r.prefix for r in rates],
        effective_day=i64([r.effective_day for r in rates]),
        connect_fee_micros=i64([r.connect_fee_micros for r in rates]),
        price_micros=i64([r.price_micros for r in rates]),
        price_unit=i64([r.price_unit for r in rates]),
        first_increment=i64([r.first_increment for r in rates]),
        increment=i64([r.increment for r in rates]),
    )


def kernel_cost(legs: list[Leg], rates: list[ref.Rate], n_groups: int) -> list[dict[str, int]]:
    value, length = api.encode_numbers([leg[2] for leg in legs])
    got = api.cost_legs(
        i64([leg[0] for leg in legs]),
        i64([leg[1] for leg in legs]),
        value,
        length,
        i64([leg[3] for leg in legs]),
        to_table(rates, n_groups),
    )
    return [
        {"rate_row": int(a), "billable_seconds": int(b), "cost_micros": int(c)}
        for a, b, c in zip(got.rate_row, got.billable_seconds, got.cost_micros, strict=True)
    ]


def both(legs: list[Leg], rates: list[ref.Rate], n_groups: int = 1) -> list[dict[str, int]]:
    """Cost with the kernel and the reference; they must agree."""
    expected = ref.cost_legs(legs, rates)
    assert kernel_cost(legs, rates, n_groups) == expected
    return expected


def rate(prefix: str, first: int, inc: int, **kw) -> ref.Rate:
    base = dict(
        group=0,
        prefix=prefix,
        effective_day=0,
        connect_fee_micros=0,
        price_micros=60_000,
        price_unit=60,
        first_increment=first,
        increment=inc,
    )
    return ref.Rate(**{**base, **kw})


def leg(seconds: int, number: str | None = "13125550123", at: int = MONDAY * DAY) -> Leg:
    return (0, at, number, seconds)


@pytest.mark.parametrize(
    ("first", "inc", "seconds", "billable"),
    [
        (60, 60, 1, 60),
        (60, 60, 60, 60),
        (60, 60, 61, 120),
        (60, 60, 120, 120),
        (60, 1, 1, 60),
        (60, 1, 60, 60),
        (60, 1, 61, 61),
        (60, 1, 119, 119),
        (30, 6, 1, 30),
        (30, 6, 30, 30),
        (30, 6, 31, 36),
        (30, 6, 36, 36),
        (30, 6, 37, 42),
        (30, 6, 0, 0),
        (0, 6, 7, 12),
    ],
)
def test_increments(first, inc, seconds, billable):
    [row] = both([leg(seconds)], [rate("1", first, inc, connect_fee_micros=5)])
    assert row["billable_seconds"] == billable
    # 60_000 micros a minute is 1_000 a second; a leg of no billable seconds costs nothing.
    assert row["cost_micros"] == (5 + billable * 1_000 if billable else 0)


def test_cgrates_issue_118_thirty_six():
    # cgrates#118: 0.006 a minute billed 30/6; a 31 s call bills 36 s = 0.0036.
    [row] = both([leg(31)], [rate("1", 30, 6, price_micros=6_000)])
    assert (row["billable_seconds"], row["cost_micros"]) == (36, 3_600)


def test_longest_prefix_wins_and_versions_fall_back():
    rates = [
        rate("", 1, 1, price_micros=1),
        rate("1", 1, 1, price_micros=2),
        rate("13", 1, 1, price_micros=3),
        rate("1312", 1, 1, price_micros=4, effective_day=MONDAY + 1),
        rate("131", 1, 1, price_micros=5),
        rate("131", 1, 1, price_micros=6, effective_day=MONDAY),
        rate("131", 1, 1, price_micros=7, effective_day=MONDAY + 2),
        rate("13125550123", 1, 1, price_micros=8),
    ]
    legs = [
        leg(60, "13125550123"),  # the whole number is a prefix
        leg(60, "13125550124"),  # 1312 not effective yet: 131, version of MONDAY
        leg(60, "1399"),
        leg(60, "44"),
        leg(60, None),
        leg(60, "13a"),  # not digits: only the empty prefix matches
        leg(60, "13125550124", at=(MONDAY + 1) * DAY + 9 * 3600),
    ]
    rows = both(legs, rates)
    assert [rates[r["rate_row"]].price_micros for r in rows] == [8, 6, 3, 1, 1, 1, 4]


def test_no_rate_or_no_carrier_leaves_the_leg_uncosted():
    legs = [leg(60, "44"), (-1, MONDAY * DAY, "13", 60)]
    rows = both(legs, [rate("1", 60, 60)])
    assert rows == [{"rate_row": -1, "billable_seconds": 0, "cost_micros": 0}] * 2


@pytest.mark.parametrize(
    ("seconds", "price", "unit", "cost"),
    [
        (1, 1, 2, 1),
        (3, 1, 2, 2),
        (1, 1, 3, 0),
        (2, 1, 3, 1),
        (1, 30, 60, 1),
        (1, 29, 60, 0),
        (1_500_160 - 1_048_576, 10_000_000, 1_048_576, 4_306_641),
    ],
)
def test_rounding_half_up_at_half_a_micro(seconds, price, unit, cost):
    [row] = both([leg(seconds, None)], [rate("", 1, 1, price_micros=price, price_unit=unit)])
    assert row["cost_micros"] == cost


def test_carrier_legs_by_carrier_table():
    rates = [
        ref.Rate(0, "1", 0, 0, 6_000, 60, 60, 6),
        ref.Rate(0, "44", 0, 0, 20_000, 60, 1, 1),
        ref.Rate(1, "", 0, 0, 1_000, 60, 60, 60),
    ]
    legs = [
        (0, MONDAY * DAY, "13125550123", 61),
        (0, MONDAY * DAY, "447700900123", 31),
        (0, MONDAY * DAY, "86", 30),
        (1, MONDAY * DAY, "86", 0),
        (-1, MONDAY * DAY, "1", 9),
    ]
    rows = both(legs, rates, n_groups=2)
    assert [r["cost_micros"] for r in rows] == [6_600, 10_333, 0, 0, 0]
    assert [r["rate_row"] for r in rows] == [0, 1, -1, 2, -1]


def test_api_rejects_wrong_dtypes_bad_rows_and_overflow():
    rates = to_table([rate("1", 60, 60)], 1)
    args = dict(
        group=i64([0, 0]),
        local_seconds=i64([MONDAY * DAY] * 2),
        number_value=i64([1, 1]),
        number_len=i64([1, 1]),
        seconds=i64([60, 60]),
        rates=rates,
    )
    assert list(api.cost_legs(**args).cost_micros) == [60_000, 60_000]
    with pytest.raises(TypeError, match="seconds must be int64"):
        api.cost_legs(**{**args, "seconds": np.array([60, 60], dtype=np.int32)})
    with pytest.raises(ValueError, match="C-contiguous"):
        api.cost_legs(**{**args, "seconds": i64([60, 0, 60, 0])[::2]})
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        api.cost_legs(**{**args, "seconds": i64([60, -1])})
    with pytest.raises(ValueError, match="carrier index beyond"):
        api.cost_legs(**{**args, "group": i64([0, 1])})
    with pytest.raises(ValueError, match="use encode_numbers"):
        api.cost_legs(**{**args, "number_len": i64([1, 16])})
    with pytest.raises(OverflowError):
        api.cost_legs(**{**args, "seconds": i64([60, 2**62])})
    with pytest.raises(ValueError, match="share group, prefix"):
        to_table([rate("1", 60, 60), rate("1", 1, 1)], 1)
    with pytest.raises(ValueError, match="digits"):
        to_table([rate("+1", 60, 60)], 1)


# --- generated rate tables and legs ----------------------------------------------------

prefixes = st.text(alphabet="12", max_size=4)
numbers = st.one_of(
    st.none(),
    st.text(alphabet="12", max_size=7),
    st.just("12a"),
    st.text(alphabet="0123456789", min_size=16, max_size=18),
)


@st.composite
def carrier_tables(draw):
    n_groups = draw(st.integers(1, 4))
    keys = draw(
        st.lists(
            st.tuples(st.integers(0, n_groups - 1), prefixes, st.integers(0, 6)),
            unique=True,
            max_size=25,
        )
    )
    rates = [
        ref.Rate(
            group,
            prefix,
            19_000 + eff,
            connect_fee_micros=draw(st.integers(0, 1_000)),
            price_micros=draw(st.integers(0, 10_000_000)),
            price_unit=draw(st.sampled_from([1, 2, 3, 60, 1_048_576])),
            first_increment=draw(st.sampled_from([0, 1, 30, 60])),
            increment=draw(st.sampled_from([1, 6, 60])),
        )
        for group, prefix, eff in keys
    ]
    legs = draw(
        st.lists(
            st.tuples(
                st.integers(-1, n_groups - 1),
                st.integers(19_000 * DAY, 19_010 * DAY),
                numbers,
                st.sampled_from([0, 1, 29, 30, 31, 59, 60, 61, 125, 1_500_000]),
            ),
            max_size=40,
        )
    )
    return legs, rates, n_groups


@settings(max_examples=300, deadline=None)
@given(carrier_tables())
def test_kernel_matches_reference_on_generated_legs(table):
    legs, rates, n_groups = table
    assert kernel_cost(legs, rates, n_groups) == ref.cost_legs(legs, rates)
