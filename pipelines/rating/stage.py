"""The rate stage: one billing period of lake usage -> rated_usage, allowance_balances,
usage_aggregate_charges, interconnect_legs (per rating bucket) and recurring_charges.

A period is rated in three steps, so that its buckets can run as separate tasks
(docs/rating.md, Buckets and the fan-out): ``plan_rating`` splits it into buckets (a stable
hash of each record's billing key, ``pipelines.rating.buckets``), ``rate_bucket`` rates one
bucket's accounts and replaces that bucket's partitions, and ``finish_rating`` writes the
period's recurring charges, checks every usage record was rated exactly once and tracks
suspense. ``rate_period`` runs the three in one process.

Joins and time-zone arithmetic run in polars. Retail usage is priced against the tariff
catalog by ``pipelines.rating.retail`` (Numba kernels behind ``kernels.tariff_api`` and
``kernels.allowance_api``); interconnect legs with their carriers' decks by the same
kernels (``pipelines.interconnect.legs``).
docs/rating.md states the rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from kernels.tariff_api import TariffError as api_errors
from pipelines import lake
from pipelines.billing import recurring
from pipelines.billing.cycles import account_cycles
from pipelines.billing.lifecycle import load_lines as load_billing_lines
from pipelines.billing.policy import load_policy
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.interconnect.agreements import Agreements, load_agreements
from pipelines.interconnect.legs import rate_legs
from pipelines.locks import locked_partition, partition_lock
from pipelines.mediation.consolidate import billable_usage
from pipelines.mediation.line_buckets import LINE_BUCKETS
from pipelines.periods import parse_period
from pipelines.rating import aggregates, buckets, rerate, retail, suspense, tariff
from pipelines.reference import read_reference
from pipelines.schema import (
    ALLOWANCE_BALANCE_SCHEMA,
    INTERCONNECT_LEG_SCHEMA,
    RATED_USAGE_SCHEMA,
    RATING_INPUT_SCHEMA,
    RECURRING_CHARGE_SCHEMA,
    USAGE_AGGREGATE_CHARGE_SCHEMA,
    LegDirection,
    RatingStatus,
    SuspenseReason,
)
from pipelines.tariffs.model import Catalog

_USAGE_SUSPENSE = [
    SuspenseReason.UNKNOWN_SUBSCRIBER.value,
    SuspenseReason.NO_PLAN_AT_EVENT_TIME.value,
    SuspenseReason.NO_RATE_FOR_DESTINATION.value,
    SuspenseReason.NO_ROAMING_ZONE.value,
]
_LEG_SUSPENSE = [
    SuspenseReason.NO_CARRIER_FOR_TRUNK.value,
    SuspenseReason.NO_RATE_FOR_DESTINATION.value,
]


@dataclass(frozen=True)
class RatingResult:
    """What one run of ``rate_period`` wrote; money in micros."""

    billing_period: str
    usage_records: int
    status_counts: dict[str, int]
    suspense_by_reason: dict[str, int]
    usage_charge_micros: int
    recurring_charges: int
    recurring_charge_micros: int
    interconnect_legs: int
    interconnect_suspense_by_reason: dict[str, int]
    interconnect_payable_micros: int
    interconnect_receivable_micros: int
    rating_buckets: int


def _i64(frame: pl.DataFrame, column: str) -> np.ndarray:
    return np.ascontiguousarray(frame[column].to_numpy(), dtype=np.int64)


def _count_values(counter: Counter[str], values: pl.Series) -> None:
    """Add the non-null ``values`` to ``counter``, counted column-wise."""
    for value, count in values.drop_nulls().value_counts().iter_rows():
        counter[value] += count


def local_seconds() -> pl.Expr:
    """``started_at`` as operator-local wall-clock seconds since 1970-01-01T00:00."""
    local = pl.col("started_at").dt.convert_time_zone(OPERATOR_TIMEZONE).dt.replace_time_zone(None)
    return local.dt.epoch("s").alias("local_seconds")


def read_bucket_usage(layout: Layout, billing_period: str, bucket: int) -> pl.DataFrame:
    """One rating bucket of the period's billable usage, as ``plan_rating`` set it aside
    (``rating_input``, every line bucket), with local_seconds (local wall clock as seconds
    since 1970-01-01T00:00); event_date is the operator-local date mediation partitions by.
    """
    where = buckets.bucket_partition(billing_period, bucket)
    usage = pl.from_arrow(lake.read_table(layout, "rating_input", where))
    assert isinstance(usage, pl.DataFrame)
    usage = usage.with_columns(local_seconds())
    if usage["usage_id"].is_duplicated().any():
        raise ValueError(f"usage holds a usage_id twice for {billing_period}")
    return usage


def _attribute(usage: pl.DataFrame, subscribers: pl.DataFrame, plans: pl.DataFrame) -> pl.DataFrame:
    """Subscriber and plan version of each record at its local event date.

    A recycled number belongs to the subscriber who activated it last on or before the
    event date, so a row never multiplies when a number changed hands.
    """
    holders = _line_holders(subscribers)
    versions = plans.select(
        "plan_id",
        pl.col("effective_from").alias("plan_effective_from"),
        pl.col("effective_to").alias("plan_effective_to"),
        "rate_deck_id",
        "included_voice_seconds",
        "included_sms",
        "included_data_bytes",
    ).sort("plan_effective_from")
    # Both sides are sorted on the date as a whole, which sorts every by-group too; polars
    # cannot verify that itself when by-groups are given.
    return (
        _with_holders(usage, holders)
        .join_asof(
            versions,
            left_on="event_date",
            right_on="plan_effective_from",
            by="plan_id",
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(
            (
                pl.col("plan_effective_from").is_not_null()
                & (
                    pl.col("plan_effective_to").is_null()
                    | (pl.col("event_date") <= pl.col("plan_effective_to"))
                )
            ).alias("has_plan")
        )
        .sort("other_party_number", "event_date")
        .join_asof(
            holders.select(
                pl.col("served_msisdn").alias("other_party_number"),
                pl.col("activated_date").alias("peer_activated_date"),
            )
            .join(
                subscribers.select(
                    pl.col("msisdn").alias("other_party_number"),
                    pl.col("activated_date").alias("peer_activated_date"),
                    pl.col("cancelled_date").alias("peer_cancelled_date"),
                ),
                on=["other_party_number", "peer_activated_date"],
                how="left",
            )
            .sort("peer_activated_date"),
            left_on="event_date",
            right_on="peer_activated_date",
            by="other_party_number",
            strategy="backward",
            check_sortedness=False,
        )
        # On-net: the other party's number is one of ours, held by an active line that day.
        .with_columns(
            (
                pl.col("peer_activated_date").is_not_null()
                & (
                    pl.col("peer_cancelled_date").is_null()
                    | (pl.col("event_date") < pl.col("peer_cancelled_date"))
                )
            ).alias("on_net")
        )
    )


def _line_holders(subscribers: pl.DataFrame) -> pl.DataFrame:
    """Who held each number from when: the lines of ``subscribers`` with a number and an
    activation date, by activation date."""
    return (
        subscribers.filter(pl.col("msisdn").is_not_null() & pl.col("activated_date").is_not_null())
        .select(
            pl.col("msisdn").alias("served_msisdn"),
            "subscriber_id",
            "account_id",
            "plan_id",
            "activated_date",
            "currency",
        )
        .sort("activated_date")
    )


def _with_holders(usage: pl.DataFrame, holders: pl.DataFrame) -> pl.DataFrame:
    """``usage`` with the holder of its served number on its event date (``_line_holders``):
    the one who activated it last on or before that date."""
    # Both sides are sorted on the date as a whole, which sorts every by-group too; polars
    # cannot verify that itself when by-groups are given.
    return usage.sort("event_date").join_asof(
        holders,
        left_on="event_date",
        right_on="activated_date",
        by="served_msisdn",
        strategy="backward",
        check_sortedness=False,
    )


def _rating_buckets(usage: pl.DataFrame, subscribers: pl.DataFrame, count: int) -> pl.Series:
    """The rating bucket of each row of ``usage``, in its order: its billing key's
    (buckets.billing_key), with the account ``_attribute`` gives it."""
    keyed = _with_holders(
        usage.select("usage_id", "event_date", "served_msisdn"), _line_holders(subscribers)
    ).select("usage_id", buckets.billing_key())
    keyed = keyed.with_columns(buckets.buckets_of(keyed["billing_key"], count).alias("bucket"))
    in_order = usage.select("usage_id").join(
        keyed, on="usage_id", how="left", maintain_order="left"
    )
    return in_order["bucket"]


@dataclass(frozen=True)
class RatedUsage:
    """What rating a period's usage gives: one row per record, and the cycle's totals.

    balances: allowance buckets' closing balances (ALLOWANCE_BALANCE_SCHEMA);
    aggregate_charges: aggregate-priced usage per subscriber and offer version
    (USAGE_AGGREGATE_CHARGE_SCHEMA), whose records carry no charge of their own.
    """

    frame: pl.DataFrame
    balances: pl.DataFrame
    aggregate_charges: pl.DataFrame


def rate_usage(
    usage: pl.DataFrame,
    catalog: retail.RetailCatalog,
    subscribers: pl.DataFrame,
    rolled_in: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Rate attributed usage (from ``_attribute``): one rated_usage row per usage row."""
    return rate_usage_in_full(usage, catalog, subscribers, rolled_in).frame


