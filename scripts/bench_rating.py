"""Benchmark (not a test): records/s and peak memory of tariff rating (issue #4).

Builds a realistic catalog in code (``build_catalog``: real country calling codes from
``phonenumbers`` with sub-prefixes, ~3,300 destinations, 60/1, 30/6 and 60/60 rates, connect
fees on some, three voice bands, one rating plan per category, five plans with a domestic
voice allowance each) and N usage events (``generate_events``: 70% voice, 20% SMS, 10%
data, ~N/100 subscribers, local start times over November 2024), written once to
``<work>/events-<N>-<seed>.parquet``. Then, each in a fresh process so that each peak RSS
is its own, and after a warm-up that keeps imports, Numba compiles and DuckDB's first query
out of the timing, it times:

- ``reference``: ``pipelines.tariffs.reference.rate_event``, event by event, over the
  events of the first subscribers (``--reference-records``, default 2,000: it scans every
  plan entry per prefix length, tens of milliseconds an event on this catalog), drawing
  each subscriber's voice allowance in start order;
- ``duckdb_sql``: the same tariff as one DuckDB query from the events' Parquet file to a
  rated Parquet file (``RATE_SQL``): longest prefix by joining each number's candidate
  prefixes to a prefix table, band by CASE on the start's ISO week day and time of day,
  increments, allowances (a running sum per subscriber) and rounding in integer arithmetic.
  DuckDB uses all cores. It rates each call wholly in its start band (no split at band
  changes or midnight), which is simpler than the engine: the ratios to it are conservative;
- ``kernel``: one ``kernels.tariff_api.rate_events`` pass over every event on in-memory
  arrays (a batch per row group, into one reused output buffer that a warm-up pass has
  written), the allowance units drawn beforehand, with the Numba thread count in force
  (``NUMBA_NUM_THREADS``); ``kernel_1t``: the same with one thread, the per-core figure;
- ``stage``: read the events' Parquet (category and subject as dictionaries), resolve
  subjects and encode numbers, rate, draw the allowances, re-rate the events an allowance
  pays (``rate_events`` takes the units but does not draw them), and write the rated
  events as one Parquet part per batch into ``<events>-rated-stage/``. This is the stage's
  work done the way the product's rating stage does it, not ``pipelines.rating.retail``
  itself, which also keeps suspense, balances and lineage.

Before timing, ``kernel`` checks on the reference's sample that its costs equal the
reference's (the mismatch count must be 0). Prints a table and writes ``<work>/rating.json``
and ``<work>/rating.md``. Figures depend on the machine's load: state it with them.

    .venv/bin/python scripts/bench_rating.py [--records N] [--seed S]
        [--reference-records M] [--measures reference,duckdb_sql,kernel,kernel_1t,stage]
        [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numba import njit, prange
from peak_memory import peak_rss_mib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.tariffs.model import (  # noqa: E402 (after the path insert)
    ALWAYS,
    ANY,
    ZERO_RATED_GROUPS,
    Allowance,
    Catalog,
    Destination,
    DestinationGroup,
    DestinationRate,
    Event,
    Offer,
    PlanEntry,
    Rate,
    RateSlot,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
    Timing,
)

WORK = ROOT / "data" / "bench"
MEASURES = ("reference", "duckdb_sql", "kernel", "kernel_1t", "stage")
TENANT = "telco"
MONTH_START = datetime(2024, 11, 1)
MONTH_DAYS = 30
HOME_CODE = 1  # the operator is North American: +1 numbers are domestic
CHUNK = 5_000_000  # events generated and written per row group
#: subject -> domestic voice seconds included per month (the plans' allowances).
PLANS = {"prepaid": 0, "basic": 3_600, "plus": 18_000, "business": 30_000, "max": 60_000}
ALLOWANCE_GROUPS = frozenset({DestinationGroup.DOMESTIC})
VOICE_BANDS = (("PEAK", 20), ("WEEKEND", 15), ("OFFPEAK", 10))
BAND_FACTORS = {"PEAK": 1.0, "WEEKEND": 0.7, "OFFPEAK": 0.5}
#: (first increment = second slot start, second increment): 60/1, 30/6 and 60/60.
SLOT_SHAPES = ((60, 1), (30, 6), (60, 60))
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.int64()),
        ("subscriber_id", pa.int64()),
        ("subject", pa.string()),
        ("category", pa.string()),
        ("other_party_number", pa.string()),  # E.164 digits; null for data
        ("started_at_local", pa.timestamp("s")),  # local wall clock, naive
        ("usage_units", pa.int64()),  # seconds, messages or bytes
    ]
)


@dataclass(frozen=True)
class NumberPlan:
    """Where generated numbers fall: a catalog prefix, its weight, the numbers' length."""

    prefixes: list[str]
    weights: np.ndarray  # float64 (p,), sums to 1
    lengths: np.ndarray  # int64 (p,), digits of a full number under the prefix


