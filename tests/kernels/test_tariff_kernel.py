"""The tariff kernels against the reference (pipelines.tariffs.reference), on hand-computed
cases and on generated catalogs and events."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels import tariff_api
from pipelines.tariffs import reference
from pipelines.tariffs.compile import (
    CANDIDATE_TABLE_COLUMNS,
    SLOT_TABLE_COLUMNS,
    TIMING_TABLE_COLUMNS,
    CompiledCatalog,
    compile_catalog,
    resolve_plan_chains,
    single_plan_chains,
)
from pipelines.tariffs.model import (
    ANY,
    Catalog,
    Destination,
    DestinationGroup,
    DestinationRate,
    Event,
    HolidayCalendar,
    HolidayRule,
    MaxCostStrategy,
    PlanEntry,
    Rate,
    RateSlot,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
    Timing,
)

EPOCH = datetime(1970, 1, 1)
MONDAY = datetime(2024, 7, 1)  # 2024-07-04 is a Thursday and a US holiday
ACTIVE = datetime(2020, 1, 1)
SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def seconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(seconds=1)


def kernel_rate(
    catalog: Catalog,
    events: list[Event],
    covered: list[int] | None = None,
    holiday_years: range | None = None,
    rating_plan_id: str | None = None,
) -> list[dict]:
    """The kernels' ratings of ``events`` in the reference's terms (names, not indices)."""
    compiled = compile_catalog(catalog, holiday_years)
    n = len(events)
    local = np.array([seconds(e.start) for e in events], dtype=np.int64)
    if rating_plan_id is None:
        chains = resolve_plan_chains(
            compiled,
            [e.tenant for e in events],
            [e.category for e in events],
            [e.subject for e in events],
            np.array([seconds(e.start_utc or e.start) for e in events], dtype=np.int64),
        )
    else:
        chains = single_plan_chains(compiled, rating_plan_id, n)
    value, length = tariff_api.encode_destinations([e.destination for e in events])
    ratings, spans = tariff_api.rate_events_with_spans(
        compiled,
        chains,
        local,
        value,
        length,
        np.array([e.usage for e in events], dtype=np.int64),
        np.array([e.time_based for e in events], dtype=np.bool_),
        np.array([e.on_net for e in events], dtype=np.bool_),
        np.array(covered or [0] * n, dtype=np.int64),
    )
    alone = tariff_api.rate_events(
        compiled,
        chains,
        local,
        value,
        length,
        np.array([e.usage for e in events], dtype=np.int64),
        np.array([e.time_based for e in events], dtype=np.bool_),
        np.array([e.on_net for e in events], dtype=np.bool_),
        np.array(covered or [0] * n, dtype=np.int64),
    )
    for name, column in vars(ratings).items():
        np.testing.assert_array_equal(column, getattr(alone, name), err_msg=name)
    return [_kernel_row(catalog, compiled, ratings, spans, i) for i in range(n)]


def _kernel_row(
    catalog: Catalog,
    compiled: CompiledCatalog,
    ratings: tariff_api.TariffRatings,
    spans: tariff_api.RatedSpans,
    i: int,
) -> dict:
    error = tariff_api.TariffError(int(ratings.error[i]))
    subject = int(ratings.subject[i])
    prefix = int(ratings.prefix[i])
    return {
        "error": None if error is tariff_api.TariffError.NONE else error.name,
        "cost_micros": int(ratings.cost_micros[i]),
        "zero_rated": bool(ratings.zero_rated[i]),
        "billed_usage": int(ratings.billed_usage[i]),
        "allowance_units": int(ratings.allowance_units[i]),
        "connect_fee_micros": int(ratings.connect_fee_micros[i]),
        "subject": compiled.subject_ids[subject] if subject >= 0 else None,
        "spans": [
            _kernel_span(
                catalog, compiled, spans, row, "" if prefix < 0 else compiled.prefixes[prefix]
            )
            for row in range(spans.offsets[i], spans.offsets[i + 1])
        ],
    }


def _kernel_span(
    catalog: Catalog, compiled: CompiledCatalog, spans: tariff_api.RatedSpans, row: int, prefix: str
) -> tuple:
    b = int(spans.binding[row])
    deck = compiled.deck_ids[compiled.binding_deck[b]]
    return (
        int(spans.start_usage[row]),
        int(spans.usage[row]),
        int(spans.billed[row]),
        compiled.plan_ids[compiled.binding_plan[b]],
        deck,
        catalog.destination_rates[deck][compiled.binding_row[b]],
        prefix,
        compiled.rate_ids[compiled.binding_rate[b]],
        compiled.timing_ids[compiled.binding_timing[b]],
        int(spans.slot[row]),
    )


def reference_rate(
    catalog: Catalog,
    events: list[Event],
    covered: list[int] | None = None,
    rating_plan_id: str | None = None,
) -> list[dict]:
    rows = []
    for event, units in zip(events, covered or [0] * len(events), strict=True):
        if rating_plan_id is None:
            rating = reference.rate_event(catalog, event, units)
        else:
            rating = reference.rate_with_plan(catalog, rating_plan_id, event, units)
        rows.append(
            {
                "error": None if rating.error is None else rating.error.value,
                "cost_micros": rating.cost_micros,
                "zero_rated": rating.zero_rated,
                "billed_usage": rating.billed_usage,
                "allowance_units": rating.allowance_units,
                "connect_fee_micros": rating.connect_fee_micros,
                "subject": rating.subject,
                "spans": [
                    (
                        s.start_usage,
                        s.usage,
                        s.billed,
                        s.rating_plan_id,
                        s.destination_rates_id,
                        s.binding,
                        s.prefix,
                        s.rate_id,
                        s.timing_id,
                        s.slot,
                    )
                    for s in rating.spans
                ],
            }
        )
    return rows


# Hand-computed cases. Prices are micros per rate unit; 1 cent = 10_000 micros.

PEAK = Timing(
    "PEAK", week_days=frozenset({1, 2, 3, 4, 5}), start_second=8 * 3600, end_second=20 * 3600
)
WEEKDAYS = Timing("WEEKDAYS", week_days=frozenset({1, 2, 3, 4, 5}))
WEEKEND = Timing("WEEKEND", week_days=frozenset({6, 7}))
HOLIDAY = Timing("HOLIDAY", holidays=HolidayRule.ONLY)
ALWAYS = Timing("ALWAYS")
TIMINGS = {t.timing_id: t for t in (PEAK, WEEKDAYS, WEEKEND, HOLIDAY, ALWAYS)}


def per_second(rate_id: str, price_per_minute: int, connect_fee: int = 0) -> Rate:
    """1/1 billing at ``price_per_minute`` micros per 60 s."""
    return Rate(rate_id, (RateSlot(0, price_per_minute, 60, 1, connect_fee),))


def catalog_of(
    bindings: tuple[DestinationRate, ...],
    rates: tuple[Rate, ...],
    entries: tuple[tuple[str, int], ...] = (("ALWAYS", 10),),
    destinations: tuple[Destination, ...] = (),
    holidays: HolidayCalendar | None = None,
) -> Catalog:
    """One plan P (entries: timing and weight, each pricing table D_<timing>) for *any."""
    decks = {f"D_{timing}": bindings for timing, _ in entries}
    return Catalog(
        version="test",
        currency="EUR",
        destinations={
            d.destination_id: d
            for d in (Destination("FR", ("33",), group=DestinationGroup.DOMESTIC), *destinations)
        },
        timings=TIMINGS,
        rates={r.rate_id: r for r in rates},
        destination_rates=decks,
        rating_plans={"P": RatingPlan("P", tuple(PlanEntry(f"D_{t}", t, w) for t, w in entries))},
        profiles=(RatingProfile("t", "call", ANY, ACTIVE, "P"),),
        holidays=holidays or HolidayCalendar(),
    )


def call(start: datetime, usage: int, number: str | None = "+33123456789", **fields) -> Event:
    return Event("t", "call", "alice", number, start, usage, **fields)


def check(
    catalog: Catalog,
    event: Event,
    cost_micros: int,
    covered: int = 0,
    holiday_years: range | None = None,
    **expected,
) -> dict:
    """Both engines give ``cost_micros`` (and the ``expected`` fields); returns the kernel's."""
    got = kernel_rate(catalog, [event], [covered], holiday_years)[0]
    assert got == reference_rate(catalog, [event], [covered])[0]
    assert got["cost_micros"] == cost_micros
    for name, value in expected.items():
        assert got[name] == value, name
    return got


