"""The rating kernels against the pure-Python reference, on hand-computed cases and on
generated tariffs and usage."""

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
WEEKDAY_CODES = {name: code for code, name in enumerate(api.DAY_TYPES)}
PEAK, OFFPEAK = 0, 1
# Monday 2024-07-01, Thursday 2024-07-04 (Independence Day), Saturday 2024-07-06.
MONDAY = (date(2024, 7, 1) - ref.EPOCH).days
HOLIDAY = (date(2024, 7, 4) - ref.EPOCH).days
SATURDAY = (date(2024, 7, 6) - ref.EPOCH).days

BANDS = [
    ref.Band("weekday", 8 * 3600, 20 * 3600, 10, PEAK),
    ref.Band("weekday", 0, DAY, 0, OFFPEAK),
    ref.Band("weekend", 0, DAY, 0, OFFPEAK),
    ref.Band("holiday", 0, DAY, 0, OFFPEAK),
]


def i64(values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def to_bands(bands: list[ref.Band], n_bands: int) -> api.TimeBands:
    return api.TimeBands(
        day_type=i64([WEEKDAY_CODES[b.day_type] for b in bands]),
        start_second=i64([b.start_second for b in bands]),
        end_second=i64([b.end_second for b in bands]),
        weight=i64([b.weight for b in bands]),
        band=i64([b.band for b in bands]),
        n_bands=n_bands,
    )


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
        is_zero_rated=np.array([r.is_zero_rated for r in rates], dtype=np.bool_),
        is_in_bundle=np.array([r.is_in_bundle for r in rates], dtype=np.bool_),
    )


def kernel_rate(records, holidays, bands, n_bands, rates, n_tariffs) -> list[dict[str, int]]:
    value, length = api.encode_numbers([r.number for r in records])
    result = api.rate_usage(
        pool_id=i64([r.pool for r in records]),
        tariff=i64([r.tariff for r in records]),
        local_seconds=i64([r.local_seconds for r in records]),
        number_value=value,
        number_len=length,
        units=i64([r.units for r in records]),
        allowance=i64([r.allowance for r in records]),
        holiday_days=i64(sorted(holidays)),
        bands=to_bands(bands, n_bands),
        rates=to_table(rates, n_tariffs * n_bands),
    )
    names = (
        "band",
        "rate_row",
        "outcome",
        "billable_units",
        "allowance_units",
        "chargeable_units",
        "charge_micros",
    )
    return [{name: int(getattr(result, name)[i]) for name in names} for i in range(len(records))]


def both(records, rates, holidays=frozenset({HOLIDAY}), bands=BANDS, n_bands=2, n_tariffs=1):
    """Rate with the kernel and the reference; they must agree."""
    expected = ref.rate_usage(records, set(holidays), bands, n_bands, rates)
    got = kernel_rate(records, holidays, bands, n_bands, rates, n_tariffs)
    assert got == expected
    return got


def voice_rate(prefix, first, inc, band=PEAK, **kw) -> ref.Rate:
    base = dict(
        group=band,
        prefix=prefix,
        effective_day=0,
        connect_fee_micros=0,
        price_micros=60_000,
        price_unit=60,
        first_increment=first,
        increment=inc,
    )
    return ref.Rate(**{**base, **kw})


def call(
    seconds, number="13125550123", at=MONDAY * DAY + 10 * 3600, pool=0, allowance=0, tariff=0
) -> ref.Record:
    return ref.Record(pool, tariff, at, number, seconds, allowance)


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
    [row] = both([call(seconds)], [voice_rate("1", first, inc, connect_fee_micros=5)])
    assert row["billable_units"] == billable
    # 60_000 micros a minute is 1_000 a second; nothing is chargeable, nothing is charged.
    assert row["charge_micros"] == (5 + billable * 1_000 if billable else 0)


def test_cgrates_issue_118_thirty_six():
    # cgrates#118: 0.006 a minute billed 30/6; a 31 s call bills 36 s = 0.0036.
    rate = voice_rate("1", 30, 6, price_micros=6_000)
    [row] = both([call(31)], [rate])
    assert (row["billable_units"], row["charge_micros"]) == (36, 3_600)


def test_longest_prefix_wins_and_versions_fall_back():
    rates = [
        voice_rate("", 1, 1, price_micros=1),
        voice_rate("1", 1, 1, price_micros=2),
        voice_rate("13", 1, 1, price_micros=3),
        voice_rate("1312", 1, 1, price_micros=4, effective_day=MONDAY + 1),
        voice_rate("131", 1, 1, price_micros=5),
        voice_rate("131", 1, 1, price_micros=6, effective_day=MONDAY),
        voice_rate("131", 1, 1, price_micros=7, effective_day=MONDAY + 2),
        voice_rate("13125550123", 1, 1, price_micros=8),
    ]
    records = [
        call(60, "13125550123"),  # the whole number is a prefix
        call(60, "13125550124"),  # 1312 not effective yet: 131, version of MONDAY
        call(60, "1399"),
        call(60, "44"),
        call(60, None),
        call(60, "13a"),  # not digits: only the empty prefix matches
        call(60, "13125550124", at=(MONDAY + 1) * DAY + 9 * 3600),
    ]
    rows = both(records, rates)
    assert [rates[r["rate_row"]].price_micros for r in rows] == [8, 6, 3, 1, 1, 1, 4]