def build_catalog(seed: int) -> tuple[Catalog, NumberPlan]:
    """The benchmark's catalog and where its numbers fall, the same for the same seed."""
    rng = random.Random(seed)
    destinations: dict[str, Destination] = {}
    priced: list[tuple[str, int, tuple[int, int], int, RoundingMethod, int]] = []
    prefix_weights: dict[str, tuple[float, int]] = {}

    def add(dest_id, prefixes, group, name, peak_per_minute, shape, fee, weight, length):
        destinations[dest_id] = Destination(dest_id, tuple(prefixes), name, group)
        domestic = group is not DestinationGroup.INTERNATIONAL
        method = RoundingMethod.HALF_UP if domestic else RoundingMethod.UP
        priced.append((dest_id, peak_per_minute, shape, fee, method, 6 if domestic else 4))
        for prefix in prefixes:
            prefix_weights[prefix] = (weight / len(prefixes), length)

    # Domestic: NANP area codes, one to three to a destination, plus toll-free and premium.
    area_codes = [f"{a}{b}{c}" for a in range(2, 10) for b in range(10) for c in range(10)]
    area_codes = [code for code in area_codes if code[1:] != "11"]
    rng.shuffle(area_codes)
    area_codes = [code for code in area_codes if code not in ("800", "888", "877", "900")]
    k = 0
    while k < len(area_codes) * 2 // 3:
        size = rng.randint(1, 3)
        codes = [f"1{code}" for code in area_codes[k : k + size]]
        k += size
        add(
            f"US-{codes[0]}",
            codes,
            DestinationGroup.DOMESTIC,
            "United States",
            rng.choice((10_000, 15_000, 20_000)),
            (60, 1),
            0,
            0.72 / 400,
            11,
        )
    add(
        "US-TOLLFREE",
        ["1800", "1888", "1877"],
        DestinationGroup.TOLL_FREE,
        "Toll free",
        20_000,
        (60, 1),
        0,
        0.02,
        11,
    )
    add(
        "US-PREMIUM",
        ["1900"],
        DestinationGroup.PREMIUM,
        "Premium",
        990_000,
        (60, 60),
        250_000,
        0.002,
        11,
    )
    # International: every other calling code, its fixed lines plus mobile sub-ranges.
    codes = sorted(code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if code != HOME_CODE)
    popularity = [1.0 / (1 + rank) for rank in range(len(codes))]
    rng.shuffle(popularity)
    total_popularity = sum(popularity)
    for code, share in zip(codes, popularity, strict=True):
        region = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code][0]
        cc = str(code)
        weight = 0.258 * share / total_popularity
        length = min(15, len(cc) + rng.choice((9, 10)))
        base = rng.choice((50_000, 80_000, 120_000, 200_000, 400_000, 900_000))
        shape = rng.choice(SLOT_SHAPES)
        fee = rng.choice((0, 0, 0, 0, 10_000, 50_000))
        add(
            f"{region}-{cc}",
            [cc],
            DestinationGroup.INTERNATIONAL,
            region,
            base,
            shape,
            fee,
            weight * 0.3,
            length,
        )
        ranges = rng.sample([f"{d:02d}" for d in range(10, 100)], rng.randint(16, 44))
        j = 0
        while j < len(ranges):
            size = rng.randint(1, 3)
            subs = [cc + r[: rng.choice((1, 2))] for r in ranges[j : j + size]]
            subs = [s for s in dict.fromkeys(subs) if s not in prefix_weights]
            j += size
            if subs:
                add(
                    f"{region}-{subs[0]}-MOB",
                    subs,
                    DestinationGroup.INTERNATIONAL,
                    f"{region} mobile",
                    int(base * 1.5),
                    shape,
                    fee,
                    weight * 0.7 / 12,
                    length,
                )

    rates: dict[str, Rate] = {}
    destination_rates: dict[str, list[DestinationRate]] = {f"DR_{b}": [] for b, _ in VOICE_BANDS}
    for dest_id, peak, (first, then), fee, method, decimals in priced:
        for band, _ in VOICE_BANDS:
            price = int(round(peak * BAND_FACTORS[band], -2))
            rate_id = f"R_{first}_{then}_{price}_{fee}"
            rates.setdefault(
                rate_id,
                Rate(
                    rate_id, (RateSlot(0, price, 60, first, fee), RateSlot(first, price, 60, then))
                ),
            )
            destination_rates[f"DR_{band}"].append(
                DestinationRate(dest_id, rate_id, method, decimals)
            )
    destinations["SMS-NANP"] = Destination("SMS-NANP", ("1",), "NANP", DestinationGroup.DOMESTIC)
    rates["R_SMS_DOM"] = Rate("R_SMS_DOM", (RateSlot(0, 20_000, 1, 1),))
    rates["R_SMS_INTL"] = Rate("R_SMS_INTL", (RateSlot(0, 150_000, 1, 1),))
    rates["R_DATA"] = Rate("R_DATA", (RateSlot(0, 2_000, 1_000_000, 1_024),))
    timings = {
        "PEAK": Timing(
            "PEAK", week_days=frozenset(range(1, 6)), start_second=8 * 3600, end_second=19 * 3600
        ),
        "WEEKEND": Timing("WEEKEND", week_days=frozenset({6, 7})),
        "OFFPEAK": Timing("OFFPEAK"),
        ANY: ALWAYS,
    }
    all_rates = {key: tuple(value) for key, value in destination_rates.items()}
    all_rates["DR_SMS"] = (
        DestinationRate("SMS-NANP", "R_SMS_DOM"),
        DestinationRate(ANY, "R_SMS_INTL"),
    )
    all_rates["DR_DATA"] = (DestinationRate(ANY, "R_DATA"),)
    plans = {
        "RP_VOICE": RatingPlan(
            "RP_VOICE", tuple(PlanEntry(f"DR_{b}", b, weight) for b, weight in VOICE_BANDS)
        ),
        "RP_SMS": RatingPlan("RP_SMS", (PlanEntry("DR_SMS", ANY, 10),)),
        "RP_DATA": RatingPlan("RP_DATA", (PlanEntry("DR_DATA", ANY, 10),)),
    }
    activation = datetime(2024, 1, 1)
    profiles = tuple(
        RatingProfile(TENANT, category, subject, activation, f"RP_{category.upper()}")
        for subject in PLANS
        for category in ("voice", "sms", "data")
    )
    offers = tuple(
        Offer(
            subject,
            subject.title(),
            "plan",
            "mobile",
            10_000_000 + 5_000_000 * i,
            subject,
            date(2024, 1, 1),
            allowances=(Allowance("voice", units, destination_groups=ALLOWANCE_GROUPS),)
            if units
            else (),
        )
        for i, (subject, units) in enumerate(PLANS.items())
    )
    catalog = Catalog(
        "bench-1", "USD", destinations, timings, rates, all_rates, plans, profiles, offers=offers
    )
    prefixes = sorted(prefix_weights)
    weights = np.array([prefix_weights[p][0] for p in prefixes])
    lengths = np.array([prefix_weights[p][1] for p in prefixes], dtype=np.int64)
    return catalog, NumberPlan(prefixes, weights / weights.sum(), lengths)