@pytest.mark.parametrize(
    ("slots", "usage", "cost_micros"),
    [
        # 60/1 at 60_000 per minute: 30 s bills the first 60 s whole = 60_000;
        # 61 s = 60 s (60_000) + 1 s (1 x 60_000 / 60 = 1_000) = 61_000.
        ((RateSlot(0, 60_000, 60, 60), RateSlot(60, 60_000, 60, 1)), 30, 60_000),
        ((RateSlot(0, 60_000, 60, 60), RateSlot(60, 60_000, 60, 1)), 61, 61_000),
        # 30/6: 31 s = 30 s + 6 s (one started 6 s block) = 36 s x 1_000 = 36_000;
        # 29 s = 30 s = 30_000.
        ((RateSlot(0, 60_000, 60, 30), RateSlot(30, 60_000, 60, 6)), 31, 36_000),
        ((RateSlot(0, 60_000, 60, 30), RateSlot(30, 60_000, 60, 6)), 29, 30_000),
        # 60/60: 61 s = two started minutes = 120_000.
        ((RateSlot(0, 60_000, 60, 60),), 61, 120_000),
        # Connect fee 25_000 + 60/60 of 61 s (120_000) = 145_000.
        ((RateSlot(0, 60_000, 60, 60, 25_000),), 61, 145_000),
    ],
    ids=["60/1-short", "60/1", "30/6", "30/6-short", "60/60", "connect-fee"],
)
def test_rate_groups_and_connect_fee(slots, usage, cost_micros):
    catalog = catalog_of((DestinationRate("FR", "R"),), (Rate("R", slots),))
    check(catalog, call(MONDAY.replace(hour=10), usage), cost_micros)