def rate_usage_in_full(
    usage: pl.DataFrame,
    catalog: retail.RetailCatalog,
    subscribers: pl.DataFrame,
    rolled_in: pl.DataFrame | None = None,
) -> RatedUsage:
    """Rate attributed usage of one billing period (``billing_period`` column).

    ``rolled_in``: allowance units the previous cycle carried over, per bucket (see
    ``retail.draw_allowances``); None is none.
    """
    service = pl.col("service")
    not_billable = (
        (pl.col("direction") == "inbound")
        | ((service == "voice") & ~pl.col("is_answered").fill_null(False))
        # A visiting roamer's usage is its home network's to pay (docs/roaming.md).
        | retail.is_visitor(catalog)
    )
    events = (
        usage.with_columns(
            retail.rating_categories(usage, catalog.catalog),
            retail.rating_subjects(usage, catalog.catalog),
        )
        .with_columns(
            # Decided before rating: not billable, or the reason for suspense.
            pl.when(not_billable)
            .then(pl.lit(RatingStatus.NOT_BILLABLE.value))
            .when(pl.col("subscriber_id").is_null())
            .then(pl.lit(SuspenseReason.UNKNOWN_SUBSCRIBER.value))
            .when(~pl.col("has_plan"))
            .then(pl.lit(SuspenseReason.NO_PLAN_AT_EVENT_TIME.value))
            .when(pl.col("category").is_null())
            .then(pl.lit(SuspenseReason.NO_ROAMING_ZONE.value))
            .alias("decided"),
            pl.when(service == "voice")
            .then(pl.col("duration_seconds"))
            .when(service == "sms")
            .then(pl.lit(1, dtype=pl.Int64))
            .when(service == "data")
            .then(pl.col("data_volume_bytes"))
            .fill_null(0)
            .alias("units"),
            service.is_in(list(retail.TIME_BASED)).alias("time_based"),
            pl.col("started_at").dt.epoch("s").alias("start_utc_seconds"),
        )
        .with_columns(pl.col("decided").is_null().alias("rateable"))
    )
    carried = rolled_in if rolled_in is not None else pl.DataFrame(schema=retail.ROLLED_IN_SCHEMA)
    ratings = retail.rate_retail(events, catalog, subscribers, carried)
    error = pl.col("error")
    decided = pl.col("decided")
    rated = ratings.frame.with_columns(
        pl.when(decided == RatingStatus.NOT_BILLABLE.value)
        .then(pl.lit(RatingStatus.NOT_BILLABLE.value))
        .when(decided.is_not_null() | (error != 0))
        .then(pl.lit(RatingStatus.SUSPENSE.value))
        .when(pl.col("zero_rated"))
        .then(pl.lit(RatingStatus.ZERO_RATED.value))
        .otherwise(pl.lit(RatingStatus.RATED.value))
        .alias("rating_status"),
        pl.when(decided == RatingStatus.NOT_BILLABLE.value)
        .then(None)
        .when(decided.is_not_null())
        .then(decided)
        .when(error == api_errors.RATING_PLAN_NOT_FOUND)
        .then(pl.lit(SuspenseReason.NO_PLAN_AT_EVENT_TIME.value))
        .when(error != 0)
        .then(pl.lit(SuspenseReason.NO_RATE_FOR_DESTINATION.value))
        .alias("suspense_reason"),
    )
    status = pl.col("rating_status")
    priced = status.is_in([RatingStatus.RATED.value, RatingStatus.ZERO_RATED.value])
    charged = status == RatingStatus.RATED.value
    frame = rated.with_columns(
        pl.when(priced).then(pl.col("destinations_table")).alias("rate_deck_id"),
        pl.when(priced).then(pl.col("destination_prefix").fill_null("")),
        pl.when(priced).then(pl.col("destination_name")),
        pl.when(priced).then(pl.col("destination_group")),
        pl.when(priced).then(pl.col("timing_id")).alias("time_band"),
        pl.when(priced).then(pl.col("billed_usage")).otherwise(0).alias("billable_units"),
        pl.when(charged).then(pl.col("allowance_units")).otherwise(0).alias("allowance_units"),
        pl.when(charged)
        .then(pl.col("billed_usage") - pl.col("allowance_units"))
        .otherwise(0)
        .alias("chargeable_units"),
        pl.when(charged).then(pl.col("cost_micros")).otherwise(0).alias("charge_micros"),
        pl.when(priced).then(pl.col("rating_plan_id")),
        pl.when(priced).then(pl.col("rate_id")),
        pl.when(priced).then(pl.lit(catalog.catalog.version)).alias("catalog_version"),
        pl.when(priced)
        .then(
            pl.concat_str(
                pl.lit(catalog.catalog.version),
                "rating_plan_id",
                "destinations_table",
                "rate_id",
                separator="|",
            )
        )
        .alias("tariff_version"),
    ).sort("usage_id")
    periods = frame["billing_period"].unique()
    if periods.len() > 1:
        raise ValueError(f"rate one billing period at a time, got {periods.to_list()}")
    period = periods[0] if periods.len() else ""
    frame, charges = aggregates.price_aggregates(frame, catalog.catalog, period)
    # Tariffs price in the catalog's currency; accounts are billed in their own.
    frame = frame.with_columns(
        retail.to_billing_currency(frame, "charge_micros", catalog.catalog),
        pl.col("currency").fill_null(catalog.catalog.currency),
    )
    if charges.height:
        # A cycle's aggregate charge converts at the rate of the period's last day.
        _, last = parse_period(period)
        currencies = frame.select("account_id", "currency").unique("account_id")
        charges = charges.drop("currency").join(currencies, on="account_id", how="left")
        charges = charges.with_columns(pl.lit(last).alias("event_date"))
        charges = charges.with_columns(
            retail.to_billing_currency(charges, "charge_micros", catalog.catalog),
            pl.col("currency").fill_null(catalog.catalog.currency),
        ).drop("event_date")
    return RatedUsage(frame, ratings.balances, charges)


