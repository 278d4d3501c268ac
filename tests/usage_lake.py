"""Hand-made usage rows in the lake, each in the partition mediation would put it in.

Fixtures write usage rows straight to the lake (no landing file behind them); the
partition of each row, (feed, event_date, file_date, line_bucket), comes from the row,
its line bucket from pipelines.mediation.line_buckets like mediation's, never by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout
from pipelines.mediation.consolidate import billable_usage
from pipelines.mediation.line_buckets import LINE_BUCKETS, usage_partitions
from pipelines.schema import USAGE_SCHEMA


def write_usage(layout: Layout, rows: Iterable[Mapping[str, Any]] | pa.Table) -> None:
    """Replace the usage partitions ``rows`` (USAGE_SCHEMA columns) fall in with them."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(list(rows), USAGE_SCHEMA)
    for (feed, event_date, file_date, bucket), part in usage_partitions(table).items():
        values = {
            "feed": feed,
            "event_date": event_date,
            "file_date": file_date,
            "line_bucket": bucket,
        }
        lake.write_partition(layout, "usage", values, part)


def period_billable_usage(layout: Layout, billing_period: str) -> pl.DataFrame:
    """Every line bucket's billable usage of the period (a test's small lake)."""
    return pl.concat(
        [billable_usage(layout, billing_period, bucket) for bucket in range(LINE_BUCKETS)]
    )
