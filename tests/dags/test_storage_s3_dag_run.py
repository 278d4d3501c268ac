"""The billing DAG with the lake and the landing area in an S3 bucket (a real moto server on
loopback) bills exactly what the embedded local run bills (``billed_operator``, conftest.py):
the same marts, and the same lake partitions byte for byte but for the run's wall-clock
stamps."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from billing_dag_run import PERIOD, run_dag_test
from s3_server import S3Server

from pipelines.airflow_run import prepare_airflow
from pipelines.checksums import mart_checksums
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.storage import LocalStore


@pytest.fixture(scope="module")
def s3_billed_operator(
    s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Layout]:
    """billed_operator's generation (seed 11, 30 subscribers, 2 days), delivered to a
    bucket and billed by one DAG run whose stages read and write the bucket."""
    variables = s3_server.bucket_environment("telcolake-dag-run")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        layout = Layout(
            tmp_path_factory.mktemp("s3_operator"),
            lake_url=variables["TELCOLAKE_LAKE_URL"],
            landing_url=variables["TELCOLAKE_LANDING_URL"],
        )
        generate_operator(layout, seed=11, subscribers=30, month=PERIOD, days=2)
        prepare_airflow(layout)
        run_dag_test(layout)
        yield layout


#: Lake tables that stamp the wall clock of the run on their rows: equal but for those.
WALL_CLOCK_COLUMNS = {
    "rating_suspense": ["first_suspended_at", "last_attempt_at", "resolved_at"],
    "validation_results": ["validated_at"],
}


def _lake_files(layout: Layout) -> dict[str, bytes]:
    store = layout.lake_store
    return {stored.key: store.read(stored.key) for stored in store.objects()}


def _without_wall_clock(key: str, data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data)).drop_columns(WALL_CLOCK_COLUMNS[key.split("/")[0]])


@pytest.mark.slow
def test_the_marts_of_a_run_on_s3_equal_the_embedded_run(
    s3_billed_operator: Layout, billed_operator: Layout
) -> None:
    on_s3 = mart_checksums(s3_billed_operator)
    assert len(on_s3) > 30 and "fct_invoices" in on_s3
    assert on_s3 == mart_checksums(billed_operator)


@pytest.mark.slow
def test_the_bucket_holds_the_lake_of_the_embedded_run(
    s3_billed_operator: Layout, billed_operator: Layout
) -> None:
    in_bucket = _lake_files(s3_billed_operator)
    on_disk = _lake_files(billed_operator)
    assert {"usage", "rated_usage", "tax_lines", "invoices"} <= {k.split("/")[0] for k in on_disk}
    assert sorted(in_bucket) == sorted(on_disk)
    differing = [key for key in in_bucket if in_bucket[key] != on_disk[key]]
    assert {key.split("/")[0] for key in differing} <= set(WALL_CLOCK_COLUMNS)
    for key in differing:
        assert _without_wall_clock(key, in_bucket[key]).equals(
            _without_wall_clock(key, on_disk[key])
        ), key
    # The stages wrote nothing beside the bucket: no lake or landing under the data root
    # but the generator's staging copy of the switch files, delivered whole to the bucket.
    assert not (s3_billed_operator.root / "lake").exists()
    staged = LocalStore(s3_billed_operator.landing)
    delivered = s3_billed_operator.landing_store
    assert [(o.key, o.size) for o in delivered.objects()] == [
        (o.key, o.size) for o in staged.objects()
    ]