def _leg_total(legs: pl.DataFrame, direction: LegDirection) -> int:
    return int(legs.filter(pl.col("leg_direction") == direction.value)["amount_micros"].sum())


def period_recurring_charges(
    layout: Layout,
    billing_period: str,
    subscribers: pl.DataFrame,
    plans: pl.DataFrame,
    catalog: Catalog,
) -> pl.DataFrame:
    """The monthly fees of the period's bill run: plans and add-ons, in advance on each
    account's cycle and trued up by the day (``pipelines.billing.recurring``)."""
    cycles = account_cycles(layout, billing_period, load_policy(layout))
    lines = load_billing_lines(subscribers, read_reference(layout, "crm_orders.csv"))
    return recurring.recurring_charges(
        lines,
        recurring.fee_versions(plans),
        recurring.fee_versions(retail.addon_versions(catalog)),
        dict(zip(cycles["account_id"], cycles["bill_cycle_day"], strict=True)),
        billing_period,
    )


def read_rolled_in(layout: Layout, billing_period: str) -> pl.DataFrame:
    """Allowance units the previous period's buckets carry into this one (none if unrated).

    Rollover follows rating order: rate periods in order, and rate a period again after
    the one before it changed (a re-rating says which periods follow it).
    """
    first, _ = parse_period(billing_period)
    previous = (first - timedelta(days=1)).strftime("%Y-%m")
    keys = ["owner_kind", "owner_id", "service", "scope"]
    columns = [*keys, "rolled_out"]
    # A bucket at a time, only the balances that carry units over: never the previous
    # period's whole table.
    carried = [
        _carried_over(lake.read_partitions(layout, "allowance_balances", [values], columns))
        for values in lake.partitions(layout, "allowance_balances", {"billing_period": previous})
    ]
    frame = pl.from_arrow(
        pa.concat_tables([ALLOWANCE_BALANCE_SCHEMA.empty_table().select(columns), *carried])
    )
    assert isinstance(frame, pl.DataFrame)
    # In the order a rating of the whole period wrote them (buckets.read_period_table).
    return frame.sort(keys, maintain_order=True).rename({"rolled_out": "rolled_in"})


