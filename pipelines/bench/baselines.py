"""The baselines the benchmark measures on each run's own data, to set the stages' speed
against ways of doing the same work without this project's engine.

- ``reference_rating``: the pure-Python reference engine (``pipelines.tariffs.reference``),
  event by event, on a sample of the run's priced usage, each event with the allowance
  units the stage drew for it (as ``telcolake rerating-check`` re-rates).
- ``duckdb_sql_rating``: the run's tariff catalog priced by one DuckDB query (``RATE_SQL``)
  over the run's priced usage (whole accounts, up to a number of records): plan by profile,
  longest prefix among the plan's destinations with an active timing, rate slots and
  increments, connect fee, minimum and maximum cost, rounding, and each line's allowance
  drawn by a running sum. It prices each event wholly in the band of its start (no split at
  band changes or midnight), draws a pooled allowance as the line's own, and does no
  attribution, suspense or lineage: its agreement with the stage's charges is reported,
  and its speed is the pricing alone, so the ratios to it are conservative.
- ``pycrate_ber``: the library decoder of TS 32.298 (pycrate, through
  ``pipelines.mediation.ts32298_ber``) over the first records of the run's BER files.

Each times only its own loop or query, after a warm-up, never reading its input: in a
child process (``pipelines.bench.stages``) whose peak memory is measured like a stage's.
scripts/bench_rating.py measures the same kinds of rating on a synthetic catalog.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import OPERATOR_TIMEZONE, TENANT, Layout
from pipelines.periods import parse_period
from pipelines.schema import Feed, RatingStatus
from pipelines.tariffs.model import ANY, ZERO_RATED_GROUPS, Catalog, DestinationGroup

#: Events the pure-Python engine rates (milliseconds each on a real catalog).
REFERENCE_RECORDS = 2_000
#: Records the DuckDB query prices at most: the run's, sampled by account above it.
SQL_RECORDS = 10_000_000
#: BER records the library decoder parses (about a thousand a second).
PYCRATE_RECORDS = 2_000
#: DuckDB's memory limit, well below the machine's RAM; the query spills past it.
SQL_MEMORY_LIMIT = "8GB"
_WARM_UP_EVENTS = 20
_PRICED = [RatingStatus.RATED.value, RatingStatus.ZERO_RATED.value]
_EVENT_COLUMNS = [
    "usage_id",
    "feed",
    "record_key",
    "service",
    "subscriber_id",
    "account_id",
    "plan_id",
    "event_date",
    "other_party_number",
    "started_at",
    "duration_seconds",
    "data_volume_bytes",
    "destination_group",
    "allowance_units",
    "charge_micros",
    "currency",
    "rating_status",
]


@dataclass(frozen=True)
class Measured:
    """One baseline's figures: records handled in ``seconds`` (the timed part only)."""

    records: int
    records_kind: str
    seconds: float
    detail: dict[str, Any]


def _rated_files(layout: Layout, period: str) -> list[Path]:
    files = []
    for values in lake.partitions(layout, "rated_usage", {"billing_period": period}):
        path = layout.lake_store.local_path(lake.partition_key("rated_usage", values))
        if path is None:
            raise ValueError("the baselines read a lake on local disk, not in a bucket")
        files.append(path)
    if not files:
        raise ValueError(f"no rated usage of {period}: the rate stage has not run")
    return files


