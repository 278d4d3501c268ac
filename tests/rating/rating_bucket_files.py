"""The part files of a rated period, for tests that compare the bytes a rerun writes."""

from __future__ import annotations

from pathlib import Path

from pipelines import lake
from pipelines.config import Layout
from pipelines.rating.buckets import BUCKETED_TABLES, bucket_partition
from pipelines.rating.stage import planned_buckets


def period_part_files(layout: Layout, table: str, billing_period: str) -> list[Path]:
    """The part files of ``table``'s partitions of the period: one per rating bucket of its
    plan for the bucketed tables, else the period's one."""
    if table not in BUCKETED_TABLES:
        values = [{"billing_period": billing_period}]
    else:
        count = planned_buckets(layout, billing_period)
        values = [bucket_partition(billing_period, bucket) for bucket in range(count)]
    return [lake.partition_dir(layout, table, value) / lake.PART_FILE for value in values]