def _carried_over(balances: pa.Table) -> pa.Table:
    """The balances of ``balances`` that roll units into the next period."""
    return balances.filter(pc.greater(balances["rolled_out"], 0))


def _to_arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    return frame.select(schema.names).to_arrow().cast(schema)


def _recorded_buckets(layout: Layout, billing_period: str) -> int | None:
    period = rerate.read_period(layout, billing_period)
    return None if period is None else period["rating_buckets"]


def planned_buckets(layout: Layout, billing_period: str) -> int:
    """How many buckets the period's rated tables are split into (its last rating plan)."""
    planned = _recorded_buckets(layout, billing_period)
    if planned is None:
        raise rerate.PeriodStateError(
            f"billing period {billing_period} has not been rated: rate it first"
        )
    return int(planned)


def _refuse_unplanned(layout: Layout, billing_period: str, bucket_count: int) -> None:
    """Raise PeriodStateError unless the period was last planned in ``bucket_count``
    buckets: a bucket of another split would overlap the buckets the lake holds."""
    planned = _recorded_buckets(layout, billing_period)
    if planned != bucket_count:
        raise rerate.PeriodStateError(
            f"billing period {billing_period} is planned in {planned} rating buckets, not "
            f"{bucket_count}: rate the whole period again (telcolake rate, or the DAG run)"
        )