def _hour_weights() -> np.ndarray:
    """Diurnal traffic: quiet at night, a plateau over the working day, an evening bump."""
    hours = np.arange(24)
    weights = 0.15 + np.exp(-((hours - 11.5) ** 2) / 18) + 0.6 * np.exp(-((hours - 19) ** 2) / 4)
    return weights / weights.sum()


def generate_events(
    total: int, seed: int, numbers: NumberPlan, first: int = 0, records: int | None = None
) -> pa.Table:
    """Events ``first`` .. ``first + records - 1`` of the seed's ``total`` events.

    Each chunk has its own generator, so a file is the same whatever the chunking.
    """
    records = total - first if records is None else records
    rng = np.random.default_rng([seed, first])
    subscribers = max(1, total // 100)
    event_id = np.arange(first, first + records, dtype=np.int64)
    subscriber = rng.integers(0, subscribers, records)
    subject_names = np.array(list(PLANS))
    subject = subject_names[subscriber % len(PLANS)]
    draw = rng.random(records)
    category = np.where(draw < 0.7, "voice", np.where(draw < 0.9, "sms", "data"))
    pick = np.searchsorted(np.cumsum(numbers.weights), rng.random(records), side="right")
    pick = np.minimum(pick, len(numbers.prefixes) - 1)
    prefix_values = np.array([int(p) for p in numbers.prefixes], dtype=np.int64)
    prefix_digits = np.array([len(p) for p in numbers.prefixes], dtype=np.int64)
    tail_digits = numbers.lengths[pick] - prefix_digits[pick]
    scale = 10**tail_digits
    number = prefix_values[pick] * scale + (rng.random(records) * scale).astype(np.int64)
    is_data = category == "data"
    numbers_text = pa.array(number, mask=is_data).cast(pa.string())
    day = rng.integers(0, MONTH_DAYS, records)
    hour = rng.choice(24, records, p=_hour_weights())
    second_of_day = hour * 3600 + rng.integers(0, 3600, records)
    start = np.datetime64(MONTH_START, "s") + (day * 86_400 + second_of_day).astype("m8[s]")
    voice_seconds = np.clip(rng.lognormal(np.log(75), 1.0, records), 1, 4 * 3600)
    messages = 1 + (rng.random(records) < 0.1) * rng.integers(1, 3, records)
    data_bytes = np.clip(rng.lognormal(np.log(2e6), 1.5, records), 1, 2e9)
    usage = np.where(
        category == "voice", voice_seconds, np.where(category == "sms", messages, data_bytes)
    ).astype(np.int64)
    return pa.table(
        [event_id, subscriber, subject, category, numbers_text, start, usage], schema=EVENTS_SCHEMA
    )


def events_file(work: Path, records: int, seed: int) -> Path:
    """The seed's N events as Parquet in ``work``, generated once (row groups of CHUNK)."""
    path = work / f"events-{records}-{seed}.parquet"
    if path.exists():
        return path
    _, numbers = build_catalog(seed)
    partial = path.with_suffix(".partial")
    with pq.ParquetWriter(partial, EVENTS_SCHEMA) as writer:
        for first in range(0, records, CHUNK):
            chunk = generate_events(records, seed, numbers, first, min(CHUNK, records - first))
            writer.write_table(chunk, row_group_size=CHUNK)
    partial.rename(path)
    return path


def reference_sample(path: Path, records: int) -> pa.Table:
    """The events of the first subscribers, ~``records`` of them, in allowance order.

    Whole subscribers, so that allowances run out as they do in the full month.
    """
    events = pq.ParquetFile(path)
    total = events.metadata.num_rows
    subscribers = max(1, records * max(1, total // 100) // total)
    # Row group by row group: the whole file of a large run does not fit in memory.
    table = pa.concat_tables(
        (group := events.read_row_group(i)).filter(pc.less(group["subscriber_id"], subscribers))
        for i in range(events.num_row_groups)
    )
    return table.sort_by(
        [
            ("subscriber_id", "ascending"),
            ("started_at_local", "ascending"),
            ("event_id", "ascending"),
        ]
    )


def as_events(table: pa.Table) -> list[Event]:
    return [
        Event(
            TENANT,
            row["category"],
            row["subject"],
            row["other_party_number"],
            row["started_at_local"],
            row["usage_units"],
            time_based=row["category"] == "voice",
        )
        for row in table.select(
            ["category", "subject", "other_party_number", "started_at_local", "usage_units"]
        ).to_pylist()
    ]


def rate_reference(
    catalog: Catalog, events: list[Event], subscribers: list[int]
) -> list[int | None]:
    """Costs in micros (None: unrated), events in allowance order (subscriber, start).

    Each plan's voice allowance pays the first billed units of its domestic calls. The
    reference takes the units an allowance offers; the destination's group is known only
    after rating, so an event offered units it may not use is rated again without them.
    """
    from pipelines.tariffs.reference import rate_event

    allowances = {
        offer.subject: allowance.units
        for offer in catalog.offers
        for allowance in offer.allowances
        if allowance.category == "voice"
    }
    remaining: dict[int, int] = {}
    costs: list[int | None] = []
    for event, subscriber in zip(events, subscribers, strict=True):
        left = remaining.setdefault(subscriber, allowances.get(event.subject, 0))
        offered = left if event.category == "voice" else 0
        rating = rate_event(catalog, event, offered)
        if rating.allowance_units:
            group = catalog.destinations[rating.spans[0].destination_id].group
            if group in ALLOWANCE_GROUPS:
                remaining[subscriber] = left - rating.allowance_units
            else:
                rating = rate_event(catalog, event)
        costs.append(None if rating.error else rating.cost_micros)
    return costs


#: The catalog as SQL rates it: each call wholly in the band of its start. Parameters:
#: $events and $rated (Parquet paths), $max_prefix (longest prefix in the catalog).
RATE_SQL = """
copy (
    with

    events as (
        select * from read_parquet($events)
    ),

    candidate_prefixes as (
        select
            event_id,
            category,
            left(other_party_number, prefix_length) as prefix,
            prefix_length,
        from (
            select
                event_id,
                category,
                other_party_number,
                unnest(range(1, least(length(other_party_number), $max_prefix) + 1))
                    as prefix_length,
            from events
            where other_party_number is not null
        )
    ),

    longest_prefixes as (
        select
            candidate_prefixes.event_id,
            arg_max(prefixes.destination_id, candidate_prefixes.prefix_length) as destination_id,
        from candidate_prefixes
        inner join prefixes
            on prefixes.category = candidate_prefixes.category
            and prefixes.prefix = candidate_prefixes.prefix
        group by candidate_prefixes.event_id
    ),

    banded as (
        select
            events.event_id,
            events.subscriber_id,
            events.subject,
            events.category,
            events.started_at_local,
            events.usage_units,
            coalesce(longest_prefixes.destination_id, '*any') as destination_id,
            case
                when events.category <> 'voice' then '*any'
                when isodow(events.started_at_local) >= 6 then 'WEEKEND'
                when hour(events.started_at_local) between 8 and 18 then 'PEAK'
                else 'OFFPEAK'
            end as band,
        from events
        left join longest_prefixes on longest_prefixes.event_id = events.event_id
    ),

    billed as (
        select
            banded.*,
            prices.destination_group,
            prices.is_zero_rated,
            prices.connect_fee_micros,
            prices.price_micros,
            prices.rate_unit,
            prices.rounding_step,
            prices.rounding_method,
            (least(banded.usage_units, prices.second_slot_start) + prices.first_increment - 1)
                // prices.first_increment * prices.first_increment as first_billed,
            first_billed + (greatest(banded.usage_units - first_billed, 0)
                + prices.second_increment - 1) // prices.second_increment
                * prices.second_increment as billed_units,
            coalesce(allowances.units, 0) > 0
                and prices.destination_group = 'domestic'
                and not prices.is_zero_rated as draws_allowance,
            coalesce(allowances.units, 0) as allowance_units,
        from banded
        left join prices
            on prices.category = banded.category
            and prices.destination_id = banded.destination_id
            and prices.band = banded.band
        left join allowances
            on allowances.subject = banded.subject
            and allowances.category = banded.category
    ),

    allowance_drawn as (
        select
            billed.*,
            case
                when draws_allowance then least(billed_units, greatest(allowance_units
                    - coalesce(sum(billed_units) filter (where draws_allowance) over (
                        partition by subscriber_id
                        order by started_at_local, event_id
                        rows between unbounded preceding and 1 preceding
                    ), 0), 0))::bigint
                else 0
            end as covered_units,
        from billed
    ),

    charged as (
        select
            *,
            connect_fee_micros * rate_unit
                + (billed_units - covered_units) * price_micros as cost_numerator,
            rate_unit * rounding_step as cost_denominator,
        from allowance_drawn
    ),

    final as (
        select
            event_id,
            destination_id,
            band,
            billed_units,
            covered_units,
            case
                when price_micros is null then null
                when is_zero_rated or billed_units - covered_units <= 0 then 0
                when rounding_method = 'up'
                    then (cost_numerator + cost_denominator - 1) // cost_denominator
                        * rounding_step
                when rounding_method = 'down'
                    then cost_numerator // cost_denominator * rounding_step
                else (2 * cost_numerator + cost_denominator) // (2 * cost_denominator)
                    * rounding_step
            end::bigint as cost_micros,
        from charged
    )

    select * from final
) to $rated (format parquet)
"""


def sql_tables(catalog: Catalog) -> dict[str, pa.Table]:
    """The prefix, price and allowance tables that RATE_SQL joins, from the catalog.

    The SQL prices a two-slot rate whose slots share one price and whose first increment
    reaches the second slot (60/1, 30/6, 60/60), no minimum or maximum cost: what
    build_catalog writes, which this checks.
    """
    plans = {profile.category: profile.rating_plan_id for profile in catalog.profiles}
    prefixes: set[tuple[str, str, str]] = set()
    prices = []
    for category, plan_id in plans.items():
        for entry in catalog.rating_plans[plan_id].entries:
            for binding in catalog.destination_rates[entry.destination_rates_id]:
                destination = catalog.destinations.get(binding.destination_id)
                if destination is not None:
                    prefixes.update(
                        (category, p, destination.destination_id) for p in destination.prefixes
                    )
                slots = catalog.rates[binding.rate_id].slots
                first, second = slots[0], slots[-1]
                assert first.price_micros == second.price_micros
                assert first.rate_unit == second.rate_unit
                assert len(slots) == 1 or first.increment == second.group_interval_start
                assert not (
                    binding.min_usage or binding.min_charge_micros or binding.max_cost_micros
                )
                group = destination.group if destination is not None else DestinationGroup.OTHER
                prices.append(
                    {
                        "category": category,
                        "destination_id": binding.destination_id,
                        "band": entry.timing_id,
                        "destination_group": group.value,
                        "is_zero_rated": group in ZERO_RATED_GROUPS,
                        "connect_fee_micros": first.connect_fee_micros,
                        "price_micros": first.price_micros,
                        "rate_unit": first.rate_unit,
                        "first_increment": first.increment,
                        "second_slot_start": second.group_interval_start or first.increment,
                        "second_increment": second.increment,
                        "rounding_step": 10 ** (6 - binding.rounding_decimals),
                        "rounding_method": binding.rounding_method.value,
                    }
                )
    allowances = [
        {"subject": offer.subject, "category": allowance.category, "units": allowance.units}
        for offer in catalog.offers
        for allowance in offer.allowances
    ]
    return {
        "prefixes": pa.Table.from_pylist(
            [
                {"category": category, "prefix": prefix, "destination_id": destination_id}
                for category, prefix, destination_id in sorted(prefixes)
            ]
        ),
        "prices": pa.Table.from_pylist(prices),
        "allowances": pa.Table.from_pylist(allowances),
    }


def rate_sql(connection, events: Path, rated: Path, catalog: Catalog) -> None:
    """Rate the events' Parquet file into ``rated`` with RATE_SQL on a DuckDB connection."""
    tables = sql_tables(catalog)
    for name, table in tables.items():
        connection.register(f"{name}_arrow", table)
        connection.execute(f"create or replace table {name} as select * from {name}_arrow")
    max_prefix = max(len(prefix) for prefix in tables["prefixes"]["prefix"].to_pylist())
    connection.execute(
        RATE_SQL, {"events": str(events), "rated": str(rated), "max_prefix": max_prefix}
    )


def split_free_subscribers(events: pa.Table, billed_units: np.ndarray) -> np.ndarray:
    """Mask of the events whose subscriber has no call across a band change or midnight.

    Those are the events the SQL and the engine rate alike: the engine splits a call there
    (and its allowance then runs out at another event), the SQL does not. A weekday call over
    08:00 or 19:00, or any call over midnight, counts, whether or not the band changes.
    """
    start = events["started_at_local"].cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    second_of_day = start % 86_400
    end = second_of_day + billed_units
    crosses = np.zeros(len(start), dtype=bool)
    for edge in (8 * 3600, 19 * 3600, 86_400):
        crosses |= (second_of_day < edge) & (edge < end)
    crosses &= events["category"].to_numpy(zero_copy_only=False) == "voice"
    subscriber = events["subscriber_id"].to_numpy()
    return ~np.isin(subscriber, np.unique(subscriber[crosses]))


@dataclass(frozen=True)
class Batch:
    """Events as ``kernels.tariff_api.rate_events`` takes them, int64 (n,) unless stated.

    allowance: the voice units per month of the event's plan (0 for other categories).
    """

    event_id: np.ndarray
    subscriber_id: np.ndarray
    local_seconds: np.ndarray
    number_value: np.ndarray
    number_len: np.ndarray
    usage: np.ndarray
    time_based: np.ndarray  # bool
    on_net: np.ndarray  # bool
    allowance: np.ndarray
    chains: object  # pipelines.tariffs.compile.PlanChains


@dataclass
class Rated:
    """What the stage keeps of a batch's ratings, and writes."""

    error: np.ndarray  # int8
    cost_micros: np.ndarray
    billed_units: np.ndarray
    allowance_units: np.ndarray
    binding: np.ndarray  # -1: unrated


def voice_allowances(catalog: Catalog) -> dict[str, int]:
    """Plan subject -> voice units its offer includes per month."""
    return {
        offer.subject: allowance.units
        for offer in catalog.offers
        for allowance in offer.allowances
        if allowance.category == "voice"
    }


def to_batch(table: pa.Table, compiled, allowances: dict[str, int]) -> Batch:
    """Resolve subjects to plan chains and encode numbers and times for the kernel.

    Category and subject arrive dictionary-encoded (``read_batches``): per-event work on
    them is integer work on their codes.
    """
    from kernels.tariff_api import encode_destinations
    from pipelines.tariffs.compile import dictionary_codes, resolve_plan_chains

    n = table.num_rows
    # Parquet has no second unit: the column comes back in milliseconds.
    local_seconds = table["started_at_local"].cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    tenant = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), [TENANT])
    chains = resolve_plan_chains(
        compiled, tenant, table["category"], table["subject"], local_seconds
    )
    category, category_names = dictionary_codes(table["category"])
    subject, subject_names = dictionary_codes(table["subject"])
    is_voice = category == (category_names.index("voice") if "voice" in category_names else -1)
    units = np.array([allowances.get(name, 0) for name in subject_names], dtype=np.int64)
    number_value, number_len = encode_destinations(table["other_party_number"])
    return Batch(
        event_id=table["event_id"].to_numpy(),
        subscriber_id=table["subscriber_id"].to_numpy(),
        local_seconds=np.ascontiguousarray(local_seconds),
        number_value=number_value,
        number_len=number_len,
        usage=table["usage_units"].to_numpy(),
        time_based=is_voice,
        on_net=np.zeros(n, dtype=np.bool_),
        allowance=np.where(is_voice, units[subject] if units.size else 0, 0),
        chains=chains,
    )


def rate_batch(
    compiled, batch: Batch, covered: np.ndarray, rows: np.ndarray | None = None, out=None
):
    """``rate_events`` over the batch, or over its ``rows`` only; into ``out`` if given (a
    ``TariffRatings`` buffer at least that long, reused)."""
    from kernels.tariff_api import rate_events
    from pipelines.tariffs.compile import PlanChains

    chains = batch.chains
    columns = (
        batch.local_seconds,
        batch.number_value,
        batch.number_len,
        batch.usage,
        batch.time_based,
        batch.on_net,
        covered,
    )
    if rows is not None:
        chains = PlanChains(chains.chain[rows], chains.offsets, chains.plans, chains.subjects)
        columns = tuple(column[rows] for column in columns)
    n = chains.chain.size
    return rate_events(compiled, chains, *columns, out=None if out is None else out.head(n))


@njit(cache=True, parallel=True)
def _draw_in_start_order(subscriber, local_seconds, billed, allowance, n_subscribers):
    """Units each event's allowance pays: per subscriber, its events in start order (then
    in the given order, event id order) draw ``allowance`` down, the first units first.

    A counting sort groups the events by subscriber (stable), then each subscriber's few
    events are sorted by start: no global sort of every event.
    """
    n = subscriber.size
    starts = np.zeros(n_subscribers + 1, np.int64)
    for i in range(n):
        starts[subscriber[i] + 1] += 1
    for k in range(n_subscribers):
        starts[k + 1] += starts[k]
    fill = starts[:-1].copy()
    grouped = np.empty(n, np.int64)
    for i in range(n):
        grouped[fill[subscriber[i]]] = i
        fill[subscriber[i]] += 1
    covered = np.zeros(n, np.int64)
    for k in prange(n_subscribers):
        members = grouped[starts[k] : starts[k + 1]]
        order = np.argsort(local_seconds[members], kind="mergesort")
        drawn = 0
        for j in order:
            i = members[j]
            take = min(max(allowance[i] - drawn, 0), billed[i])
            covered[i] = take
            drawn += take
    return covered


def draw_allowances(compiled, batches: list[Batch], rated: list[Rated]) -> list[np.ndarray]:
    """Units each event's plan allowance pays: the first billed units of the subscriber's
    domestic calls in start order (``rate_events`` takes them; it does not draw them)."""
    from pipelines.tariffs.compile import DESTINATION_GROUPS

    domestic = [DESTINATION_GROUPS.index(group) for group in ALLOWANCE_GROUPS]
    draws = []
    for batch, result in zip(batches, rated, strict=True):
        group = np.where(result.binding >= 0, compiled.binding_group[result.binding], -1)
        draws.append(
            (result.error == 0)
            & (batch.allowance > 0)
            & np.isin(group, domestic)
            & ~compiled.binding_zero_rated[result.binding]
        )
    sizes = [batch.event_id.size for batch in batches]

    def drawing(name: str) -> np.ndarray:
        return np.concatenate([getattr(b, name)[d] for b, d in zip(batches, draws, strict=True)])

    # The batches are in event id order, so the stable sorts keep ties in event id order.
    subscriber = drawing("subscriber_id")
    covered_drawing = _draw_in_start_order(
        subscriber,
        drawing("local_seconds"),
        np.concatenate([r.billed_units[d] for r, d in zip(rated, draws, strict=True)]),
        drawing("allowance"),
        int(subscriber.max(initial=-1)) + 1,
    )
    covered = np.zeros(sum(sizes), dtype=np.int64)
    covered[np.flatnonzero(np.concatenate(draws))] = covered_drawing
    return np.split(covered, np.cumsum(sizes)[:-1])


def rate_without_allowances(compiled, batches: list[Batch]) -> list[Rated]:
    """Every batch rated as if no allowance paid anything: what the draw needs."""
    rated = []
    for batch in batches:
        result = rate_batch(compiled, batch, np.zeros(batch.event_id.size, dtype=np.int64))
        rated.append(
            Rated(
                result.error,
                result.cost_micros,
                result.billed_usage,
                result.allowance_units,
                result.binding,
            )
        )
    return rated


def reprice(compiled, batch: Batch, result: Rated, covered: np.ndarray, out=None) -> None:
    """Re-rate, in place, the batch's events an allowance pays part of (into ``out``)."""
    rows = np.flatnonzero(covered)
    again = rate_batch(compiled, batch, covered, rows, out)
    result.cost_micros[rows] = again.cost_micros
    result.allowance_units[rows] = again.allowance_units


def rate_with_allowances(compiled, batches: list[Batch]) -> list[Rated]:
    """Rate every batch, draw the allowances, re-rate the events an allowance pays."""
    rated = rate_without_allowances(compiled, batches)
    for batch, result, covered in zip(
        batches, rated, draw_allowances(compiled, batches, rated), strict=True
    ):
        reprice(compiled, batch, result, covered)
    return rated


def rated_table(compiled, batch: Batch, result: Rated) -> pa.Table:
    """The rated events as the stage writes them (names as RATE_SQL's output)."""
    from kernels.tariff_api import TariffError

    # binding -1 (unrated) reads the last row; the mask below hides it.
    destination = compiled.binding_destination[result.binding]
    destination = np.where(destination >= 0, destination, len(compiled.destination_ids))
    timing = compiled.binding_timing[result.binding]
    names = [*compiled.destination_ids, ANY]
    return pa.table(
        {
            "event_id": batch.event_id,
            "destination_id": pa.DictionaryArray.from_arrays(
                pa.array(destination.astype(np.int32), mask=result.binding < 0), names
            ),
            "band": pa.DictionaryArray.from_arrays(
                pa.array(timing.astype(np.int32), mask=result.binding < 0),
                list(compiled.timing_ids),
            ),
            "billed_units": result.billed_units,
            "covered_units": result.allowance_units,
            "cost_micros": pa.array(result.cost_micros, mask=result.error != TariffError.NONE),
        }
    )


def iter_batches(path: Path, compiled, catalog: Catalog) -> Iterator[Batch]:
    """The events' Parquet file, one kernel batch per row group; a reader thread decodes the
    next row group while the caller works on this one (Parquet decoding releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    allowances = voice_allowances(catalog)
    events = pq.ParquetFile(path, read_dictionary=["category", "subject"])
    with ThreadPoolExecutor(1) as reader:
        ahead = reader.submit(events.read_row_group, 0)
        for i in range(events.num_row_groups):
            table = ahead.result()
            if i + 1 < events.num_row_groups:
                ahead = reader.submit(events.read_row_group, i + 1)
            yield to_batch(table, compiled, allowances)


def read_batches(path: Path, compiled, catalog: Catalog) -> list[Batch]:
    """Every batch of the events' Parquet file (``iter_batches``)."""
    return list(iter_batches(path, compiled, catalog))


#: Statistics only where readers prune by them: min/max of the dictionary-encoded string
#: columns cost a third of the write.
RATED_STATISTICS = ["event_id", "cost_micros"]


def rate_stage(path: Path, rated_dir: Path, compiled, catalog: Catalog) -> int:
    """The whole rate stage: events Parquet -> batches -> kernel -> rated Parquet parts.

    One part file per batch (``part-00000.parquet``...), as a lake partition holds: the
    parts are written on two threads (Parquet encoding releases the GIL), each while the
    next batch is re-priced, instead of one single-threaded writer after everything.
    """
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    from kernels.tariff_api import TariffRatings

    # Each batch is rated as it arrives, while the reader decodes the next.
    batches, rated = [], []
    for batch in iter_batches(path, compiled, catalog):
        batches.append(batch)
        rated.extend(rate_without_allowances(compiled, [batch]))
    covered = draw_allowances(compiled, batches, rated)
    shutil.rmtree(rated_dir, ignore_errors=True)
    rated_dir.mkdir(parents=True)
    repriced = TariffRatings.empty(max((int(np.count_nonzero(c)) for c in covered), default=0))
    with ThreadPoolExecutor(2) as writers:
        written = []
        for k, (batch, result, batch_covered) in enumerate(
            zip(batches, rated, covered, strict=True)
        ):
            reprice(compiled, batch, result, batch_covered, repriced)
            written.append(
                writers.submit(
                    pq.write_table,
                    rated_table(compiled, batch, result),
                    rated_dir / f"part-{k:05d}.parquet",
                    write_statistics=RATED_STATISTICS,
                )
            )
        for part in written:
            part.result()
    return sum(batch.event_id.size for batch in batches)


def _reference_costs(work: Path, path: Path, catalog: Catalog, records: int) -> pa.Table:
    """The reference's costs on its sample, as the ``reference`` measure saved them."""
    saved = work / f"{path.stem}-reference-{records}.parquet"
    if not saved.exists():
        sample = reference_sample(path, records)
        costs = rate_reference(catalog, as_events(sample), sample["subscriber_id"].to_pylist())
        pq.write_table(sample.append_column("cost_micros", pa.array(costs, pa.int64())), saved)
    return pq.read_table(saved)


def _mismatches(expected: pa.Table, got: pa.Table) -> int:
    """Events of ``expected`` whose cost_micros ``got`` does not equal (null: unrated)."""
    joined = expected.select(["event_id", "cost_micros"]).join(
        got.select(["event_id", "cost_micros"]), "event_id", right_suffix="_got"
    )
    pairs = zip(
        joined["cost_micros"].to_pylist(), joined["cost_micros_got"].to_pylist(), strict=True
    )
    return sum(a != b for a, b in pairs) + expected.num_rows - joined.num_rows


def _measure(measure: str, path: Path, work: Path, reference_records: int, seed: int) -> dict:
    """Child process: warm up, then time one measure."""
    load = os.getloadavg()[0]
    catalog, _ = build_catalog(seed)
    sample = _reference_costs(work, path, catalog, reference_records)
    warm_up = work / f"{path.stem}-warm-up.parquet"
    pq.write_table(sample.drop_columns(["cost_micros"]), warm_up)
    result: dict[str, object] = {}
    if measure == "reference":
        events = as_events(sample)
        subscribers = sample["subscriber_id"].to_pylist()
        rate_reference(catalog, events[:20], subscribers[:20])
        started = time.perf_counter()
        rate_reference(catalog, events, subscribers)
        seconds = time.perf_counter() - started
        count = len(events)
    elif measure == "duckdb_sql":
        import duckdb

        connection = duckdb.connect()
        # Well below the machine's 24 GiB, which other processes share; DuckDB spills past it.
        connection.execute(f"set temp_directory = '{work / 'duckdb-tmp'}'")
        connection.execute("set memory_limit = '12GB'")
        rate_sql(connection, warm_up, work / "sql-warm-up-rated.parquet", catalog)
        on_sample = pq.read_table(work / "sql-warm-up-rated.parquet")
        comparable = split_free_subscribers(
            sample.sort_by("event_id"), on_sample.sort_by("event_id")["billed_units"].to_numpy()
        )
        result["sample_mismatches_vs_reference"] = _mismatches(
            sample.sort_by("event_id").filter(comparable), on_sample
        )
        result["sample_compared"] = int(comparable.sum())
        result["threads"] = connection.sql("select current_setting('threads')").fetchall()[0][0]
        rated = work / f"{path.stem}-rated-sql.parquet"
        started = time.perf_counter()
        rate_sql(connection, path, rated, catalog)
        seconds = time.perf_counter() - started
        count = pq.ParquetFile(rated).metadata.num_rows
    else:
        import numba

        from pipelines.tariffs.compile import compile_catalog

        compiled = compile_catalog(catalog)
        result["threads"] = numba.get_num_threads()
        warm = read_batches(warm_up, compiled, catalog)
        on_sample = pa.concat_tables(
            rated_table(compiled, batch, rated)
            for batch, rated in zip(warm, rate_with_allowances(compiled, warm), strict=True)
        )
        result["sample_mismatches_vs_reference"] = _mismatches(sample, on_sample)
        result["sample_compared"] = sample.num_rows
        if result["sample_mismatches_vs_reference"]:
            raise SystemExit(f"the kernel disagrees with the reference: {result}")
        if measure == "stage":
            rate_stage(warm_up, work / "stage-warm-up-rated", compiled, catalog)
            rated = work / f"{path.stem}-rated-stage"
            started = time.perf_counter()
            count = rate_stage(path, rated, compiled, catalog)
            seconds = time.perf_counter() - started
            covered = pq.read_table(rated, columns=["covered_units"])["covered_units"]
            result["rerated"] = pc.sum(pc.greater(covered, 0)).as_py()
        else:
            batches = read_batches(path, compiled, catalog)
            from kernels.tariff_api import TariffRatings

            covered = draw_allowances(compiled, batches, rate_without_allowances(compiled, batches))
            # One output buffer for every batch, as a stage rating batch after batch keeps;
            # the warm-up pass writes it once, so the timing excludes first-touch page faults.
            out = TariffRatings.empty(max(batch.event_id.size for batch in batches))
            rate_batch(compiled, batches[0], covered[0], out=out)
            started = time.perf_counter()
            for batch, batch_covered in zip(batches, covered, strict=True):
                rate_batch(compiled, batch, batch_covered, out=out)
            seconds = time.perf_counter() - started
            count = sum(batch.event_id.size for batch in batches)
    return {
        "records": count,
        "seconds": round(seconds, 3),
        "records_per_second": round(count / seconds),
        **result,
        "rss_peak_mib": round(peak_rss_mib()),
        "load_average_at_start": round(load, 2),
        "code": _code_version(),
    }


def _code_version() -> str:
    """The commit measured, "+dirty" when the engine's files differ from it (a shared tree)."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "kernels", "pipelines/tariffs"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{commit}+dirty" if changed else commit


def _ratios(report: dict[str, dict]) -> dict[str, float]:
    rate = {name: found["records_per_second"] for name, found in report.items()}
    pairs = {
        "kernel/reference": ("kernel", "reference"),
        "kernel/duckdb_sql": ("kernel", "duckdb_sql"),
        "kernel_1t/duckdb_sql": ("kernel_1t", "duckdb_sql"),
        "stage/duckdb_sql": ("stage", "duckdb_sql"),
        "stage/reference": ("stage", "reference"),
    }
    return {
        label: round(rate[a] / rate[b], 1)
        for label, (a, b) in pairs.items()
        if a in rate and b in rate
    }


def _markdown(runs: dict[str, dict]) -> str:
    """One table of measures and one of ratios per run, smallest N first."""
    lines = ["# Rating benchmark (scripts/bench_rating.py)"]
    for run in sorted(runs.values(), key=lambda found: found["records"]):
        lines += [
            "",
            f"## {run['records']:,} events",
            "",
            run["header"],
            "",
            "| measure | records | seconds | rec/s | threads | rec/s per thread | peak MiB "
            "| load | code |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for name, found in run["measures"].items():
            threads = int(found.get("threads", 1))
            lines.append(
                f"| {name} | {found['records']:,} | {found['seconds']} "
                f"| {found['records_per_second']:,} | {threads} "
                f"| {found['records_per_second'] // threads:,} | {found['rss_peak_mib']:,} "
                f"| {found.get('load_average_at_start', '')} | {found.get('code', '')} |"
            )
        lines += ["", "| ratio | x |", "| --- | ---: |"]
        lines += [f"| {label} | {value} |" for label, value in run["ratios"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="events to rate")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--reference-records", type=int, default=2_000, help="events the reference rates"
    )
    parser.add_argument("--measures", default=",".join(MEASURES))
    parser.add_argument("--work", type=Path, default=WORK, help="scratch and output folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    path = events_file(work, args.records, args.seed)
    if args.child:
        found = _measure(args.child, path, work, args.reference_records, args.seed)
        print(json.dumps(found))
        return
    header = (
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"{args.records:,} events (seed {args.seed}), reference on {args.reference_records:,}"
    )
    print(header)
    print(f"{'measure':<11} {'records':>12} {'seconds':>9} {'rec/s':>12} {'threads':>7}", end="")
    print(f" {'peak MiB':>9}")
    report: dict[str, dict] = {}
    for measure in args.measures.split(","):
        env = dict(os.environ)
        if measure == "kernel_1t":
            env["NUMBA_NUM_THREADS"] = "1"
        child = [
            *("--records", str(args.records), "--seed", str(args.seed)),
            *("--reference-records", str(args.reference_records), "--work", str(work)),
        ]
        done = subprocess.run(
            [sys.executable, __file__, *child, "--child", measure],
            capture_output=True,
            text=True,
            env=env,
        )
        if done.returncode:
            raise SystemExit(f"{measure} failed:\n{done.stderr}")
        found = json.loads(done.stdout.splitlines()[-1])
        report[measure] = found
        print(
            f"{measure:<11} {found['records']:>12,} {found['seconds']:>9} "
            f"{found['records_per_second']:>12,} {found.get('threads', 1):>7} "
            f"{found['rss_peak_mib']:>9,}"
        )
    ratios = _ratios(report)
    for label, value in ratios.items():
        print(f"{label:<22} {value:>8}x")
    # One file for every N run in this work folder: a run replaces only the measures it took.
    saved = work / "rating.json"
    runs = json.loads(saved.read_text())["runs"] if saved.exists() else {}
    measures = {**runs.get(str(args.records), {}).get("measures", {}), **report}
    runs[str(args.records)] = {
        "records": args.records,
        "seed": args.seed,
        "header": header,
        "measures": measures,
        "ratios": _ratios(measures),
    }
    saved.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    (work / "rating.md").write_text(_markdown(runs))
    print(f"written: {work / 'rating.json'}, {work / 'rating.md'}")


if __name__ == "__main__":
    main()
