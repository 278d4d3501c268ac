"""The number of rating buckets changes no mart: a generated operator (seed 11, 30 lines,
2 days) rated in four buckets, then in one, through every period stage the DAG runs after
rating and the dbt build, gives the same content checksum for every mart."""

from __future__ import annotations

import pytest
from generated_operator import mediate_period

from pipelines import lake
from pipelines.assurance.rerating import check_rerating
from pipelines.build import build_warehouse
from pipelines.checksums import mart_checksums
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.interconnect.reconcile import reconcile_period
from pipelines.rating.buckets import BUCKETED_TABLES, bucket_partition, read_period_table
from pipelines.rating.stage import rate_period
from pipelines.roaming.stage import roaming_period
from pipelines.taxes.stage import tax_period

PERIOD = "2026-10"


def bill(layout: Layout, bucket_count: int) -> dict[str, str]:
    """Rate in ``bucket_count`` buckets, run the period stages after rating and build."""
    rate_period(layout, PERIOD, bucket_count=bucket_count)
    tax_period(layout, PERIOD)
    reconcile_period(layout, PERIOD)
    roaming_period(layout, PERIOD)
    check_rerating(layout, PERIOD)
    build_warehouse(layout)
    return mart_checksums(layout)


@pytest.mark.slow
def test_one_bucket_and_four_build_the_same_marts(tmp_path):
    layout = Layout(tmp_path / "data")
    generate_operator(layout, seed=11, subscribers=30, month=PERIOD, days=2)
    mediate_period(layout, PERIOD)

    four = bill(layout, 4)
    rated = {table: read_period_table(layout, table, PERIOD) for table in BUCKETED_TABLES}
    spread = [
        lake.read_partition(layout, "rated_usage", bucket_partition(PERIOD, bucket)).num_rows
        for bucket in range(4)
    ]
    one = bill(layout, 1)

    assert sum(1 for rows in spread if rows) > 1  # the four buckets did split the work
    assert {"fct_invoices", "fct_invoice_lines", "fct_rated_usage"} <= set(four)
    assert one == four
    for table, rows in rated.items():
        assert read_period_table(layout, table, PERIOD).equals(rows), table
        stale = lake.read_table(layout, table, bucket_partition(PERIOD, 3))
        assert stale.num_rows == 0, table
