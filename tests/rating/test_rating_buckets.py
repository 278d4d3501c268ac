"""Rating split into subscriber-hash buckets (pipelines/rating/buckets.py, docs/rating.md
"Buckets and the fan-out"): the split changes how the work is divided, never what it gives.

The tiny operators of tiny_catalog.py (pools across two lines of one account, rollover
from July into August, aggregate pricing, roaming, a plan change) and tiny_rating_lake.py
(suspense, interconnect legs, recurring fees) are rated whole (one bucket) and in four
buckets, and every rated table must read back the same, row for row.
"""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from rating_bucket_files import period_part_files
from test_catalog_rating import AGGREGATE_USAGE, USAGE
from test_rating_stage import FILE_DATE
from test_rating_stage import REFERENCE as STAGE_REFERENCE
from test_rating_stage import USAGE as STAGE_USAGE
from tiny_catalog import build_operator as build_catalog_operator
from tiny_rating_lake import PERIOD, REFERENCE, SUBSCRIBER_S2, without
from tiny_rating_lake import build_operator as build_suspense_operator
from usage_lake import write_usage

from pipelines import lake
from pipelines.config import Layout
from pipelines.config import layout as make_layout
from pipelines.mediation.consolidate import consolidate_period
from pipelines.rating import buckets
from pipelines.rating.buckets import BUCKETED_TABLES, bucket_partition, read_period_table
from pipelines.rating.rerate import PeriodStateError
from pipelines.rating.stage import (
    finish_rating,
    plan_rating,
    planned_buckets,
    rate_bucket,
    rate_period,
)
from pipelines.rating.suspense import read_suspense, recycle_period

JULY, AUGUST = "2024-07", "2024-08"
#: Every table rating writes for a period; rating_suspense is compared without its clock.
RATED_TABLES = (*BUCKETED_TABLES, "recurring_charges")
SUSPENSE_CLOCK = ("first_suspended_at", "last_attempt_at", "resolved_at", "resolved_run_id")


def rated_content(layout: Layout, period: str) -> dict[str, list[dict]]:
    content = {
        table: read_period_table(layout, table, period).to_pylist() for table in RATED_TABLES
    }
    content["rating_suspense"] = [
        {k: v for k, v in row.items() if k not in SUSPENSE_CLOCK}
        for row in read_suspense(layout, period).to_dicts()
    ]
    return content


def non_empty_buckets(layout: Layout, period: str) -> set[int]:
    return {
        bucket
        for bucket in range(planned_buckets(layout, period))
        if lake.read_partition(layout, "rated_usage", bucket_partition(period, bucket)).num_rows
    }


def test_the_hash_is_the_standard_crc32():
    # CRC-32 (IEEE 802.3)'s published check value: CRC of the ASCII digits 1..9.
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert buckets.bucket_of("123456789", 4093) == 0xCBF43926 % 4093
    assert buckets.bucket_of("A1", 1) == 0


def test_every_key_is_hashed_like_its_bucket_of():
    keys = pl.Series(["A1", "A6", "13125550099", "A1", "u-without-anyone"])
    assert buckets.buckets_of(keys, 4).to_list() == [
        zlib.crc32(key.encode()) % 4 for key in keys.to_list()
    ]


def test_the_number_of_buckets_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(buckets.RATING_BUCKETS_ENV, raising=False)
    assert buckets.configured_buckets() == 4
    monkeypatch.setenv(buckets.RATING_BUCKETS_ENV, "16")
    assert buckets.configured_buckets() == 16
    for wrong in ("0", "-2", "four", "4097", ""):
        monkeypatch.setenv(buckets.RATING_BUCKETS_ENV, wrong)
        with pytest.raises(ValueError, match="TELCOLAKE_RATING_BUCKETS"):
            buckets.configured_buckets()


@pytest.mark.parametrize(
    ("usage", "periods"),
    [(USAGE, (JULY, AUGUST)), (AGGREGATE_USAGE, (JULY,))],
    ids=["catalog", "aggregate"],
)
def test_one_bucket_and_four_rate_the_same(tmp_path: Path, usage, periods):
    whole = build_catalog_operator(tmp_path / "whole", usage, periods)
    split = build_catalog_operator(tmp_path / "split", usage, periods)
    for period in periods:  # in order: August draws what July rolled over
        one = rate_period(whole, period, bucket_count=1)
        four = rate_period(split, period, bucket_count=4)
        assert (one.rating_buckets, four.rating_buckets) == (1, 4)
        assert {**vars(one), "rating_buckets": 4} == vars(four)
        assert rated_content(whole, period) == rated_content(split, period)
    # Not a vacuous split: the catalog operator's accounts spread over the buckets.
    if usage is USAGE:
        assert len(non_empty_buckets(split, JULY)) > 1


