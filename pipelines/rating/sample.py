"""A random sample of a period's priced usage as a ``telcolake rate-events`` input file.

Revenue assurance re-rates billed usage independently: this writes the sample with what
the pipeline billed, ``telcolake rate-events`` prices it again with the pure-Python
reference engine against the same catalog, and the two files join on ``event_id``
(docs/rating.md, "Re-rating a sample independently"). Each event carries the allowance
units the pipeline drew (``covered``) and whether it matched an on-net destination, so
the re-rating prices the same chargeable units; what differs is the arithmetic.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from pipelines import lake
from pipelines.config import OPERATOR_TIMEZONE, TENANT, Layout
from pipelines.rating import retail
from pipelines.rating.buckets import read_period_table
from pipelines.schema import RATED_USAGE_SCHEMA, RatingStatus
from pipelines.string_hashes import fnv1a64_of_strings, mix64
from pipelines.tariffs.events import EVENT_COLUMNS
from pipelines.tariffs.model import Catalog

SAMPLE_COLUMNS = (
    "event_id",
    *EVENT_COLUMNS,
    "on_net",
    "covered",
    "billed_cost_micros",
    "billed_currency",
    "catalog_version",
)
_TORS = {"voice": "*voice", "sms": "*sms", "data": "*data"}
_PRICED = [RatingStatus.RATED.value, RatingStatus.ZERO_RATED.value]


def sample_keys(usage_ids: pl.Series, seed: int) -> pl.Series:
    """Each record's place in the seeded draw: SplitMix64 of its usage_id's FNV-1a and the
    seed. Stable across machines and library versions, so a seed names one sample."""
    keys = mix64(fnv1a64_of_strings(usage_ids.to_arrow()), seed)
    return pl.Series("sample_key", keys, dtype=pl.UInt64)


def rated_sample(layout: Layout, billing_period: str, size: int, seed: int) -> pl.DataFrame:
    """Up to ``size`` priced records of the period (rated_usage rows, by usage_id): those
    with the smallest ``sample_keys``, a seeded draw without replacement.

    Read a bucket at a time and kept ``size`` at most, so memory holds one bucket whatever
    the period's volume; the draw depends on the records only, not on how they are bucketed.
    Aggregate-priced records (charge 0 here, priced per cycle) are left out: their price is
    the cycle's, not the event's.
    """
    aggregated = pl.from_arrow(
        read_period_table(
            layout, "usage_aggregate_charges", billing_period, ["subscriber_id", "service"]
        )
    )
    assert isinstance(aggregated, pl.DataFrame)
    aggregated = aggregated.unique()
    chosen = pl.from_arrow(RATED_USAGE_SCHEMA.empty_table())
    assert isinstance(chosen, pl.DataFrame)
    chosen = chosen.with_columns(pl.Series("sample_key", [], dtype=pl.UInt64))
    for values in lake.partitions(layout, "rated_usage", {"billing_period": billing_period}):
        rated = pl.from_arrow(lake.read_partitions(layout, "rated_usage", [values]))
        assert isinstance(rated, pl.DataFrame)
        priced = rated.filter(pl.col("rating_status").is_in(_PRICED)).join(
            aggregated, on=["subscriber_id", "service"], how="anti"
        )
        keyed = priced.with_columns(sample_keys(priced["usage_id"], seed))
        chosen = pl.concat([chosen, keyed]).sort("sample_key", "usage_id").head(size)
    return chosen.drop("sample_key").sort("usage_id")


def write_rated_sample(layout: Layout, billing_period: str, size: int, seed: int, out: Path) -> int:
    """Write ``rated_sample`` as a ``telcolake rate-events`` input file; returns how many
    records it holds."""
    sample = rated_sample(layout, billing_period, size, seed)
    return write_sample_events(sample, retail.load_tariff_catalog(layout), out)


def write_sample_events(sample: pl.DataFrame, catalog: Catalog, out: Path) -> int:
    """Write rated records (rated_usage rows) as ``telcolake rate-events`` events priced
    against ``catalog``, with what was billed; returns how many."""
    local = pl.col("started_at").dt.convert_time_zone(OPERATOR_TIMEZONE)
    units = (
        pl.when(pl.col("service") == "voice")
        .then(pl.col("duration_seconds").cast(pl.String) + "s")
        .when(pl.col("service") == "sms")
        .then(pl.lit("1"))
        .otherwise(pl.col("data_volume_bytes").cast(pl.String))
    )
    rows = sample.with_columns(
        retail.rating_categories(sample, catalog),
        retail.rating_subjects(sample, catalog),
    ).select(
        pl.col("usage_id").alias("event_id"),
        pl.lit(TENANT).alias("tenant"),
        "category",
        "subject",
        pl.col("other_party_number").fill_null("").alias("destination"),
        pl.col("service").replace_strict(_TORS, default="*generic").alias("tor"),
        local.dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias("answer_time"),
        units.alias("usage"),
        (pl.col("destination_group") == "on_net").cast(pl.String).alias("on_net"),
        pl.col("allowance_units").cast(pl.String).alias("covered"),
        pl.col("charge_micros").cast(pl.String).alias("billed_cost_micros"),
        pl.col("currency").alias("billed_currency"),
        "catalog_version",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=SAMPLE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows.iter_rows(named=True))
    return rows.height
