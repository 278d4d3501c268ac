"""Rating buckets: a billing period's usage split by a stable hash of its billing key.

Allowances draw down per account across the month (a pool spans the account's lines), so
an account's records must be rated together and in order; different accounts never
interact. A bucket is therefore a set of accounts: the record's billing key (its account,
else, for a record no subscriber holds, its served number, else its usage id) hashed with
CRC-32 (zlib's, the IEEE 802.3 polynomial: the same on every platform, library version and
process, unlike Python's ``hash`` or polars' ``hash``) modulo the number of buckets.

The rated tables that follow usage (BUCKETED_TABLES) are partitioned
(billing_period, bucket); a period's row order is restored on reading by each table's
order key, so the number of buckets changes how the work is split, never what it gives.
docs/rating.md (Buckets and the fan-out) states the rules.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout

#: Environment variable naming how many buckets a period's rating is split into.
RATING_BUCKETS_ENV = "TELCOLAKE_RATING_BUCKETS"
DEFAULT_RATING_BUCKETS = 4
#: More buckets than this is a typo, not a deployment: each is a task and four partitions.
MAX_RATING_BUCKETS = 4096

#: The rated tables partitioned per bucket, each with the columns that order a period's
#: rows as one rating of the whole period wrote them (unique per row).
BUCKETED_TABLES: dict[str, tuple[str, ...]] = {
    "rated_usage": ("usage_id",),
    "interconnect_legs": ("usage_id", "leg_direction"),
    "allowance_balances": ("owner_kind", "owner_id", "service", "scope"),
    "usage_aggregate_charges": ("subscriber_id", "plan_id", "offer_effective_from", "service"),
}


def configured_buckets() -> int:
    """The number of rating buckets: TELCOLAKE_RATING_BUCKETS, default 4."""
    value = os.environ.get(RATING_BUCKETS_ENV)
    if value is None:
        return DEFAULT_RATING_BUCKETS
    if not value.isdigit() or not 1 <= int(value) <= MAX_RATING_BUCKETS:
        raise ValueError(
            f"{RATING_BUCKETS_ENV} must be a whole number from 1 to {MAX_RATING_BUCKETS}, "
            f"got {value!r}"
        )
    return int(value)


def bucket_of(key: str, buckets: int) -> int:
    """The bucket of one billing key: CRC-32 of its UTF-8 bytes modulo ``buckets``."""
    return zlib.crc32(key.encode()) % buckets


def billing_key() -> pl.Expr:
    """What a usage record is bucketed by: its account, else its served number, else its
    usage id (a record no subscriber holds still lands in one fixed bucket)."""
    return pl.coalesce("account_id", "served_msisdn", "usage_id").alias("billing_key")


def buckets_of(keys: pl.Series, buckets: int) -> pl.Series:
    """The bucket of each key (``bucket_of``), hashing each distinct key once."""
    distinct = keys.unique()
    table = pl.DataFrame(
        {
            "key": distinct,
            "bucket": pl.Series([bucket_of(k, buckets) for k in distinct], dtype=pl.Int32),
        },
        schema={"key": keys.dtype, "bucket": pl.Int32},
    )
    return keys.to_frame("key").join(table, on="key", how="left", maintain_order="left")["bucket"]


def bucket_partition(billing_period: str, bucket: int) -> dict[str, object]:
    """The partition values of one bucket of a period's bucketed tables."""
    return {"billing_period": billing_period, "bucket": bucket}


def read_period_table(
    layout: Layout, table: str, billing_period: str, columns: Sequence[str] | None = None
) -> pa.Table:
    """A period's rows of a lake table partitioned by billing_period (or only ``columns``).

    For a bucketed table (BUCKETED_TABLES), every bucket, in the table's order: what one
    rating of the whole period writes. Other tables are one partition per period.
    """
    if table not in BUCKETED_TABLES:
        return lake.read_partition(layout, table, {"billing_period": billing_period}, columns)
    order_keys = list(BUCKETED_TABLES[table])
    # Only the columns asked for and the order's: a period of rated usage is wide and long.
    read = None if columns is None else list(dict.fromkeys([*columns, *order_keys]))
    rows = lake.read_table(layout, table, {"billing_period": billing_period}, read)
    keys = pl.from_arrow(rows.select(order_keys))
    assert isinstance(keys, pl.DataFrame)
    # Sorted as polars sorts (nulls first), the way rating sorts the rows it writes.
    order = keys.with_row_index("row").sort(keys.columns, maintain_order=True)["row"]
    rows = rows.take(order.to_arrow())
    return rows if columns is None else rows.select(list(columns))
