"""Aggregate pricing: the reference (pipelines.tariffs.aggregate) on hand-computed cases,
Lago's documented examples among them, and the kernel against it on generated prices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import allowance_api
from pipelines.tariffs.aggregate import TierCharge, price_aggregate
from pipelines.tariffs.model import AggregatePrice, PricingModel, Tier

DOLLAR = 1_000_000  # micros

# https://getlago.com/docs/guide/plans/charges/charge-models/graduated
# $1 per unit for the first 100 units, $0.50 for the next 100, $0.10 for any more.
LAGO_GRADUATED = AggregatePrice(
    "api_calls",
    PricingModel.GRADUATED,
    unit=1,
    tiers=(Tier(100, DOLLAR), Tier(200, DOLLAR // 2), Tier(None, DOLLAR // 10)),
)

# https://getlago.com/docs/guide/plans/charges/charge-models/volume
# 0-10,000 at $0.0010, 10,001-50,000 at $0.0008, 50,001-100,000 at $0.0006, then $0.0004;
# every tier with a $10 fee.
LAGO_VOLUME = AggregatePrice(
    "api_calls",
    PricingModel.VOLUME,
    unit=1,
    tiers=(
        Tier(10_000, 1_000, 10 * DOLLAR),
        Tier(50_000, 800, 10 * DOLLAR),
        Tier(100_000, 600, 10 * DOLLAR),
        Tier(None, 400, 10 * DOLLAR),
    ),
)

# https://getlago.com/docs/guide/plans/charges/charge-models/package
# $5 per 100 units, the first 100 units free.
LAGO_PACKAGE = AggregatePrice(
    "api_calls",
    PricingModel.PACKAGE,
    unit=1,
    tiers=(Tier(None, 5 * DOLLAR),),
    package_size=100,
    free_units=100,
)


def test_lago_graduated():
    # 250 units: 100 x $1 + 100 x $0.50 + 50 x $0.10 = $100 + $50 + $5 = $155.
    charge = price_aggregate(LAGO_GRADUATED, 250)
    assert charge.amount_micros == 155 * DOLLAR
    assert charge.tiers == (
        TierCharge(0, 100, 100, DOLLAR, 0, 100 * DOLLAR),
        TierCharge(1, 100, 100, DOLLAR // 2, 0, 50 * DOLLAR),
        TierCharge(2, 50, 50, DOLLAR // 10, 0, 5 * DOLLAR),
    )


def test_graduated_flat_fee_of_every_tier_reached():
    # Flat fees $2 (tier 0) and $3 (tier 1). 150 units: 100 x $1 + $2 + 50 x $0.50 + $3
    # = $130; tier 2 is not reached. Exactly 100 units reach tier 0 only: $100 + $2.
    price = AggregatePrice(
        "api_calls",
        PricingModel.GRADUATED,
        unit=1,
        tiers=(Tier(100, DOLLAR, 2 * DOLLAR), Tier(200, DOLLAR // 2, 3 * DOLLAR), Tier(None, 0)),
    )
    assert price_aggregate(price, 150).amount_micros == 130 * DOLLAR
    assert [t.tier for t in price_aggregate(price, 150).tiers] == [0, 1]
    assert price_aggregate(price, 100).amount_micros == 102 * DOLLAR


def test_lago_volume():
    # 65,000 calls fall in tier 2: 65,000 x $0.0006 + $10 = $39 + $10 = $49.
    charge = price_aggregate(LAGO_VOLUME, 65_000)
    assert charge.amount_micros == 49 * DOLLAR
    assert charge.tiers == (TierCharge(2, 65_000, 65_000, 600, 10 * DOLLAR, 49 * DOLLAR),)


def test_volume_tier_boundaries():
    # 10,000 is tier 0's last unit: 10,000 x 1,000 + 10,000,000 = 20,000,000 micros.
    # 10,001 is in tier 1: 10,001 x 800 + 10,000,000 = 18,000,800 micros (cheaper).
    assert price_aggregate(LAGO_VOLUME, 10_000).amount_micros == 20_000_000
    assert price_aggregate(LAGO_VOLUME, 10_001).amount_micros == 18_000_800


def test_lago_package():
    # 201 units: 100 free, then 101 units = 2 started packages x $5 = $10.
    charge = price_aggregate(LAGO_PACKAGE, 201)
    assert charge.amount_micros == 10 * DOLLAR
    assert charge.tiers == (TierCharge(0, 101, 2, 5 * DOLLAR, 0, 10 * DOLLAR),)
    # Within the free units nothing is charged.
    assert price_aggregate(LAGO_PACKAGE, 100).amount_micros == 0
    assert price_aggregate(LAGO_PACKAGE, 100).tiers == ()


def test_package_tier_by_total_with_flat_fee():
    # Tier by the total, free units included: 1,201 units is past 1,000, so tier 1
    # ($4 per package, $1 flat). Billed: 1,201 - 100 free = 1,101 units = 12 packages of
    # 100; 12 x $4 + $1 = $49.
    price = AggregatePrice(
        "sms",
        PricingModel.PACKAGE,
        unit=1,
        tiers=(Tier(1_000, 5 * DOLLAR), Tier(None, 4 * DOLLAR, DOLLAR)),
        package_size=100,
        free_units=100,
    )
    assert price_aggregate(price, 1_201).tiers == (
        TierCharge(1, 1_101, 12, 4 * DOLLAR, DOLLAR, 49 * DOLLAR),
    )


def test_units_converted_on_the_cycle_total_rounding_up():
    # Data in bytes priced per MB (1,000,000 bytes): 2,500,001 bytes -> 3 MB; at
    # $0.10 per MB graduated in one tier: 3 x 100,000 = 300,000 micros.
    # Two events of 1,250,000 and 1,250,001 bytes converted one by one would be 2 + 2 = 4 MB.
    price = AggregatePrice("data", PricingModel.GRADUATED, 1_000_000, (Tier(None, 100_000),))
    charge = price_aggregate(price, 1_250_000 + 1_250_001)
    assert (charge.units, charge.amount_micros) == (3, 300_000)


def test_zero_units_reach_no_tier():
    assert price_aggregate(LAGO_VOLUME, 0).amount_micros == 0
    assert price_aggregate(LAGO_GRADUATED, 0).tiers == ()


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (AggregatePrice("x", PricingModel.VOLUME, 1, (Tier(10, 1),)), "open"),
        (
            AggregatePrice("x", PricingModel.VOLUME, 1, (Tier(10, 1), Tier(10, 1), Tier(None, 1))),
            "rise",
        ),
        (AggregatePrice("x", PricingModel.VOLUME, 0, (Tier(None, 1),)), "unit"),
        (
            AggregatePrice("x", PricingModel.GRADUATED, 1, (Tier(None, 1),), free_units=5),
            "package model",
        ),
        (
            AggregatePrice("x", PricingModel.PACKAGE, 1, (Tier(None, 1),), package_size=0),
            "package_size",
        ),
        (AggregatePrice("x", PricingModel.VOLUME, 1, (Tier(None, -1),)), ">= 0"),
        (AggregatePrice("x", PricingModel.VOLUME, 1, ()), "at least one tier"),
    ],
)
def test_prices_the_rules_cannot_apply_are_refused(price, message):
    with pytest.raises(ValueError, match=message):
        price_aggregate(price, 1)
    with pytest.raises(ValueError, match=message):
        allowance_api.aggregate_price_table([price])


def kernel_charges(prices, raw_units, price_index):
    table = allowance_api.aggregate_price_table(prices)
    return allowance_api.price_aggregates(
        np.array(raw_units, dtype=np.int64), np.array(price_index, dtype=np.int64), table
    )


def test_kernel_on_the_lago_examples():
    result = kernel_charges(
        [LAGO_GRADUATED, LAGO_VOLUME, LAGO_PACKAGE], [250, 65_000, 201, 0], [0, 1, 2, 1]
    )
    assert result.charge_micros.tolist() == [155 * DOLLAR, 49 * DOLLAR, 10 * DOLLAR, 0]
    # Cycle 1 (65,000 at volume) has four tier rows, the third reached.
    rows = slice(result.tier_row_offsets[1], result.tier_row_offsets[2])
    assert result.reached[rows].tolist() == [False, False, True, False]
    assert result.amount_micros[rows].tolist() == [0, 0, 49 * DOLLAR, 0]


def test_kernel_api_checks_its_inputs():
    table = allowance_api.aggregate_price_table([LAGO_VOLUME])
    with pytest.raises(TypeError, match="int64"):
        allowance_api.price_aggregates(np.array([1], dtype=np.int32), np.array([0]), table)
    with pytest.raises(ValueError, match="price must lie"):
        allowance_api.price_aggregates(np.array([1]), np.array([1]), table)
    with pytest.raises(ValueError, match=">= 0"):
        allowance_api.price_aggregates(np.array([-1]), np.array([0]), table)
    with pytest.raises(OverflowError):
        allowance_api.price_aggregates(np.array([2**62]), np.array([0]), table)


@st.composite
def aggregate_prices(draw):
    model = draw(st.sampled_from(list(PricingModel)))
    bounds = sorted(draw(st.sets(st.integers(1, 60), max_size=3)))
    tiers = tuple(
        Tier(up_to, draw(st.integers(0, 5_000)), draw(st.sampled_from([0, 0, 700, 2_000])))
        for up_to in [*bounds, None]
    )
    package = model is PricingModel.PACKAGE
    return AggregatePrice(
        "data",
        model,
        unit=draw(st.sampled_from([1, 3, 1_000])),
        tiers=tiers,
        package_size=draw(st.integers(1, 7)) if package else 1,
        free_units=draw(st.integers(0, 20)) if package else 0,
    )


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    prices=st.lists(aggregate_prices(), min_size=1, max_size=3),
    # Small totals land in every tier; large ones, with unit 1,000, too.
    cycles=st.lists(
        st.tuples(st.one_of(st.integers(0, 80), st.integers(0, 80_000)), st.integers(0, 2)),
        max_size=8,
    ),
)
def test_kernel_matches_reference(prices, cycles):
    raw_units = [units for units, _ in cycles]
    price_index = [p % len(prices) for _, p in cycles]
    result = kernel_charges(prices, raw_units, price_index)
    for c, (units, p) in enumerate(zip(raw_units, price_index, strict=True)):
        expected = price_aggregate(prices[p], units)
        assert result.units[c] == expected.units
        assert result.charge_micros[c] == expected.amount_micros
        first = result.tier_row_offsets[c]
        reached = [
            TierCharge(
                tier=t,
                units=int(result.tier_units[first + t]),
                quantity=int(result.quantity[first + t]),
                price_micros=prices[p].tiers[t].price_micros,
                flat_fee_micros=prices[p].tiers[t].flat_fee_micros,
                amount_micros=int(result.amount_micros[first + t]),
            )
            for t in range(len(prices[p].tiers))
            if result.reached[first + t]
        ]
        assert tuple(reached) == expected.tiers