def priced_events(
    layout: Layout, period: str, catalog: Catalog, limit: int, whole_accounts: bool
) -> pl.DataFrame:
    """The period's priced usage records as the tariff rates them, at most ``limit``.

    ``whole_accounts``: take every record of a share of the accounts (an allowance draws
    across an account's records in order), else the first ``limit`` records. Records the
    cycle prices in aggregate are left out, as ``telcolake rating-sample`` leaves them.
    Columns: usage_id, subscriber_id, account_id, plan_id, event_date, category, subject,
    destination, start_local (naive), start_utc, units, time_based, on_net, covered, and
    what the stage billed: charge_micros, currency.
    """
    from pipelines.rating import retail
    from pipelines.rating.buckets import read_period_table

    aggregated = pl.from_arrow(
        read_period_table(
            layout, "usage_aggregate_charges", period, columns=["subscriber_id", "service"]
        )
    )
    assert isinstance(aggregated, pl.DataFrame)
    scan = (
        pl.scan_parquet(_rated_files(layout, period))
        .select(_EVENT_COLUMNS)
        .filter(pl.col("rating_status").is_in(_PRICED))
        .join(aggregated.lazy().unique(), on=["subscriber_id", "service"], how="anti")
    )
    if whole_accounts:
        total = scan.select(pl.len()).collect().item()
        if total > limit:
            kept = limit * 1_000_000 // total
            scan = scan.filter(pl.col("account_id").fill_null("").hash(0) % 1_000_000 < kept)
    else:
        scan = scan.head(limit)
    usage = scan.collect()
    local = pl.col("started_at").dt.convert_time_zone(OPERATOR_TIMEZONE).dt.replace_time_zone(None)
    units = (
        pl.when(pl.col("service") == "voice")
        .then(pl.col("duration_seconds"))
        .when(pl.col("service") == "sms")
        .then(pl.lit(1, pl.Int64))
        .otherwise(pl.col("data_volume_bytes"))
        .fill_null(0)
    )
    return usage.select(
        "usage_id",
        "subscriber_id",
        "account_id",
        "plan_id",
        "event_date",
        retail.rating_categories(usage, catalog),
        retail.rating_subjects(usage, catalog),
        pl.col("other_party_number").alias("destination"),
        local.alias("start_local"),
        pl.col("started_at").dt.convert_time_zone("UTC").alias("start_utc"),
        units.alias("units"),
        (pl.col("service") == "voice").alias("time_based"),
        (pl.col("destination_group") == DestinationGroup.ON_NET.value).alias("on_net"),
        pl.col("allowance_units").fill_null(0).alias("covered"),
        "charge_micros",
        "currency",
    ).sort("usage_id")


def reference_rating(layout: Layout, period: str, records: int = REFERENCE_RECORDS) -> Measured:
    """The reference engine, event by event, on the first ``records`` priced records."""
    from pipelines.rating import retail
    from pipelines.tariffs.model import Event
    from pipelines.tariffs.reference import rate_event

    catalog = retail.load_tariff_catalog(layout)
    sample = priced_events(layout, period, catalog, records, whole_accounts=False)
    events = [
        (
            Event(
                tenant=TENANT,
                category=row["category"] or "",
                subject=row["subject"] or "",
                destination=row["destination"] or None,
                start=row["start_local"],
                usage=row["units"],
                time_based=row["time_based"],
                on_net=row["on_net"],
                start_utc=row["start_utc"].astimezone(UTC),
            ),
            row["covered"],
        )
        for row in sample.iter_rows(named=True)
    ]
    for event, covered in events[:_WARM_UP_EVENTS]:
        rate_event(catalog, event, covered)
    started = time.perf_counter()
    ratings = [rate_event(catalog, event, covered) for event, covered in events]
    seconds = time.perf_counter() - started
    same_currency = sample["currency"].fill_null(catalog.currency) == catalog.currency
    compared = agreed = 0
    for rating, billed, comparable in zip(
        ratings, sample["charge_micros"], same_currency, strict=True
    ):
        if comparable:
            compared += 1
            agreed += rating.error is None and rating.cost_micros == billed
    return Measured(
        len(events),
        "priced usage records",
        seconds,
        {"compared_with_stage": compared, "agreeing_with_stage": agreed},
    )


def pycrate_ber(layout: Layout, period: str, records: int = PYCRATE_RECORDS) -> Measured:
    """The library decoder over the first ``records`` CDRs of the BER files of the period's
    mediation dates (the same files the mediate stage read)."""
    from pipelines.mediation import ts32298_ber
    from pipelines.mediation.records import FileContext, ParsedRecord
    from pipelines.mediation.stage import landing_partitions
    from pipelines.periods import mediation_dates

    dates = {d.isoformat() for d in mediation_dates(period)}
    feed = Feed.TS32298_BER.value
    if not any(f == feed and d.isoformat() in dates for f, d in landing_partitions(layout)):
        raise ValueError(f"no {feed} files in the landing area for {period}")
    files: list[tuple[FileContext, bytes]] = []
    held = 0
    for stored in layout.landing_store.objects(feed):
        if held >= records:
            break
        parts = stored.key.split("/")
        if len(parts) != 3 or stored.name.startswith("."):
            continue
        data = stored.read_bytes()
        # The parser ignores the context: TS 32.298 times carry their own UTC offset.
        files.append((FileContext(stored.name, parts[1], "UTC", 0), data))
        header = ts32298_ber.read_header(data)
        held += header.header.cdr_count if header is not None else 0
    context, first = files[0]
    list(itertools.islice(ts32298_ber.parse_file(first, context), _WARM_UP_EVENTS))
    parsed = rejected = 0
    started = time.perf_counter()
    for context, data in files:
        for item in itertools.islice(ts32298_ber.parse_file(data, context), records - parsed):
            parsed += 1
            rejected += not isinstance(item, ParsedRecord)
        if parsed >= records:
            break
    seconds = time.perf_counter() - started
    return Measured(
        parsed, "BER records", seconds, {"files": len(files), "rejected_records": rejected}
    )