def test_peak_off_peak_split_at_the_band_boundary():
    catalog = catalog_of(
        (DestinationRate("FR", "R"),),
        (per_second("R", 0),),
        entries=(("PEAK", 20), ("ALWAYS", 10)),
    )
    catalog = replace(
        catalog,
        rates={"PEAK_R": per_second("PEAK_R", 120_000), "OFF_R": per_second("OFF_R", 60_000)},
        destination_rates={
            "D_PEAK": (DestinationRate("FR", "PEAK_R"),),
            "D_ALWAYS": (DestinationRate("FR", "OFF_R"),),
        },
    )
    # Monday 19:59:00 for 120 s: 60 s peak (60 x 2_000 = 120_000) until 20:00, then
    # 60 s off-peak (60 x 1_000 = 60_000) = 180_000.
    got = check(catalog, call(MONDAY.replace(hour=19, minute=59), 120), 180_000)
    assert [(s[0], s[1], s[7]) for s in got["spans"]] == [(0, 60, "PEAK_R"), (60, 60, "OFF_R")]


def weekday_weekend_catalog(weekday: Rate) -> Catalog:
    return replace(
        catalog_of((), (), entries=(("WEEKDAYS", 10), ("WEEKEND", 10))),
        rates={weekday.rate_id: weekday, "WE": per_second("WE", 60_000)},
        destination_rates={
            "D_WEEKDAYS": (DestinationRate("FR", weekday.rate_id),),
            "D_WEEKEND": (DestinationRate("FR", "WE"),),
        },
    )


def test_split_at_midnight():
    catalog = weekday_weekend_catalog(per_second("WD", 120_000))
    # Friday 23:59:30 for 60 s: 30 s Friday (30 x 2_000 = 60_000) + 30 s Saturday
    # (30 x 1_000 = 30_000) = 90_000.
    got = check(catalog, call(datetime(2024, 7, 5, 23, 59, 30), 60), 90_000)
    assert [s[:3] for s in got["spans"]] == [(0, 30, 30), (30, 30, 30)]


def test_increment_extension_eats_into_what_follows():
    catalog = weekday_weekend_catalog(Rate("WD", (RateSlot(0, 120_000, 60, 60),)))
    # Friday 23:59:30 for 90 s at 60/60 on weekdays: the Friday span covers 30 s but bills
    # 60 (120_000), so the cursor jumps to Saturday 00:00:30; 30 s left at 1/1 on the
    # weekend = 30_000. Total 150_000 for 90 billed seconds.
    got = check(catalog, call(datetime(2024, 7, 5, 23, 59, 30), 90), 150_000, billed_usage=90)
    assert [s[:3] for s in got["spans"]] == [(0, 30, 60), (60, 30, 30)]


def test_holiday_band():
    catalog = replace(
        catalog_of((), (), entries=(("HOLIDAY", 30), ("PEAK", 20), ("ALWAYS", 10))),
        rates={
            r.rate_id: r
            for r in (
                per_second(n, p) for n, p in (("H", 30_000), ("PK", 120_000), ("OFF", 60_000))
            )
        },
        destination_rates={
            "D_HOLIDAY": (DestinationRate("FR", "H"),),
            "D_PEAK": (DestinationRate("FR", "PK"),),
            "D_ALWAYS": (DestinationRate("FR", "OFF"),),
        },
        holidays=HolidayCalendar(country="US"),
    )
    years = range(2024, 2025)
    # Thursday 2024-07-04 (Independence Day) 10:00 for 60 s: holiday band, 60 x 500 = 30_000.
    check(catalog, call(datetime(2024, 7, 4, 10), 60), 30_000, holiday_years=years)
    # Wednesday 10:00: peak, 60 x 2_000 = 120_000.
    check(catalog, call(datetime(2024, 7, 3, 10), 60), 120_000, holiday_years=years)


def test_holidays_outside_the_compiled_years_are_refused():
    catalog = replace(
        catalog_of((DestinationRate("FR", "R"),), (per_second("R", 1),)),
        holidays=HolidayCalendar(country="US"),
    )
    with pytest.raises(ValueError, match="holiday_years"):
        kernel_rate(catalog, [call(datetime(2026, 1, 1), 60)], holiday_years=range(2024, 2025))


def test_minimum_usage_and_minimum_charge():
    catalog = catalog_of((DestinationRate("FR", "R", min_usage=60),), (per_second("R", 60_000),))
    # 10 s billed as the minimum 60 s: 60 x 1_000 = 60_000.
    check(catalog, call(MONDAY, 10), 60_000, billed_usage=60)
    catalog = catalog_of(
        (DestinationRate("FR", "R", min_charge_micros=50_000),), (per_second("R", 60_000),)
    )
    # 10 s = 10_000, raised to the minimum charge 50_000.
    check(catalog, call(MONDAY, 10), 50_000, billed_usage=10)
    # Zero usage costs nothing, minimum charge or not.
    check(catalog, call(MONDAY, 0), 0, billed_usage=0)