def test_no_rate_is_never_a_zero_charge():
    rows = both([call(60, "44"), call(60, "13", at=SATURDAY * DAY)], [voice_rate("1", 60, 60)])
    assert [r["outcome"] for r in rows] == [api.Outcome.NO_RATE, api.Outcome.NO_RATE]
    assert [r["rate_row"] for r in rows] == [-1, -1]


@pytest.mark.parametrize(
    ("at", "band"),
    [
        (MONDAY * DAY + 8 * 3600, PEAK),
        (MONDAY * DAY + 8 * 3600 - 1, OFFPEAK),
        (MONDAY * DAY + 20 * 3600 - 1, PEAK),
        (MONDAY * DAY + 20 * 3600, OFFPEAK),
        (HOLIDAY * DAY + 10 * 3600, OFFPEAK),
        (SATURDAY * DAY + 10 * 3600, OFFPEAK),
        ((SATURDAY + 2) * DAY + 10 * 3600, PEAK),
    ],
)
def test_time_band_by_day_type_and_weight(at, band):
    rates = [
        voice_rate("1", 60, 60, band=PEAK, price_micros=120_000),
        voice_rate("1", 60, 60, band=OFFPEAK, price_micros=30_000),
    ]
    [row] = both([call(60, at=at)], rates)
    assert row["band"] == band
    assert row["charge_micros"] == (120_000 if band == PEAK else 30_000)


def test_equal_weights_take_the_first_row():
    bands = [
        ref.Band("weekday", 0, DAY, 5, OFFPEAK),
        ref.Band("weekday", 0, DAY, 5, PEAK),
        *BANDS[2:],
    ]
    [row] = both([call(60)], [voice_rate("1", 60, 60, band=OFFPEAK)], bands=bands)
    assert row["band"] == OFFPEAK


def test_uncovered_instant_has_no_band_and_no_rate():
    [row] = both([call(60)], [voice_rate("1", 60, 60)], bands=BANDS[2:])
    assert (row["band"], row["outcome"]) == (-1, api.Outcome.NO_RATE)


def test_allowance_exhausted_mid_record_in_event_order():
    rate = voice_rate("1", 60, 60, is_in_bundle=True, connect_fee_micros=7)
    records = [
        call(60, allowance=100),
        call(61, allowance=100),
        call(30, allowance=100),
        call(60, pool=1, allowance=120),
        call(60, pool=1, allowance=120),
        call(1, pool=1, allowance=120),
    ]
    rows = both(records, [rate])
    assert [r["allowance_units"] for r in rows] == [60, 40, 0, 60, 60, 0]
    assert [r["chargeable_units"] for r in rows] == [0, 80, 60, 0, 0, 60]
    # exactly exhausted: a record wholly inside the allowance pays no connect fee
    assert [r["charge_micros"] for r in rows] == [0, 80_007, 60_007, 0, 0, 60_007]


def test_out_of_bundle_and_zero_rated_rows_do_not_draw():
    rates = [
        voice_rate("1", 60, 60, is_in_bundle=True),
        voice_rate("44", 60, 60, is_in_bundle=False),
        voice_rate("911", 60, 60, is_in_bundle=True, is_zero_rated=True, price_micros=0),
    ]
    records = [
        call(60, "44", allowance=60),
        call(60, "911", allowance=60),
        call(60, "1", allowance=60),
    ]
    rows = both(records, rates)
    assert [r["outcome"] for r in rows] == [1, 2, 1]
    assert [r["allowance_units"] for r in rows] == [0, 0, 60]
    assert [r["billable_units"] for r in rows] == [60, 60, 60]
    assert [r["charge_micros"] for r in rows] == [60_000, 0, 0]