@locked_partition("rate", "billing_period")
def plan_rating(
    layout: Layout,
    billing_period: str,
    bucket_count: int,
    *,
    rerate_run_id: str | None = None,
) -> list[int]:
    """Split the period's rating into ``bucket_count`` buckets; return their numbers.

    When the period's rated tables were split otherwise (or never), their bucket partitions
    are removed first, so fewer buckets than before leave nothing stale behind; the split
    is then recorded in ``rating_periods`` (rating_buckets), which every bucket and the
    period's completion check. Then the period's billable usage is shuffled into
    ``rating_input`` by rating bucket (``_shuffle``), so that a bucket reads its own rows
    only. A closed period is refused unless ``rerate_run_id`` names the re-rating
    (pipelines.rating.rerate).
    """
    if not 1 <= bucket_count <= buckets.MAX_RATING_BUCKETS:
        raise ValueError(f"rate in 1 to {buckets.MAX_RATING_BUCKETS} buckets, not {bucket_count}")
    if rerate_run_id is None:
        rerate.refuse_closed_period(layout, billing_period)
    if _recorded_buckets(layout, billing_period) != bucket_count:
        # Removed before the new split is recorded: a crash in between plans again.
        for table in buckets.BUCKETED_TABLES:
            lake.replace_partitions(layout, table, {"billing_period": billing_period}, "bucket", {})
        rerate.record_buckets(layout, billing_period, bucket_count)
    _shuffle(layout, billing_period, bucket_count)
    return list(range(bucket_count))


def _shuffle(layout: Layout, billing_period: str, bucket_count: int) -> None:
    """Write the period's ``rating_input``: its billable usage by (rating bucket, line
    bucket), one line bucket read, attributed and split at a time.

    A record's rating bucket is its billing key's (buckets.billing_key: its account at
    event time, from the reference data read now). Every (bucket, line bucket) partition is
    written, empty ones too, and the buckets of a former larger split are removed, so
    the table holds this plan and nothing else.
    """
    subscribers = retail.load_lines(layout)
    # A usage_id is unique within a line bucket (checked below) and names its record's
    # line, but for a session: partials of one session key on two lines would make two
    # sessions of one usage_id, so session ids are checked across the buckets.
    session_ids = []
    for line_bucket in range(LINE_BUCKETS):
        usage = billable_usage(layout, billing_period, line_bucket)
        if usage["usage_id"].is_duplicated().any():
            raise ValueError(f"usage holds a usage_id twice for {billing_period}")
        session_ids.append(usage.filter(pl.col("usage_id").str.starts_with("session:"))["usage_id"])
        row_buckets = _rating_buckets(usage, subscribers, bucket_count)
        rows = usage.with_columns(pl.lit(billing_period).alias("billing_period"))
        for bucket in range(bucket_count):
            lake.write_partition(
                layout,
                "rating_input",
                {**buckets.bucket_partition(billing_period, bucket), "line_bucket": line_bucket},
                _to_arrow(rows.filter(row_buckets == bucket), RATING_INPUT_SCHEMA),
            )
    if pl.concat(session_ids).is_duplicated().any():
        raise ValueError(f"usage holds a usage_id twice for {billing_period}")
    for values in lake.partitions(layout, "rating_input", {"billing_period": billing_period}):
        if int(values["bucket"]) >= bucket_count:
            lake.delete_partition(layout, "rating_input", values)