def test_an_account_pool_is_drawn_in_one_bucket(tmp_path: Path):
    layout = build_catalog_operator(tmp_path, USAGE, (JULY,))
    rate_period(layout, JULY, bucket_count=4)
    pooled = {
        row["subscriber_id"]: bucket
        for bucket in range(4)
        for row in lake.read_partition(layout, "rated_usage", bucket_partition(JULY, bucket))
        .select(["subscriber_id"])
        .to_pylist()
        if row["subscriber_id"] in ("S6", "S7")
    }
    # S6 and S7 share account A6's pool: their records must be rated together.
    assert set(pooled) == {"S6", "S7"}
    assert pooled["S6"] == pooled["S7"] == buckets.bucket_of("A6", 4)


def build_stage_operator(root: Path) -> Layout:
    """test_rating_stage.py's operator: a number with two holders, unknown numbers, legs in
    and out of suspense, plan versions and a cancelled line's fees."""
    data = make_layout(root)
    data.reference.mkdir(parents=True)
    for name, text in STAGE_REFERENCE.items():
        (data.reference / name).write_text(text)
    write_usage(
        data,
        [
            {
                **row,
                "file_date": FILE_DATE.get(row["usage_id"], row["started_at"].date()),
                "event_date": row["started_at"].astimezone(ZoneInfo("America/Chicago")).date(),
            }
            for row in STAGE_USAGE
        ],
    )
    consolidate_period(data, "asterisk_cdr_csv", JULY)
    return data


def test_suspense_legs_and_fees_are_the_same_in_any_split(tmp_path: Path):
    whole = build_stage_operator(tmp_path / "whole")
    split = build_stage_operator(tmp_path / "split")
    one = rate_period(whole, JULY, bucket_count=1)
    three = rate_period(split, JULY, bucket_count=3)
    assert one.suspense_by_reason["unknown_subscriber"] > 0
    assert one.interconnect_legs > 0 and one.interconnect_suspense_by_reason["no_carrier_for_trunk"]
    assert one.recurring_charges > 0
    assert {**vars(one), "rating_buckets": 3} == vars(three)
    assert rated_content(whole, JULY) == rated_content(split, JULY)
    assert len(non_empty_buckets(split, JULY)) > 1
    # A record no subscriber holds lands in the bucket of its served number.
    [unknown] = [
        bucket
        for bucket in range(3)
        if "u08"
        in lake.read_partition(split, "rated_usage", bucket_partition(JULY, bucket))[
            "usage_id"
        ].to_pylist()
    ]
    assert unknown == buckets.bucket_of("13125550099", 3)


def test_recycling_prices_a_record_in_the_bucket_that_holds_it(tmp_path: Path):
    unfixed = without(REFERENCE, "subscribers.csv", SUBSCRIBER_S2)
    layout = build_suspense_operator(tmp_path / "recycled", unfixed)
    rate_period(layout, PERIOD, bucket_count=4)
    held_by = buckets.bucket_of("13125550002", 4)
    (layout.reference / "subscribers.csv").write_text(REFERENCE["subscribers.csv"])
    assert recycle_period(layout, PERIOD).recycled == 1
    [u2] = [
        row
        for row in lake.read_partition(layout, "rated_usage", bucket_partition(PERIOD, held_by))
        .select(["usage_id", "rating_status", "account_id"])
        .to_pylist()
        if row["usage_id"] == "u2"
    ]
    assert (u2["rating_status"], u2["account_id"]) == ("rated", "A2")
    # The next full rating moves it to its account's bucket, still exactly once.
    fixed = build_suspense_operator(tmp_path / "fixed")
    rate_period(fixed, PERIOD, bucket_count=4)
    rate_period(layout, PERIOD, bucket_count=4)
    assert (
        read_period_table(layout, "rated_usage", PERIOD).to_pylist()
        == read_period_table(fixed, "rated_usage", PERIOD).to_pylist()
    )