def duckdb_sql_rating(
    layout: Layout,
    period: str,
    records: int = SQL_RECORDS,
    memory_limit: str = SQL_MEMORY_LIMIT,
) -> Measured:
    """``RATE_SQL`` over up to ``records`` priced records (whole accounts), Parquet in,
    Parquet out; the agreement with the stage's charges is counted after the timing."""
    import duckdb

    from pipelines.rating import retail

    catalog = retail.load_tariff_catalog(layout)
    scratch = layout.root / "bench_baselines"
    scratch.mkdir(parents=True, exist_ok=True)
    events = priced_events(layout, period, catalog, records, whole_accounts=True)
    events_path, rated_path = scratch / "sql_events.parquet", scratch / "sql_rated.parquet"
    events.drop("charge_micros", "currency").write_parquet(events_path)
    warm_up_path = scratch / "sql_warm_up.parquet"
    events.head(1_000).drop("charge_micros", "currency").write_parquet(warm_up_path)
    tables = catalog_tables(catalog, period)
    max_prefix = max((len(p) for p in tables["entries"]["prefix"].to_pylist() if p), default=1)
    with duckdb.connect() as connection:
        connection.execute(f"set temp_directory = '{scratch / 'duckdb_tmp'}'")
        connection.execute(f"set memory_limit = '{memory_limit}'")
        for name, table in tables.items():
            connection.register(f"{name}_arrow", table)
            connection.execute(f"create table {name} as select * from {name}_arrow")
        parameters = {"events": str(warm_up_path), "rated": str(rated_path)}
        connection.execute(RATE_SQL, {**parameters, "max_prefix": max_prefix})
        started = time.perf_counter()
        connection.execute(
            RATE_SQL, {**parameters, "events": str(events_path)} | {"max_prefix": max_prefix}
        )
        seconds = time.perf_counter() - started
        (threads,) = connection.execute("select current_setting('threads')").fetchall()
        connection.register(
            "billed", events.select("usage_id", "charge_micros", "currency").to_arrow()
        )
        compared, agreed = connection.execute(
            """
            select
                count(*),
                count(*) filter (where rated.cost_micros = billed.charge_micros),
            from billed
            inner join read_parquet($rated) as rated on rated.usage_id = billed.usage_id
            where coalesce(billed.currency, $currency) = $currency
            """,
            {"rated": str(rated_path), "currency": catalog.currency},
        ).fetchall()[0]
    return Measured(
        events.height,
        "priced usage records",
        seconds,
        {
            "threads": int(threads[0]),
            "compared_with_stage": compared,
            "agreeing_with_stage": agreed,
        },
    )