@pytest.mark.parametrize(
    ("strategy", "cost_micros"),
    # 300 s x 1_000 = 300_000; free caps it at 100_000, disconnect leaves it.
    [(MaxCostStrategy.FREE, 100_000), (MaxCostStrategy.DISCONNECT, 300_000)],
)
def test_max_cost(strategy, cost_micros):
    binding = DestinationRate("FR", "R", max_cost_micros=100_000, max_cost_strategy=strategy)
    check(catalog_of((binding,), (per_second("R", 60_000),)), call(MONDAY, 300), cost_micros)


@pytest.mark.parametrize(
    ("price", "rate_unit", "decimals", "method", "cost_micros"),
    [
        # 1 s at 1_234_567 per 60 s = 20_576.1166... micros = 0.0205761... currency.
        (1_234_567, 60, 2, RoundingMethod.UP, 30_000),  # 0.03
        (1_234_567, 60, 2, RoundingMethod.HALF_UP, 20_000),  # 0.02 (0.0205 < 0.025)
        (1_234_567, 60, 2, RoundingMethod.DOWN, 20_000),
        (1_234_567, 60, 4, RoundingMethod.UP, 20_600),  # 0.0206
        (1_234_567, 60, 4, RoundingMethod.HALF_UP, 20_600),  # 0.02057... -> 0.0206
        (1_234_567, 60, 4, RoundingMethod.DOWN, 20_500),  # 0.0205
        # Exactly half a step: 25_000 micros to 2 decimals, 150 micros to 4.
        (25_000, 1, 2, RoundingMethod.HALF_UP, 30_000),
        (25_000, 1, 2, RoundingMethod.DOWN, 20_000),
        (150, 1, 4, RoundingMethod.HALF_UP, 200),
        (150, 1, 4, RoundingMethod.UP, 200),
        # A thousandth of a micro either side of the half: 149.999 and 150.001 micros.
        (149_999, 1_000, 4, RoundingMethod.HALF_UP, 100),
        (150_001, 1_000, 4, RoundingMethod.HALF_UP, 200),
        (150_001, 1_000, 4, RoundingMethod.DOWN, 100),
        (100_001, 1_000, 4, RoundingMethod.UP, 200),  # 100.001 -> 200
    ],
)
def test_rounding(price, rate_unit, decimals, method, cost_micros):
    binding = DestinationRate("FR", "R", rounding_method=method, rounding_decimals=decimals)
    rate = Rate("R", (RateSlot(0, price, rate_unit, 1),))
    check(catalog_of((binding,), (rate,)), call(MONDAY, 1), cost_micros)


def test_zero_rated_emergency():
    emergency = Destination("EMERGENCY", ("112",), group=DestinationGroup.EMERGENCY)
    catalog = catalog_of(
        (DestinationRate("FR", "R"), DestinationRate("EMERGENCY", "R")),
        (per_second("R", 60_000, connect_fee=10_000),),
        destinations=(emergency,),
    )
    # Its rate would say 10_000 + 30 x 1_000; the group is never charged.
    check(
        catalog, call(MONDAY, 30, "112"), 0, zero_rated=True, billed_usage=30, connect_fee_micros=0
    )


def test_effective_date_change_of_a_rate():
    catalog = catalog_of(
        (
            DestinationRate("FR", "OLD", effective_to=date(2024, 6, 30)),
            DestinationRate("FR", "NEW", effective_from=date(2024, 7, 1)),
        ),
        (per_second("OLD", 60_000), per_second("NEW", 30_000)),
    )
    # 60 s on Sunday 2024-06-30 at the old 1_000/s, on Monday at the new 500/s; a call
    # crossing midnight keeps its start date's rate.
    check(catalog, call(datetime(2024, 6, 30, 12), 60), 60_000)
    check(catalog, call(MONDAY.replace(hour=12), 60), 30_000)
    check(catalog, call(datetime(2024, 6, 30, 23, 59), 120), 120_000)


def test_on_net():
    on_net = Destination("ONNET", (), group=DestinationGroup.ON_NET)
    catalog = catalog_of(
        (DestinationRate("FR", "R"), DestinationRate("ONNET", "ON")),
        (per_second("R", 60_000), per_second("ON", 6_000)),
        destinations=(on_net,),
    )
    # 60 s on-net at 100/s = 6_000; the same number off-net by prefix 33 = 60_000.
    got = check(catalog, call(MONDAY, 60, on_net=True), 6_000)
    assert got["spans"][0][6] == ""  # no prefix decided it
    check(catalog, call(MONDAY, 60), 60_000)