def test_a_bucket_rerun_replaces_that_bucket_only(tmp_path: Path):
    layout = build_catalog_operator(tmp_path, USAGE, (JULY,))
    result = rate_period(layout, JULY, bucket_count=4)
    files = {
        (table, bucket): path
        for table in BUCKETED_TABLES
        for bucket, path in enumerate(period_part_files(layout, table, JULY))
    }
    before = {key: (path.read_bytes(), path.stat().st_mtime_ns) for key, path in files.items()}
    [rerun] = sorted(non_empty_buckets(layout, JULY))[:1]
    # A crash left the bucket's rated usage half done: here, gone.
    lake.write_partition(
        layout,
        "rated_usage",
        bucket_partition(JULY, rerun),
        lake.read_partition(layout, "rated_usage", bucket_partition(JULY, rerun)).slice(0, 0),
    )
    with pytest.raises(RuntimeError, match="exactly once"):
        finish_rating(layout, JULY, 4, [])

    rerated = rate_bucket(layout, JULY, rerun, 4)

    assert rerated.usage_records > 0
    for (table, bucket), path in files.items():
        if bucket == rerun:
            assert path.read_bytes() == before[table, bucket][0], table
        else:  # not even rewritten
            assert path.stat().st_mtime_ns == before[table, bucket][1], (table, bucket)
    assert finish_rating(layout, JULY, 4, [rerated.reference_fingerprint]) == result


def test_fewer_buckets_leave_no_stale_partitions(tmp_path: Path):
    layout = build_catalog_operator(tmp_path, USAGE, (JULY,))
    rate_period(layout, JULY, bucket_count=4)
    four = rated_content(layout, JULY)
    assert non_empty_buckets(layout, JULY) & {2, 3}

    rate_period(layout, JULY, bucket_count=2)

    assert planned_buckets(layout, JULY) == 2
    for table in BUCKETED_TABLES:
        for bucket in (2, 3):
            where = bucket_partition(JULY, bucket)
            assert not lake.partition_dir(layout, table, where).exists(), (table, bucket)
            assert lake.read_table(layout, table, where).num_rows == 0
    assert rated_content(layout, JULY) == four


def test_a_bucket_of_another_split_is_refused(tmp_path: Path):
    layout = build_catalog_operator(tmp_path, USAGE, (JULY,))
    assert plan_rating(layout, JULY, 4) == [0, 1, 2, 3]
    with pytest.raises(PeriodStateError, match="planned in 4 rating buckets, not 3"):
        rate_bucket(layout, JULY, 0, 3)
    with pytest.raises(ValueError, match=r"bucket 4 is not one of 0\.\.3"):
        rate_bucket(layout, JULY, 4, 4)
    with pytest.raises(ValueError, match="1 to 4096 buckets"):
        plan_rating(layout, JULY, 0)


def test_buckets_rated_with_other_reference_data_are_refused(tmp_path: Path):
    layout = build_suspense_operator(tmp_path)
    plan_rating(layout, PERIOD, 2)
    fingerprints = [
        rate_bucket(layout, PERIOD, bucket, 2).reference_fingerprint for bucket in (0, 1)
    ]
    # The CRM changed after the buckets were rated: their prices may no longer agree.
    (layout.reference / "subscribers.csv").write_text(
        REFERENCE["subscribers.csv"].replace("2024-01-01", "2024-01-02", 1)
    )
    with pytest.raises(RuntimeError, match="other reference data"):
        finish_rating(layout, PERIOD, 2, fingerprints)


def test_a_bucket_reads_its_planned_usage_only(tmp_path: Path):
    layout = build_catalog_operator(tmp_path / "planned", USAGE, (JULY,))
    whole = build_catalog_operator(tmp_path / "whole", USAGE, (JULY,))
    rate_period(whole, JULY, bucket_count=4)
    plan_rating(layout, JULY, 4)
    # The usage the plan read is gone: the buckets rate what the plan set aside.
    shutil.rmtree(layout.lake_table("usage"))
    fingerprints = [rate_bucket(layout, JULY, b, 4).reference_fingerprint for b in range(4)]
    for table in BUCKETED_TABLES:
        assert (
            read_period_table(layout, table, JULY).to_pylist()
            == read_period_table(whole, table, JULY).to_pylist()
        ), table
    # The completion compares with the billable usage of now: none left to bill.
    with pytest.raises(RuntimeError, match="exactly once"):
        finish_rating(layout, JULY, 4, fingerprints)


def test_a_record_whose_account_moved_since_the_plan_is_refused(tmp_path: Path):
    layout = build_suspense_operator(tmp_path)
    # S2's records are planned in A2's bucket; without S2 their key is the number's.
    assert buckets.bucket_of("A2", 4) != buckets.bucket_of("13125550002", 4)
    plan_rating(layout, PERIOD, 4)
    (layout.reference / "subscribers.csv").write_text(
        without(REFERENCE, "subscribers.csv", SUBSCRIBER_S2)["subscribers.csv"]
    )
    with pytest.raises(RuntimeError, match="belong to another bucket"):
        rate_bucket(layout, PERIOD, buckets.bucket_of("A2", 4), 4)