@pytest.mark.parametrize(
    ("units", "price", "unit", "charge"),
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
def test_rounding_half_up_at_half_a_micro(units, price, unit, charge):
    rate = voice_rate("", 1, 1, price_micros=price, price_unit=unit)
    [row] = both([call(units, None)], [rate])
    assert row["charge_micros"] == charge


def test_unrated_rows_keep_their_band_only():
    rows = both([call(60, tariff=-1)], [voice_rate("1", 60, 60)])
    assert rows[0] == {
        "band": PEAK,
        "rate_row": -1,
        "outcome": 0,
        "billable_units": 0,
        "allowance_units": 0,
        "chargeable_units": 0,
        "charge_micros": 0,
    }


def test_interconnect_legs_reuse_the_lookup():
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
    expected = ref.cost_legs(legs, rates)
    value, length = api.encode_numbers([leg[2] for leg in legs])
    got = api.cost_legs(
        i64([g for g, *_ in legs]),
        i64([leg[1] for leg in legs]),
        value,
        length,
        i64([leg[3] for leg in legs]),
        to_table(rates, 2),
    )
    assert [
        {"rate_row": int(a), "billable_seconds": int(b), "cost_micros": int(c)}
        for a, b, c in zip(got.rate_row, got.billable_seconds, got.cost_micros, strict=True)
    ] == expected
    assert [e["cost_micros"] for e in expected] == [6_600, 10_333, 0, 0, 0]
    assert [e["rate_row"] for e in expected] == [0, 1, -1, 2, -1]


def test_api_rejects_wrong_dtypes_unsorted_pools_and_overflow():
    rates = to_table([voice_rate("1", 60, 60)], 2)
    bands = to_bands(BANDS, 2)
    args = dict(
        pool_id=i64([0, 0]),
        tariff=i64([0, 0]),
        local_seconds=i64([call(1).local_seconds] * 2),
        number_value=i64([1, 1]),
        number_len=i64([1, 1]),
        units=i64([60, 60]),
        allowance=i64([0, 0]),
        holiday_days=i64([]),
        bands=bands,
        rates=rates,
    )
    assert list(api.rate_usage(**args).charge_micros) == [60_000, 60_000]
    with pytest.raises(TypeError, match="units must be int64"):
        api.rate_usage(**{**args, "units": np.array([60, 60], dtype=np.int32)})
    with pytest.raises(ValueError, match="non-decreasing"):
        api.rate_usage(**{**args, "pool_id": i64([1, 0])})
    with pytest.raises(ValueError, match="C-contiguous"):
        api.rate_usage(**{**args, "units": i64([60, 0, 60, 0])[::2]})
    with pytest.raises(OverflowError):
        api.rate_usage(**{**args, "units": i64([60, 2**62])})
    with pytest.raises(ValueError, match="share group, prefix"):
        to_table([voice_rate("1", 60, 60), voice_rate("1", 1, 1)], 2)
    with pytest.raises(ValueError, match="digits"):
        to_table([voice_rate("+1", 60, 60)], 2)


# --- generated tariffs and usage -------------------------------------------------------

prefixes = st.text(alphabet="12", max_size=4)
numbers = st.one_of(
    st.none(),
    st.text(alphabet="12", max_size=7),
    st.just("12a"),
    st.text(alphabet="0123456789", min_size=16, max_size=18),
)


@st.composite
def scenarios(draw):
    n_bands = draw(st.integers(1, 3))
    n_tariffs = draw(st.integers(1, 2))
    bands = [
        ref.Band(kind, 0, DAY, 0, draw(st.integers(0, n_bands - 1)))
        for kind in api.DAY_TYPES
        if draw(st.integers(0, 4))
    ]
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, DAY - 1))
        bands.append(
            ref.Band(
                draw(st.sampled_from(api.DAY_TYPES)),
                start,
                draw(st.integers(start + 1, DAY)),
                draw(st.integers(0, 3)),
                draw(st.integers(0, n_bands - 1)),
            )
        )
    keys = draw(
        st.lists(
            st.tuples(st.integers(0, n_tariffs * n_bands - 1), prefixes, st.integers(0, 6)),
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
            is_zero_rated=draw(st.booleans()),
            is_in_bundle=draw(st.booleans()),
        )
        for group, prefix, eff in keys
    ]
    holidays = frozenset(draw(st.lists(st.integers(19_000, 19_010), max_size=3)))
    n_records = draw(st.integers(0, 40))
    pools = sorted(draw(st.lists(st.integers(0, 4), min_size=n_records, max_size=n_records)))
    records = [
        ref.Record(
            pool,
            draw(st.integers(-1, n_tariffs - 1)),
            draw(st.integers(19_000 * DAY, 19_010 * DAY)),
            draw(numbers),
            draw(st.sampled_from([0, 1, 29, 30, 31, 59, 60, 61, 125, 1_500_000])),
            draw(st.integers(0, 200)),
        )
        for pool in pools
    ]
    return records, holidays, bands, n_bands, rates, n_tariffs


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_kernel_matches_reference_on_generated_usage(scenario):
    records, holidays, bands, n_bands, rates, n_tariffs = scenario
    assert kernel_rate(records, holidays, bands, n_bands, rates, n_tariffs) == ref.rate_usage(
        records, set(holidays), bands, n_bands, rates
    )


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.data())
def test_leg_kernel_matches_reference_on_generated_legs(scenario, data):
    records, _, _, n_bands, rates, n_tariffs = scenario
    n_groups = n_tariffs * n_bands
    legs = [
        (data.draw(st.integers(-1, n_groups - 1)), r.local_seconds, r.number, r.units)
        for r in records
    ]
    value, length = api.encode_numbers([leg[2] for leg in legs])
    got = api.cost_legs(
        i64([leg[0] for leg in legs]),
        i64([leg[1] for leg in legs]),
        value,
        length,
        i64([leg[3] for leg in legs]),
        to_table(rates, n_groups),
    )
    assert [
        [int(x) for x in row]
        for row in zip(got.rate_row, got.billable_seconds, got.cost_micros, strict=True)
    ] == [
        [e["rate_row"], e["billable_seconds"], e["cost_micros"]] for e in ref.cost_legs(legs, rates)
    ]