def fallback_catalog() -> Catalog:
    us = Destination("US", ("1",), group=DestinationGroup.INTERNATIONAL)
    return Catalog(
        version="test",
        currency="EUR",
        destinations={"FR": Destination("FR", ("33",)), "US": us},
        timings=TIMINGS,
        rates={"R": per_second("R", 60_000), "INTL": per_second("INTL", 600_000)},
        destination_rates={
            "LOCAL": (DestinationRate("FR", "R"),),
            "WORLD": (DestinationRate("US", "INTL"),),
        },
        rating_plans={
            "P_LOCAL": RatingPlan("P_LOCAL", (PlanEntry("LOCAL", "ALWAYS", 10),)),
            "P_WORLD": RatingPlan("P_WORLD", (PlanEntry("WORLD", "ALWAYS", 10),)),
        },
        profiles=(
            RatingProfile("t", "call", "alice", ACTIVE, "P_LOCAL", fallback_subjects=("intl",)),
            RatingProfile("t", "call", "intl", ACTIVE, "P_WORLD"),
            RatingProfile("t", "call", ANY, ACTIVE, "P_LOCAL"),
        ),
    )


def test_fallback_subject():
    catalog = fallback_catalog()
    # alice's plan has no US destination; her fallback subject "intl" prices 60 s at
    # 10_000/s = 600_000.
    check(catalog, call(MONDAY, 60, "+12125550100"), 600_000, subject="intl")
    check(catalog, call(MONDAY, 60), 60_000, subject="alice")


def test_any_subject_and_any_destination():
    catalog = fallback_catalog()
    # bob has no profile: subject *any, whose plan knows FR only.
    check(catalog, replace(call(MONDAY, 60), subject="bob"), 60_000, subject=ANY)
    got = check(catalog, replace(call(MONDAY, 60, "+12125550100"), subject="bob"), 0)
    assert got["error"] == "UNAUTHORIZED_DESTINATION"
    # A *any row prices numbers no prefix matches, and events without a number.
    catalog = catalog_of(
        (DestinationRate("FR", "R"), DestinationRate(ANY, "ELSE")),
        (per_second("R", 60_000), per_second("ELSE", 120_000)),
    )
    check(catalog, call(MONDAY, 60, "+4420"), 120_000)
    check(catalog, call(MONDAY, 60, None), 120_000)


def test_errors():
    catalog = catalog_of(
        (DestinationRate("FR", "R"),), (per_second("R", 60_000),), entries=(("PEAK", 10),)
    )
    got = check(catalog, replace(call(MONDAY.replace(hour=10), 60), tenant="other"), 0)
    assert got["error"] == "RATING_PLAN_NOT_FOUND"
    got = check(catalog, call(MONDAY.replace(hour=10), 60, "+4420"), 0)
    assert got["error"] == "UNAUTHORIZED_DESTINATION"
    # Peak only: a call running past 20:00 reaches an instant no entry covers.
    got = check(catalog, call(MONDAY.replace(hour=19, minute=59), 120), 0)
    assert got["error"] == "RATING_PLAN_GAP"


def test_allowance_covered_units():
    catalog = catalog_of(
        (DestinationRate("FR", "R"),), (per_second("R", 60_000, connect_fee=10_000),)
    )
    # 100 s, 40 paid by the allowance: connect fee 10_000 + 60 x 1_000 = 70_000.
    check(catalog, call(MONDAY, 100), 70_000, covered=40, allowance_units=40)
    # Wholly covered: no connect fee, nothing charged; the allowance pays the billed 100.
    check(catalog, call(MONDAY, 100), 0, covered=500, allowance_units=100, connect_fee_micros=0)


def test_single_plan_chains_rate_as_rate_with_plan():
    catalog = fallback_catalog()
    events = [call(MONDAY, 60, "+12125550100"), call(MONDAY, 60)]
    got = kernel_rate(catalog, events, rating_plan_id="P_WORLD")
    assert got == reference_rate(catalog, events, rating_plan_id="P_WORLD")
    assert [row["cost_micros"] for row in got] == [600_000, 0]


def test_ratings_written_into_a_reused_buffer_equal_fresh_ones():
    compiled = compile_catalog(fallback_catalog())
    starts = [MONDAY, MONDAY + timedelta(hours=20), MONDAY + timedelta(days=5)]
    numbers = ["+33123456789", "+12125550100", None]
    local = np.array([seconds(s) for s in starts], dtype=np.int64)
    chains = resolve_plan_chains(compiled, ["t"] * 3, ["call"] * 3, ["alice"] * 3, local)
    value, length = tariff_api.encode_destinations(numbers)
    args = (
        local,
        value,
        length,
        np.array([60, 125, 30], dtype=np.int64),
        np.ones(3, dtype=bool),
        np.zeros(3, dtype=bool),
        np.zeros(3, dtype=np.int64),
    )
    fresh = tariff_api.rate_events(compiled, chains, *args)
    # A buffer for ten events, dirty from earlier use, serves these three through its head.
    buffer = tariff_api.TariffRatings.empty(10)
    for name in vars(buffer):
        getattr(buffer, name)[:] = 7
    into = tariff_api.rate_events(compiled, chains, *args, out=buffer.head(3))
    for name in vars(fresh):
        np.testing.assert_array_equal(getattr(into, name), getattr(fresh, name), err_msg=name)
        assert getattr(into, name).base is getattr(buffer, name)  # written in place
    # FR at 60_000 a minute; US through alice's fallback at 600_000 a minute for 125 s; no
    # number matches no destination of either plan.
    assert fresh.cost_micros.tolist() == [60_000, 1_250_000, 0]
    assert fresh.error.tolist() == [0, 0, tariff_api.TariffError.UNAUTHORIZED_DESTINATION]
    with pytest.raises(TypeError, match=r"out\.cost_micros must be int64"):
        bad = replace(buffer.head(3), cost_micros=np.zeros(3, dtype=np.int32))
        tariff_api.rate_events(compiled, chains, *args, out=bad)
    with pytest.raises(ValueError, match=r"out\.error has 10 rows, expected 3"):
        tariff_api.rate_events(compiled, chains, *args, out=buffer)