def catalog_tables(catalog: Catalog, period: str) -> dict[str, pa.Table]:
    """The catalog as the tables RATE_SQL joins: profiles, entries (each plan entry's
    destination prefixes with their rate and rules), timings, rates, allowances, holidays.

    RATE_SQL prices a rate whose slots share one price and rate unit (price lists and decks
    write them so: "60/1" is two slots of one price); ValueError for any other.
    """
    from pipelines.tariffs.reference import is_holiday

    profiles = [
        {
            "category": profile.category,
            "subject": profile.subject,
            "activation": profile.activation.astimezone(UTC).replace(tzinfo=None),
            "rating_plan_id": profile.rating_plan_id,
        }
        for profile in catalog.profiles
        if profile.tenant == TENANT
    ]
    entries = []
    for plan in catalog.rating_plans.values():
        for entry in plan.entries:
            for binding in catalog.destination_rates.get(entry.destination_rates_id, ()):
                destination = catalog.destinations.get(binding.destination_id)
                group = destination.group if destination is not None else DestinationGroup.OTHER
                on_net = group is DestinationGroup.ON_NET
                prefixes = destination.prefixes if destination is not None and not on_net else ("",)
                capped = (
                    binding.max_cost_strategy is not None
                    and binding.max_cost_strategy.value == "free"
                )
                for prefix in prefixes:
                    entries.append(
                        {
                            "rating_plan_id": plan.rating_plan_id,
                            "timing_id": entry.timing_id,
                            "weight": entry.weight,
                            "destination_id": binding.destination_id,
                            "prefix": prefix,
                            "is_on_net": on_net,
                            "is_any": binding.destination_id == ANY,
                            "destination_group": group.value,
                            "is_zero_rated": group in ZERO_RATED_GROUPS,
                            "rate_id": binding.rate_id,
                            "rounding_method": binding.rounding_method.value,
                            "rounding_step": 10 ** (6 - binding.rounding_decimals),
                            "max_cost_micros": binding.max_cost_micros if capped else 0,
                            "min_charge_micros": binding.min_charge_micros,
                            "min_usage": binding.min_usage,
                            "effective_from": binding.effective_from,
                            "effective_to": binding.effective_to,
                        }
                    )
    rates = []
    for rate in catalog.rates.values():
        first = rate.slots[0]
        if any(
            s.price_micros != first.price_micros or s.rate_unit != first.rate_unit
            for s in rate.slots
        ):
            raise ValueError(f"rate {rate.rate_id}: its slots differ in price or unit")
        starts = [s.group_interval_start for s in rate.slots]
        rates.append(
            {
                "rate_id": rate.rate_id,
                "price_micros": first.price_micros,
                "rate_unit": first.rate_unit,
                "connect_fee_micros": first.connect_fee_micros,
                "slot_starts": starts,
                "slot_ends": [*starts[1:], None],
                "increments": [s.increment for s in rate.slots],
            }
        )
    timings = [
        {
            "timing_id": timing.timing_id,
            "years": sorted(timing.years),
            "months": sorted(timing.months),
            "month_days": sorted(timing.month_days),
            "week_days": sorted(timing.week_days),
            "start_second": timing.start_second,
            "end_second": timing.end_second,
            "holidays": timing.holidays.value,
        }
        for timing in catalog.timings.values()
    ]
    allowances = [
        {
            "offer_id": offer.offer_id,
            "offer_from": offer.effective_from,
            "offer_to": offer.effective_to,
            "category": allowance.category,
            "units": allowance.units,
            "groups": sorted(g.value for g in allowance.destination_groups),
            "destinations": sorted(allowance.destinations),
            # A narrower allowance draws first, as the stage's buckets do.
            "scope_rank": 0 if allowance.destinations else 1 if allowance.destination_groups else 2,
        }
        for offer in catalog.offers
        for allowance in offer.allowances
    ]
    period_start, period_end = parse_period(period)
    days = [
        period_start + timedelta(days=n) for n in range(-1, (period_end - period_start).days + 2)
    ]
    holidays = [{"holiday_date": day} for day in days if is_holiday(catalog.holidays, day)]
    return {
        "profiles": _table(profiles, _PROFILE_TYPES),
        "entries": _table(entries, _ENTRY_TYPES),
        "rates": _table(rates, _RATE_TYPES),
        "timings": _table(timings, _TIMING_TYPES),
        "allowances": _table(allowances, _ALLOWANCE_TYPES),
        "holidays": _table(holidays, {"holiday_date": pa.date32()}),
    }


def _table(rows: list[dict[str, Any]], types: dict[str, pa.DataType]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=pa.schema(list(types.items())))