@dataclass(frozen=True)
class BucketResult:
    """What one run of ``rate_bucket`` wrote; money in micros."""

    billing_period: str
    bucket: int
    rating_buckets: int
    usage_records: int
    usage_charge_micros: int
    interconnect_legs: int
    allowance_balances: int
    aggregate_charges: int
    #: SHA-256 over the reference data the bucket was rated with (suspense.py): the
    #: period's completion refuses buckets rated with different data.
    reference_fingerprint: str


@dataclass(frozen=True)
class _ReferenceInputs:
    """The reference data every bucket of a period reads."""

    subscribers: pl.DataFrame
    plans: pl.DataFrame
    catalog: retail.RetailCatalog
    agreements: Agreements
    rolled_in: pl.DataFrame
    reference: dict[str, str]


def _read_reference(layout: Layout, billing_period: str) -> _ReferenceInputs:
    reference = suspense.reference_checksums(layout)
    return _ReferenceInputs(
        subscribers=retail.load_lines(layout),
        plans=tariff.load_plans(layout),
        catalog=retail.load_retail_catalog(layout, billing_period),
        agreements=load_agreements(layout),
        rolled_in=read_rolled_in(layout, billing_period),
        reference=reference,
    )


#: The columns of a bucket's usage that interconnect rating reads: its usage rows as
#: read_bucket_usage gives them, without the attribution.
_LEG_INPUT_COLUMNS = [*RATING_INPUT_SCHEMA.names, "local_seconds"]


def _rate_bucket(
    layout: Layout,
    billing_period: str,
    bucket: int,
    bucket_count: int,
    inputs: _ReferenceInputs,
) -> BucketResult:
    """Rate the bucket's records (its ``rating_input``) and replace its four partitions."""
    usage = read_bucket_usage(layout, billing_period, bucket)
    mine = _attribute(usage, inputs.subscribers, inputs.plans)
    # Attributed again with the reference data read now: a record whose billing key moved
    # to another bucket since the plan would be rated apart from its account's records.
    planned = buckets.buckets_of(mine.select(buckets.billing_key())["billing_key"], bucket_count)
    if (planned != bucket).any():
        raise RuntimeError(
            f"records of {billing_period} bucket {bucket} belong to another bucket with the "
            "current reference data: rate the whole period again"
        )
    outcome = rate_usage_in_full(mine, inputs.catalog, inputs.subscribers, inputs.rolled_in)
    rated = outcome.frame
    # Every usage row of the bucket exactly once (usage_ids are unique, rated is sorted).
    if not rated["usage_id"].equals(mine["usage_id"].sort()):
        raise RuntimeError(
            f"rating lost or duplicated usage records of {billing_period} bucket {bucket}"
        )
    legs = rate_legs(usage.select(_LEG_INPUT_COLUMNS), inputs.agreements)
    balances = outcome.balances.sort("owner_kind", "owner_id", "service", "scope")

    partition = buckets.bucket_partition(billing_period, bucket)
    lake.write_partition(layout, "rated_usage", partition, _to_arrow(rated, RATED_USAGE_SCHEMA))
    lake.write_partition(
        layout, "interconnect_legs", partition, _to_arrow(legs, INTERCONNECT_LEG_SCHEMA)
    )
    lake.write_partition(
        layout, "allowance_balances", partition, _to_arrow(balances, ALLOWANCE_BALANCE_SCHEMA)
    )
    lake.write_partition(
        layout,
        "usage_aggregate_charges",
        partition,
        _to_arrow(outcome.aggregate_charges, USAGE_AGGREGATE_CHARGE_SCHEMA),
    )
    return BucketResult(
        billing_period=billing_period,
        bucket=bucket,
        rating_buckets=bucket_count,
        usage_records=rated.height,
        usage_charge_micros=int(rated["charge_micros"].sum()),
        interconnect_legs=legs.height,
        allowance_balances=balances.height,
        aggregate_charges=outcome.aggregate_charges.height,
        reference_fingerprint=suspense.reference_fingerprint(inputs.reference),
    )