def test_overflowing_batches_are_refused():
    catalog = catalog_of((DestinationRate("FR", "R"),), (per_second("R", 10**12),))
    with pytest.raises(OverflowError):
        kernel_rate(catalog, [call(MONDAY, 10**8)])


def test_kernel_tables_hold_the_named_columns():
    """The kernels read candidate, timing and slot fields by position in these tables, in
    the order kernels/tariff_nb.py's docstring states."""
    compiled = compile_catalog(fallback_catalog())
    assert TIMING_TABLE_COLUMNS[:6] == (
        "start_second",
        "end_second",
        "month_mask",
        "month_day_mask",
        "week_day_mask",
        "holiday_rule",
    )
    assert TIMING_TABLE_COLUMNS[6:] == ("first_year", "end_years")
    assert SLOT_TABLE_COLUMNS == (
        "start",
        "price_micros",
        "rate_unit",
        "increment",
        "connect_fee_micros",
        "unit_scale",
    )
    years = compiled.timing_year_offsets
    timing_columns = {"first_year": years[:-1], "end_years": years[1:]}
    for k, name in enumerate(TIMING_TABLE_COLUMNS):
        expected = timing_columns.get(name, getattr(compiled, f"timing_{name}", None))
        np.testing.assert_array_equal(compiled.timing_table[:, k], expected, err_msg=name)
    for k, name in enumerate(SLOT_TABLE_COLUMNS):
        expected = getattr(compiled, f"slot_{name}")
        np.testing.assert_array_equal(compiled.slot_table[:, k], expected, err_msg=name)
    assert CANDIDATE_TABLE_COLUMNS == (
        "binding",
        "timing",
        "weight",
        "effective_from",
        "effective_to",
        "first_slot",
        "end_slot",
        "rounding_decimals",
        "min_usage",
        "zero_rated",
        "max_cost_micros",
        "max_cost_free",
        "min_charge_micros",
        "rounding_method",
        "unused_0",
        "unused_1",
    )
    rate = compiled.binding_rate[compiled.candidates]
    unused = np.zeros(compiled.candidates.size, dtype=np.int64)
    candidate_columns = {
        "binding": compiled.candidates,
        "first_slot": compiled.rate_slot_offsets[rate],
        "end_slot": compiled.rate_slot_offsets[rate + 1],
        "unused_0": unused,
        "unused_1": unused,
    }
    for k, name in enumerate(CANDIDATE_TABLE_COLUMNS):
        expected = candidate_columns.get(name)
        if expected is None:
            expected = getattr(compiled, f"binding_{name}")[compiled.candidates]
        np.testing.assert_array_equal(compiled.candidate_table[:, k], expected, err_msg=name)
    # Every prefix key is in the hash once, with its prefix and candidate list.
    held = compiled.key_hash[compiled.key_hash[:, 3] >= 0]
    keys = sorted(map(tuple, held[:, [2, 3, 4]].tolist()))
    assert keys == sorted(
        zip(
            compiled.key_prefix.tolist(),
            compiled.key_candidates[:-1].tolist(),
            compiled.key_candidates[1:].tolist(),
            strict=True,
        )
    )
    assert compiled.key_hash.shape[0] >= 2 * compiled.key_prefix.size
    # Every candidate list names a schedule with the same (timing, weight, effective dates)
    # rows, and different schedules have different rows.
    lists = [
        *(tuple(row) for row in compiled.plan_on_net.tolist()),
        *(tuple(row) for row in compiled.plan_any.tolist()),
        *(tuple(row) for row in held[:, [3, 4, 5]].tolist()),
    ]

    def schedule_rows(lo, hi):
        return compiled.candidate_table[lo:hi, 1:5].tolist()

    for lo, hi, schedule in lists:
        assert schedule_rows(lo, hi) == schedule_rows(*compiled.schedule_lists[schedule])
    distinct = {str(schedule_rows(lo, hi)) for lo, hi in compiled.schedule_lists.tolist()}
    assert len(distinct) == compiled.schedule_lists.shape[0]
    tables = (compiled.timing_table, compiled.slot_table)
    for table in (*tables, compiled.candidate_table, compiled.key_hash):
        assert table.dtype == np.int64 and table.flags.c_contiguous


# Generated catalogs and events. Small pools of prefixes, times and prices make overlaps,
# ties and boundaries likely.

