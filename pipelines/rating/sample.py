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

from pipelines.config import OPERATOR_TIMEZONE, TENANT, Layout
from pipelines.rating import retail
from pipelines.rating.buckets import read_period_table
from pipelines.schema import RatingStatus
from pipelines.tariffs.events import EVENT_COLUMNS

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


def write_rated_sample(layout: Layout, billing_period: str, size: int, seed: int, out: Path) -> int:
    """Write up to ``size`` priced records of the period (seeded draw); returns how many.

    Aggregate-priced records (charge 0 here, priced per cycle) are left out: their price is
    the cycle's, not the event's.
    """
    table = read_period_table(layout, "rated_usage", billing_period)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    catalog = retail.load_tariff_catalog(layout)
    aggregated = pl.from_arrow(read_period_table(layout, "usage_aggregate_charges", billing_period))
    assert isinstance(aggregated, pl.DataFrame)
    priced = frame.filter(
        pl.col("rating_status").is_in([RatingStatus.RATED.value, RatingStatus.ZERO_RATED.value])
    ).join(
        aggregated.select("subscriber_id", "service").unique(),
        on=["subscriber_id", "service"],
        how="anti",
    )
    sample = priced.sample(n=min(size, priced.height), seed=seed).sort("usage_id")
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