@locked_partition("rate_bucket", "billing_period", "bucket")
def rate_bucket(
    layout: Layout,
    billing_period: str,
    bucket: int,
    bucket_count: int,
    *,
    rerate_run_id: str | None = None,
) -> BucketResult:
    """Rate one bucket of a planned period (``plan_rating``) and replace its partitions of
    rated_usage, interconnect_legs, allowance_balances and usage_aggregate_charges.

    Reads the bucket's own usage (``rating_input``) and the reference data, and rates the
    bucket's accounts alone: the same rows, charges and balances a rating of the whole
    period gives them. Rerunning on the same lake and reference data writes byte-identical
    partitions and touches no other bucket.
    """
    if rerate_run_id is None:
        rerate.refuse_closed_period(layout, billing_period)
    _refuse_unplanned(layout, billing_period, bucket_count)
    if not 0 <= bucket < bucket_count:
        raise ValueError(f"bucket {bucket} is not one of 0..{bucket_count - 1}")
    inputs = _read_reference(layout, billing_period)
    return _rate_bucket(layout, billing_period, bucket, bucket_count, inputs)


#: The rated_usage columns the period's completion reads: suspense rows and the summary.
_COMPLETION_COLUMNS = sorted({*suspense.RECORD_COLUMNS, "rating_status", "charge_micros"})


@locked_partition("rate", "billing_period")
def finish_rating(
    layout: Layout,
    billing_period: str,
    bucket_count: int,
    bucket_fingerprints: Iterable[str],
    *,
    rerate_run_id: str | None = None,
) -> RatingResult:
    """Complete the rating of a period whose buckets are rated: write its recurring
    charges, check every usage record is rated exactly once across the buckets, note the
    reference data read (rating_periods) and bring ``rating_suspense`` up to date.

    ``bucket_fingerprints``: each bucket's ``reference_fingerprint``; they must all be the
    reference data's current one, or the buckets priced with different data and the period
    is rated again instead. Reads a bucket, then a line bucket, at a time.
    """
    if rerate_run_id is None:
        rerate.refuse_closed_period(layout, billing_period)
    _refuse_unplanned(layout, billing_period, bucket_count)
    reference = suspense.reference_checksums(layout)
    stale = set(bucket_fingerprints) - {suspense.reference_fingerprint(reference)}
    if stale:
        raise RuntimeError(
            f"buckets of {billing_period} were rated with other reference data than the "
            "current: rate the whole period again"
        )
    subscribers = retail.load_lines(layout)
    recurring = period_recurring_charges(
        layout,
        billing_period,
        subscribers,
        tariff.load_plans(layout),
        retail.load_tariff_catalog(layout),
    )
    if not _rated_exactly_once(layout, billing_period, bucket_count):
        raise RuntimeError(
            f"the rating buckets of {billing_period} do not hold each usage record exactly "
            "once (usage or reference data changed since some were rated): rate the whole "
            "period again"
        )
    suspended = set(suspense.read_suspense(layout, billing_period)["usage_id"].to_list())
    summary = _BucketSummary()
    for bucket in range(bucket_count):
        where = buckets.bucket_partition(billing_period, bucket)
        rated = _frame(lake.read_partition(layout, "rated_usage", where, _COMPLETION_COLUMNS))
        legs = _frame(lake.read_partition(layout, "interconnect_legs", where, _LEG_COLUMNS))
        summary.add(rated, legs, suspended)
    lake.write_partition(
        layout,
        "recurring_charges",
        {"billing_period": billing_period},
        _to_arrow(recurring, RECURRING_CHARGE_SCHEMA),
    )
    rerate.record_rating(layout, billing_period, reference)
    # Only the rows suspense tracking reads: the suspended, and those it tracks already.
    suspense.track_suspense(layout, billing_period, summary.tracked(), reference, rerate_run_id)
    return RatingResult(
        billing_period=billing_period,
        usage_records=summary.records,
        status_counts={s.value: summary.statuses[s.value] for s in RatingStatus},
        suspense_by_reason={r: summary.suspense[r] for r in _USAGE_SUSPENSE},
        usage_charge_micros=summary.charge_micros,
        recurring_charges=recurring.height,
        recurring_charge_micros=int(recurring["charge_micros"].sum()),
        interconnect_legs=summary.legs,
        interconnect_suspense_by_reason={r: summary.leg_suspense[r] for r in _LEG_SUSPENSE},
        interconnect_payable_micros=summary.payable_micros,
        interconnect_receivable_micros=summary.receivable_micros,
        rating_buckets=bucket_count,
    )


#: The interconnect_legs columns the period's completion sums.
_LEG_COLUMNS = ["leg_direction", "amount_micros", "suspense_reason"]