_INTS = pa.list_(pa.int64())
_TEXTS = pa.list_(pa.string())
_PROFILE_TYPES = {
    "category": pa.string(),
    "subject": pa.string(),
    "activation": pa.timestamp("us"),
    "rating_plan_id": pa.string(),
}
_ENTRY_TYPES = {
    "rating_plan_id": pa.string(),
    "timing_id": pa.string(),
    "weight": pa.int64(),
    "destination_id": pa.string(),
    "prefix": pa.string(),
    "is_on_net": pa.bool_(),
    "is_any": pa.bool_(),
    "destination_group": pa.string(),
    "is_zero_rated": pa.bool_(),
    "rate_id": pa.string(),
    "rounding_method": pa.string(),
    "rounding_step": pa.int64(),
    "max_cost_micros": pa.int64(),
    "min_charge_micros": pa.int64(),
    "min_usage": pa.int64(),
    "effective_from": pa.date32(),
    "effective_to": pa.date32(),
}
_RATE_TYPES = {
    "rate_id": pa.string(),
    "price_micros": pa.int64(),
    "rate_unit": pa.int64(),
    "connect_fee_micros": pa.int64(),
    "slot_starts": _INTS,
    "slot_ends": _INTS,
    "increments": _INTS,
}
_TIMING_TYPES = {
    "timing_id": pa.string(),
    "years": _INTS,
    "months": _INTS,
    "month_days": _INTS,
    "week_days": _INTS,
    "start_second": pa.int64(),
    "end_second": pa.int64(),
    "holidays": pa.string(),
}
_ALLOWANCE_TYPES = {
    "offer_id": pa.string(),
    "offer_from": pa.date32(),
    "offer_to": pa.date32(),
    "category": pa.string(),
    "units": pa.int64(),
    "groups": _TEXTS,
    "destinations": _TEXTS,
    "scope_rank": pa.int64(),
}

