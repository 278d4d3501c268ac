"""The rating benchmark's building blocks at N=2,000 (scripts/bench_rating.py; no timing).

Its DuckDB SQL baseline must price the tariff as the engine does, or the ratio between them
compares different work: the two must agree on every event whose subscriber makes no call
across a band change or midnight (the SQL does not split those, the engine does), and the
reference must agree with both on one subscriber's month.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import bench_rating as bench

from pipelines.tariffs.compile import compile_catalog

SEED = 4
RECORDS = 2_000


@pytest.fixture(scope="module")
def rated(tmp_path_factory):
    """(events, SQL ratings, engine ratings), each sorted by event_id."""
    work = tmp_path_factory.mktemp("bench-rating")
    catalog, numbers = bench.build_catalog(SEED)
    events = bench.generate_events(RECORDS, SEED, numbers)
    path = work / "events.parquet"
    pq.write_table(events, path)
    bench.rate_sql(duckdb.connect(), path, work / "sql.parquet", catalog)
    compiled = compile_catalog(catalog)
    batches = bench.read_batches(path, compiled, catalog)
    engine = pa.concat_tables(
        bench.rated_table(compiled, batch, result)
        for batch, result in zip(
            batches, bench.rate_with_allowances(compiled, batches), strict=True
        )
    )
    return (
        events.sort_by("event_id"),
        pq.read_table(work / "sql.parquet").sort_by("event_id"),
        engine.sort_by("event_id"),
        catalog,
    )


def test_sql_and_engine_agree_where_both_apply(rated):
    events, sql, engine, _ = rated
    assert sql.num_rows == engine.num_rows == RECORDS
    comparable = bench.split_free_subscribers(events, engine["billed_units"].to_numpy())
    assert comparable.sum() > RECORDS // 2
    # Allowances are drawn: otherwise the comparison would not cover them.
    assert pa.compute.sum(sql.filter(comparable)["covered_units"]).as_py() > 0
    for column in ("cost_micros", "billed_units", "covered_units"):
        assert sql.filter(comparable)[column].to_pylist() == (
            engine.filter(comparable)[column].to_pylist()
        ), column


def test_reference_agrees_on_one_subscriber(rated):
    events, sql, engine, catalog = rated
    comparable = bench.split_free_subscribers(events, engine["billed_units"].to_numpy())
    # A "basic" subscriber (ids 1, 6, 11, ...): its 60 minutes run out within the month.
    subscriber = next(
        s for s in events.filter(comparable)["subscriber_id"].to_pylist() if s % 5 == 1
    )
    mine = pa.compute.equal(events["subscriber_id"], subscriber)
    month = events.filter(mine).sort_by(
        [("started_at_local", "ascending"), ("event_id", "ascending")]
    )
    costs = bench.rate_reference(
        catalog, bench.as_events(month), month["subscriber_id"].to_pylist()
    )
    expected = dict(zip(month["event_id"].to_pylist(), costs, strict=True))
    assert len(expected) > 5
    for table in (sql, engine):
        got = table.filter(mine)
        assert pa.compute.sum(got["covered_units"]).as_py() == bench.PLANS["basic"]
        pairs = zip(got["event_id"].to_pylist(), got["cost_micros"].to_pylist(), strict=True)
        assert dict(pairs) == expected