GEN_START = datetime(2024, 6, 28)  # Friday; events fall in the ten days after
GEN_DAYS = 10
PREFIXES = ("3", "33", "336", "3361", "34", "4", "44", "447", "1", "12")
GEN_HOLIDAYS = tuple(GEN_START.date() + timedelta(days=k) for k in range(GEN_DAYS + 3))
EDGES = (0, 3600, 8 * 3600, 8 * 3600 + 30, 12 * 3600, 20 * 3600, 23 * 3600 + 59 * 60, 86_400)


@st.composite
def timings(draw, timing_id: str) -> Timing:
    """A daily window, most with one more filter: week days, holidays or the calendar."""
    start, end = sorted(draw(st.lists(st.sampled_from(EDGES), min_size=2, max_size=2)))
    window = Timing(
        timing_id,
        start_second=draw(st.sampled_from([0, start, start])),
        end_second=draw(st.sampled_from([end, 86_400])),
    )
    kind = draw(st.sampled_from(["window", "week_days", "holidays", "calendar"]))
    if kind == "week_days":
        return replace(window, week_days=draw(st.frozensets(st.integers(1, 7), min_size=1)))
    if kind == "holidays":
        return replace(window, holidays=draw(st.sampled_from(HolidayRule)))
    if kind == "calendar":
        return replace(
            window,
            years=draw(st.sampled_from([frozenset(), frozenset({2024}), frozenset({2023})])),
            months=draw(st.sampled_from([frozenset(), frozenset({7}), frozenset({6, 8})])),
            month_days=draw(st.sampled_from([frozenset(), frozenset({1, 2, 3})])),
        )
    return window


@st.composite
def rates(draw, rate_id: str) -> Rate:
    starts = sorted(draw(st.sets(st.sampled_from([30, 60, 61, 600, 3600]), max_size=2)))
    return Rate(
        rate_id,
        tuple(
            RateSlot(
                start,
                draw(st.sampled_from([0, 1, 7, 1_000, 59_999, 60_000, 1_234_567, -5_000])),
                draw(st.sampled_from([1, 6, 7, 60, 1_000])),
                draw(st.sampled_from([1, 1, 6, 30, 60, 7])),
                draw(st.sampled_from([0, 0, 10_000, 3])),
            )
            for start in (0, *starts)
        ),
    )


@st.composite
def destination_rates(draw, destination_ids: list[str], rate_ids: list[str]) -> DestinationRate:
    effective_from = st.sampled_from([None, None, date(2024, 6, 30), date(2024, 7, 2)])
    effective_to = st.sampled_from([None, None, date(2024, 7, 2), date(2024, 7, 5)])
    strategy = draw(st.sampled_from([None, MaxCostStrategy.FREE, MaxCostStrategy.DISCONNECT]))
    return DestinationRate(
        draw(st.sampled_from([*destination_ids, *destination_ids, ANY, "UNKNOWN"])),
        draw(st.sampled_from(rate_ids)),
        rounding_method=draw(st.sampled_from(RoundingMethod)),
        rounding_decimals=draw(st.integers(0, 6)),
        max_cost_micros=draw(st.sampled_from([0, 50_000, 1_000_000])) if strategy else 0,
        max_cost_strategy=strategy,
        min_charge_micros=draw(st.sampled_from([0, 0, 20_000, 25_001])),
        min_usage=draw(st.sampled_from([0, 0, 30, 90])),
        effective_from=draw(effective_from),
        effective_to=draw(effective_to),
    )


@st.composite
def catalogs(draw) -> Catalog:
    groups = st.sampled_from([*DestinationGroup, DestinationGroup.OTHER, DestinationGroup.MOBILE])
    destinations = {
        f"D{k}": Destination(
            f"D{k}",
            tuple(draw(st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=4))),
            group=draw(groups),
        )
        for k in range(draw(st.integers(1, 4)))
    }
    timing_ids = [f"T{k}" for k in range(draw(st.integers(1, 4)))]
    rate_ids = [f"R{k}" for k in range(draw(st.integers(1, 3)))]
    deck_ids = [f"DR{k}" for k in range(draw(st.integers(1, 2)))]
    plan_ids = [f"P{k}" for k in range(draw(st.integers(1, 2)))]
    subjects = ["alice", "bob", ANY]
    # A catch-all profile first, so that most events reach destination choice; later
    # versions share one activation, so the file-order tie-break is exercised.
    profiles = (
        RatingProfile("t", "call", ANY, ACTIVE, plan_ids[0]),
        *(
            RatingProfile(
                "t",
                "call",
                draw(st.sampled_from(subjects)),
                draw(st.sampled_from([ACTIVE, datetime(2024, 7, 2, 12)])),
                draw(st.sampled_from(plan_ids)),
                fallback_subjects=tuple(draw(st.lists(st.sampled_from(subjects), max_size=2))),
            )
            for _ in range(draw(st.integers(0, 5)))
        ),
    )
    return Catalog(
        version="generated",
        currency="EUR",
        destinations=destinations,
        timings={"ALWAYS": ALWAYS, **{t: draw(timings(t)) for t in timing_ids}},
        rates={r: draw(rates(r)) for r in rate_ids},
        destination_rates={
            d: tuple(
                draw(
                    st.lists(
                        destination_rates(list(destinations), rate_ids), min_size=1, max_size=4
                    )
                )
            )
            for d in deck_ids
        },
        rating_plans={
            p: RatingPlan(
                p,
                tuple(
                    PlanEntry(
                        draw(st.sampled_from(deck_ids)),
                        draw(st.sampled_from(timing_ids)),
                        draw(st.sampled_from([0, 10, 10, 20])),
                    )
                    for _ in range(draw(st.integers(1, 4)))
                )
                # Half the plans cover every instant with a low-weight entry; the others
                # leave gaps.
                + (PlanEntry(deck_ids[0], "ALWAYS", -1),) * draw(st.integers(0, 1)),
            )
            for p in plan_ids
        },
        profiles=profiles,
        holidays=HolidayCalendar(
            extra=frozenset(draw(st.lists(st.sampled_from(GEN_HOLIDAYS), max_size=3)))
        ),
    )