#: The catalog (``catalog_tables``) priced in SQL. Parameters: $events and $rated (Parquet
#: paths), $max_prefix (the longest prefix of the catalog).
RATE_SQL = """
copy (
    with

    events as (
        select
            *,
            cast(start_local as date) as start_date,
            extract(epoch from start_local)::bigint % 86400 as second_of_day,
            isodow(start_local) as week_day,
            month(start_local) as month,
            day(start_local) as day,
            year(start_local) as year,
        from read_parquet($events)
    ),

    own_profiles as (
        select events.usage_id, profiles.rating_plan_id,
        from events
        asof inner join profiles
            on profiles.category = events.category
            and profiles.subject = events.subject
            and events.start_utc::timestamp >= profiles.activation
    ),

    any_profiles as (
        select events.usage_id, profiles.rating_plan_id,
        from events
        asof inner join profiles
            on profiles.category = events.category
            and profiles.subject = '*any'
            and events.start_utc::timestamp >= profiles.activation
    ),

    planned as (
        select
            events.*,
            coalesce(own_profiles.rating_plan_id, any_profiles.rating_plan_id)
                as rating_plan_id,
            holidays.holiday_date is not null as is_holiday,
        from events
        left join own_profiles on own_profiles.usage_id = events.usage_id
        left join any_profiles on any_profiles.usage_id = events.usage_id
        left join holidays on holidays.holiday_date = events.start_date
    ),

    number_prefixes as (
        select
            usage_id,
            left(destination, prefix_length) as prefix,
            prefix_length,
        from (
            select
                usage_id,
                destination,
                unnest(range(1, least(length(destination), $max_prefix) + 1)) as prefix_length,
            from events
            where destination is not null and destination <> ''
        )
    ),

    candidates as (
        select planned.usage_id, entries.*, number_prefixes.prefix_length as match_length,
        from number_prefixes
        inner join planned on planned.usage_id = number_prefixes.usage_id
        inner join entries
            on entries.rating_plan_id = planned.rating_plan_id
            and entries.prefix = number_prefixes.prefix
            and not entries.is_on_net
        union all
        select planned.usage_id, entries.*, 1000 as match_length,
        from planned
        inner join entries
            on entries.rating_plan_id = planned.rating_plan_id and entries.is_on_net
        where planned.on_net
        union all
        select planned.usage_id, entries.*, 0 as match_length,
        from planned
        inner join entries
            on entries.rating_plan_id = planned.rating_plan_id and entries.is_any
    ),

    active_candidates as (
        select candidates.*, timings.start_second,
        from candidates
        inner join planned on planned.usage_id = candidates.usage_id
        inner join timings on timings.timing_id = candidates.timing_id
        where
            (len(timings.week_days) = 0 or list_contains(timings.week_days, planned.week_day))
            and (len(timings.months) = 0 or list_contains(timings.months, planned.month))
            and (len(timings.month_days) = 0 or list_contains(timings.month_days, planned.day))
            and (len(timings.years) = 0 or list_contains(timings.years, planned.year))
            and planned.second_of_day >= timings.start_second
            and planned.second_of_day < timings.end_second
            and (
                timings.holidays = 'any'
                or (timings.holidays = 'only') = planned.is_holiday
            )
            and planned.start_date >= coalesce(candidates.effective_from, planned.start_date)
            and planned.start_date <= coalesce(candidates.effective_to, planned.start_date)
    ),

    winners as (
        select
            usage_id,
            arg_max(
                {
                    'destination_id': destination_id,
                    'timing_id': timing_id,
                    'destination_group': destination_group,
                    'is_zero_rated': is_zero_rated,
                    'rate_id': rate_id,
                    'rounding_method': rounding_method,
                    'rounding_step': rounding_step,
                    'max_cost_micros': max_cost_micros,
                    'min_charge_micros': min_charge_micros,
                    'min_usage': min_usage,
                },
                {'length': match_length, 'weight': weight, 'start': start_second}
            ) as won,
        from active_candidates
        group by usage_id
    ),

    billed as (
        select
            planned.usage_id,
            planned.subscriber_id,
            planned.plan_id,
            planned.category,
            planned.start_local,
            planned.event_date,
            unnest(winners.won),
            rates.price_micros,
            rates.rate_unit,
            rates.connect_fee_micros,
            case
                when planned.units > 0 and planned.units < winners.won.min_usage
                    then winners.won.min_usage
                else planned.units
            end as usage_units,
            list_sum(list_transform(
                range(1, len(rates.slot_starts) + 1),
                lambda i: (
                    greatest(
                        least(usage_units, coalesce(rates.slot_ends[i], usage_units))
                            - rates.slot_starts[i],
                        0
                    ) + rates.increments[i] - 1
                ) // rates.increments[i] * rates.increments[i]
            ))::bigint as billed_units,
        from planned
        inner join winners on winners.usage_id = planned.usage_id
        inner join rates on rates.rate_id = winners.won.rate_id
    ),

    allowance_scopes as (
        select
            billed.usage_id,
            arg_min(allowances.scope_rank, allowances.scope_rank) as scope_rank,
            arg_min(allowances.units, allowances.scope_rank) as units,
        from billed
        inner join allowances
            on allowances.offer_id = billed.plan_id
            and allowances.category = billed.category
            and billed.event_date >= allowances.offer_from
            and (allowances.offer_to is null or billed.event_date <= allowances.offer_to)
            and (len(allowances.groups) = 0
                or list_contains(allowances.groups, billed.destination_group))
            and (len(allowances.destinations) = 0
                or list_contains(allowances.destinations, billed.destination_id))
        where not billed.is_zero_rated and billed.billed_units > 0
        group by billed.usage_id
    ),

    drawn as (
        select
            billed.*,
            coalesce(least(billed.billed_units, greatest(allowance_scopes.units - coalesce(
                sum(billed.billed_units) over (
                    partition by billed.subscriber_id, billed.category, allowance_scopes.scope_rank
                    order by billed.start_local, billed.usage_id
                    rows between unbounded preceding and 1 preceding
                ), 0), 0)), 0)::bigint as covered_units,
        from billed
        left join allowance_scopes on allowance_scopes.usage_id = billed.usage_id
    ),

    priced as (
        select
            *,
            connect_fee_micros * rate_unit
                + (billed_units - covered_units) * price_micros as cost_numerator,
        from drawn
    ),

    capped as (
        select
            *,
            greatest(
                case
                    when max_cost_micros > 0 and cost_numerator > max_cost_micros * rate_unit
                        then max_cost_micros * rate_unit
                    else cost_numerator
                end,
                min_charge_micros * rate_unit
            ) as capped_numerator,
            rate_unit * rounding_step as cost_denominator,
        from priced
    ),

    final as (
        select
            usage_id,
            destination_id,
            timing_id,
            billed_units,
            covered_units,
            case
                when is_zero_rated or billed_units - covered_units <= 0 then 0
                when rounding_method = 'up'
                    then (capped_numerator + cost_denominator - 1) // cost_denominator
                        * rounding_step
                when rounding_method = 'down'
                    then capped_numerator // cost_denominator * rounding_step
                else (2 * capped_numerator + cost_denominator) // (2 * cost_denominator)
                    * rounding_step
            end::bigint as cost_micros,
        from capped
    )

    select * from final
) to $rated (format parquet)
"""

MEASURES: dict[str, Callable[..., Measured]] = {
    "reference_rating": reference_rating,
    "duckdb_sql_rating": duckdb_sql_rating,
    "pycrate_ber": pycrate_ber,
}