class _BucketSummary:
    """The period's totals, added up a bucket at a time, and the rated rows suspense
    tracking reads."""

    def __init__(self) -> None:
        self.records = 0
        self.charge_micros = 0
        self.statuses: Counter[str] = Counter()
        self.suspense: Counter[str] = Counter()
        self.legs = 0
        self.leg_suspense: Counter[str] = Counter()
        self.payable_micros = 0
        self.receivable_micros = 0
        self._tracked: list[pl.DataFrame] = []

    def add(self, rated: pl.DataFrame, legs: pl.DataFrame, suspended: set[str]) -> None:
        """Add one bucket's rated usage (_COMPLETION_COLUMNS) and legs (_LEG_COLUMNS);
        ``suspended``: the period's records in rating_suspense."""
        self.records += rated.height
        self.charge_micros += int(rated["charge_micros"].sum())
        _count_values(self.statuses, rated["rating_status"])
        _count_values(self.suspense, rated["suspense_reason"])
        self.legs += legs.height
        _count_values(self.leg_suspense, legs["suspense_reason"])
        self.payable_micros += _leg_total(legs, LegDirection.OUTBOUND)
        self.receivable_micros += _leg_total(legs, LegDirection.INBOUND)
        self._tracked.append(
            rated.filter(
                (pl.col("rating_status") == RatingStatus.SUSPENSE.value)
                | pl.col("usage_id").is_in(pl.Series(sorted(suspended), dtype=pl.String))
            )
        )

    def tracked(self) -> pl.DataFrame:
        """The suspended rows and the rows of records rating_suspense holds, in bucket
        order."""
        return pl.concat(self._tracked)


def _rated_exactly_once(layout: Layout, billing_period: str, bucket_count: int) -> bool:
    """Whether the rated buckets hold each billable usage record exactly once.

    Two exact comparisons of sorted usage_ids, each over one partition set at a time:
    each bucket's rated_usage against its rating_input (every line bucket), and each line
    bucket's current billable usage against its rating_input (every bucket). Together:
    rated = rating_input = billable usage, record for record.
    """
    period = {"billing_period": billing_period}
    for bucket in range(bucket_count):
        where = buckets.bucket_partition(billing_period, bucket)
        rated = lake.read_partition(layout, "rated_usage", where, ["usage_id"])
        planned = lake.read_table(layout, "rating_input", where, ["usage_id"])
        if not _same_ids(rated, planned):
            return False
    for line_bucket in range(LINE_BUCKETS):
        where = {**period, "line_bucket": line_bucket}
        planned = lake.read_table(layout, "rating_input", where, ["usage_id"])
        billable = billable_usage(layout, billing_period, line_bucket, ["usage_id"])
        if not _same_ids(billable.to_arrow(), planned):
            return False
    return True


def _same_ids(left: pa.Table, right: pa.Table) -> bool:
    return bool(_frame(left)["usage_id"].sort().equals(_frame(right)["usage_id"].sort()))


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


@locked_partition("rate", "billing_period")
def rate_period(
    layout: Layout,
    billing_period: str,
    *,
    rerate_run_id: str | None = None,
    bucket_count: int | None = None,
) -> RatingResult:
    """Rate one billing period in this process: plan its buckets, rate each, complete it.

    ``bucket_count`` defaults to ``buckets.configured_buckets()`` (TELCOLAKE_RATING_BUCKETS);
    it changes how the work is split, not what is written. The reference data is read once
    for all buckets, and one bucket's usage at a time. Rerunning on the same lake and
    reference data writes byte-identical partitions. A closed period is refused unless
    ``rerate_run_id`` names the re-rating that kept its current version
    (pipelines.rating.rerate). Suspended records are tracked in ``rating_suspense``
    (pipelines.rating.suspense).
    """
    count = buckets.configured_buckets() if bucket_count is None else bucket_count
    planned = plan_rating(layout, billing_period, count, rerate_run_id=rerate_run_id)
    inputs = _read_reference(layout, billing_period)
    rated = []
    for bucket in planned:
        # The lock rate_bucket takes: a bucket task of the DAG never runs beside this.
        with partition_lock(
            layout, "rate_bucket", f"billing_period={billing_period}/bucket={bucket}"
        ):
            rated.append(_rate_bucket(layout, billing_period, bucket, count, inputs))
    return finish_rating(
        layout,
        billing_period,
        count,
        [result.reference_fingerprint for result in rated],
        rerate_run_id=rerate_run_id,
    )
