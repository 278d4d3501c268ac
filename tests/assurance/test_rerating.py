"""The independent re-rating control on a generated operator (seed 11, 30 lines, 2 days)."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pytest
from generated_operator import mediate_period
from string_hash_reference import fnv1a64, splitmix64_finaliser

from pipelines import lake
from pipelines.assurance.rerating import check_rerating, sample_seed
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.rating.buckets import bucket_partition, read_period_table
from pipelines.rating.sample import rated_sample
from pipelines.rating.stage import planned_buckets, rate_period
from pipelines.schema import RATED_USAGE_SCHEMA

PERIOD = "2026-10"
SIZE = 60
PART = ("rerating_checks", {"billing_period": PERIOD})


@pytest.fixture(scope="module")
def rated_operator(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("rerating") / "data")
    generate_operator(layout, seed=11, subscribers=30, month=PERIOD, days=2)
    mediate_period(layout, PERIOD)
    rate_period(layout, PERIOD)
    return layout


def _checks(layout: Layout) -> list[dict]:
    table, values = PART
    return lake.read_partition(layout, table, values).to_pylist()


def _priced_records(layout: Layout) -> int:
    rated = read_period_table(layout, "rated_usage", PERIOD)
    return sum(status in ("rated", "zero_rated") for status in rated["rating_status"].to_pylist())


@pytest.mark.slow
def test_a_sample_re_rated_matches_what_was_billed(rated_operator: Layout) -> None:
    assert _priced_records(rated_operator) > SIZE  # the draw is a sample, not everything
    summary = check_rerating(rated_operator, PERIOD, size=SIZE)
    checks = _checks(rated_operator)
    assert (summary.sampled, summary.matched, summary.mismatched) == (SIZE, SIZE, 0)
    assert len(checks) == len({row["usage_id"] for row in checks}) == SIZE
    assert {row["check_status"] for row in checks} == {"match"}
    assert all(row["difference_micros"] == 0 for row in checks)
    assert (
        summary.billed_micros
        == summary.rerated_micros
        == sum(row["billed_charge_micros"] for row in checks)
    )
    # The seed is the period's, so a rerun checks the same records and rewrites the same rows.
    assert summary.sample_seed == sample_seed(PERIOD) == 202610
    check_rerating(rated_operator, PERIOD, size=SIZE)
    assert _checks(rated_operator) == checks


@pytest.mark.slow
def test_the_draw_is_the_smallest_keys_of_the_priced_records_whatever_the_buckets(
    rated_operator: Layout, tmp_path
) -> None:
    seed = sample_seed(PERIOD)
    rated = read_period_table(rated_operator, "rated_usage", PERIOD).to_pylist()
    aggregated = {
        (row["subscriber_id"], row["service"])
        for row in read_period_table(rated_operator, "usage_aggregate_charges", PERIOD).to_pylist()
    }
    priced = [
        row["usage_id"]
        for row in rated
        if row["rating_status"] in ("rated", "zero_rated")
        and (row["subscriber_id"], row["service"]) not in aggregated
    ]
    assert len(priced) > SIZE
    expected = sorted(
        priced,
        key=lambda usage_id: (splitmix64_finaliser(fnv1a64(usage_id.encode()) ^ seed), usage_id),
    )[:SIZE]
    drawn = rated_sample(rated_operator, PERIOD, SIZE, seed)
    assert drawn["usage_id"].to_list() == sorted(expected)
    assert drawn.columns == RATED_USAGE_SCHEMA.names

    rebucketed = Layout(tmp_path / "data")
    shutil.copytree(rated_operator.root, rebucketed.root)
    rate_period(rebucketed, PERIOD, bucket_count=planned_buckets(rated_operator, PERIOD) + 3)
    assert rated_sample(rebucketed, PERIOD, SIZE, seed).equals(drawn)
    assert rated_sample(rated_operator, PERIOD, SIZE, seed + 1)["usage_id"].to_list() != (
        drawn["usage_id"].to_list()
    )


@pytest.mark.slow
def test_a_corrupted_charge_is_the_one_mismatch(rated_operator: Layout, tmp_path) -> None:
    corrupted = Layout(tmp_path / "data")
    shutil.copytree(rated_operator.root, corrupted.root)
    check_rerating(corrupted, PERIOD, size=SIZE)
    # A sampled voice record the pipeline billed, overcharged by 0.37 in the lake's copy.
    victim = next(
        row
        for row in _checks(corrupted)
        if row["service"] == "voice" and row["billed_charge_micros"] > 0
    )
    for bucket in range(planned_buckets(corrupted, PERIOD)):
        values = bucket_partition(PERIOD, bucket)
        rated = lake.read_partition(corrupted, "rated_usage", values)
        charges = [
            charge + 370_000 if usage_id == victim["usage_id"] else charge
            for usage_id, charge in zip(
                rated["usage_id"].to_pylist(), rated["charge_micros"].to_pylist(), strict=True
            )
        ]
        index = rated.schema.get_field_index("charge_micros")
        rated = rated.set_column(index, "charge_micros", pa.array(charges, pa.int64()))
        lake.write_partition(corrupted, "rated_usage", values, rated)

    summary = check_rerating(corrupted, PERIOD, size=SIZE)

    mismatches = [row for row in _checks(corrupted) if row["check_status"] == "mismatch"]
    assert (summary.sampled, summary.mismatched) == (SIZE, 1)
    assert [row["usage_id"] for row in mismatches] == [victim["usage_id"]]
    (row,) = mismatches
    assert row["billed_charge_micros"] == victim["billed_charge_micros"] + 370_000
    assert row["rerated_charge_micros"] == victim["billed_charge_micros"]
    assert row["difference_micros"] == -370_000  # re-rated minus billed: we overbilled
    assert row["mismatch_reason"] == "charge_differs"