@st.composite
def events(draw) -> Event:
    start = GEN_START + timedelta(
        seconds=draw(
            st.one_of(
                st.integers(0, GEN_DAYS * 86_400),
                # Near a band edge or midnight.
                st.builds(
                    lambda day, edge, shift: day * 86_400 + edge + shift,
                    st.integers(0, GEN_DAYS - 1),
                    st.sampled_from(EDGES),
                    st.integers(-90, 90),
                ).filter(lambda s: s >= 0),
            )
        )
    )
    numbers = st.builds(
        lambda prefix, rest, plus: ("+" if plus else "") + prefix + rest,
        st.sampled_from(PREFIXES),
        st.text("0123456789", max_size=14),
        st.booleans(),
    )
    number = draw(numbers | numbers | numbers | st.sampled_from([None, "", "+", "abc", "0033"]))
    return Event(
        draw(st.sampled_from(["t"] * 7 + ["other"])),
        "call",
        draw(st.sampled_from(["alice", "bob", "carol"])),
        number,
        start,
        draw(
            st.one_of(
                st.sampled_from([0, 1, 29, 30, 59, 60, 61, 89, 150, 3_600, 90_000]),
                st.integers(0, 200_000),
            )
        ),
        time_based=draw(st.booleans()),
        on_net=draw(st.booleans()),
        start_utc=draw(st.sampled_from([None, start - timedelta(hours=2)])),
    )


@settings(SETTINGS, max_examples=100)
@given(catalogs(), st.lists(st.tuples(events(), st.integers(0, 400)), min_size=5, max_size=30))
def test_kernel_matches_reference_on_generated_catalogs(catalog, batch):
    rated = [event for event, _ in batch]
    covered = [units for _, units in batch]
    expected = reference_rate(catalog, rated, covered)
    assert kernel_rate(catalog, rated, covered) == expected
    with pytest.MonkeyPatch.context() as scanning:
        scanning.setattr(tariff_api, "MIN_TABULATED_SCHEDULE_DAYS", 0)
        scanning.setattr(tariff_api, "SCHEDULE_DAYS_PER_EVENT", 0)
        assert kernel_rate(catalog, rated, covered) == expected


@st.composite
def banded_catalogs(draw) -> Catalog:
    """One destination priced by 2-4 entries, each its own table and rate: band choice,
    weight and start ties, splits and gaps are what varies."""
    n_entries = draw(st.integers(2, 4))
    timing_ids = [f"T{k}" for k in range(n_entries)]
    return Catalog(
        version="banded",
        currency="EUR",
        destinations={"FR": Destination("FR", ("33", "336"))},
        timings={t: draw(timings(t)) for t in timing_ids},
        rates={f"R{k}": draw(rates(f"R{k}")) for k in range(n_entries)},
        destination_rates={
            f"DR{k}": (replace(draw(destination_rates(["FR"], [f"R{k}"])), destination_id="FR"),)
            for k in range(n_entries)
        },
        rating_plans={
            "P": RatingPlan(
                "P",
                tuple(
                    PlanEntry(f"DR{k}", t, draw(st.sampled_from([10, 20])))
                    for k, t in enumerate(timing_ids)
                ),
            )
        },
        profiles=(RatingProfile("t", "call", ANY, ACTIVE, "P"),),
        holidays=HolidayCalendar(
            extra=frozenset(draw(st.lists(st.sampled_from(GEN_HOLIDAYS), max_size=3)))
        ),
    )


@settings(SETTINGS, max_examples=100)
@given(banded_catalogs(), st.lists(events(), min_size=5, max_size=30))
def test_kernel_matches_reference_on_generated_bands(catalog, batch):
    rated = [replace(event, tenant="t", destination="+33612345678") for event in batch]
    expected = reference_rate(catalog, rated)
    assert kernel_rate(catalog, rated) == expected
    with pytest.MonkeyPatch.context() as scanning:
        scanning.setattr(tariff_api, "MIN_TABULATED_SCHEDULE_DAYS", 0)
        scanning.setattr(tariff_api, "SCHEDULE_DAYS_PER_EVENT", 0)
        assert kernel_rate(catalog, rated) == expected
