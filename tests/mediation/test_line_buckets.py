"""Line buckets by zlib's CRC-32 of the served line; the spill that sets rows aside per bucket."""

from __future__ import annotations

import zlib
from datetime import date
from pathlib import Path

import pyarrow as pa

from pipelines.mediation.line_buckets import (
    LINE_BUCKETS,
    line_bucket_of,
    line_buckets,
    split_by_line_bucket,
    usage_partitions,
)
from pipelines.mediation.line_spill import LineBucketSpill
from pipelines.schema import USAGE_SCHEMA


def test_a_record_is_bucketed_by_its_msisdn_else_imsi_else_record_key() -> None:
    records = pa.table(
        {
            "served_msisdn": ["13125550123", None, None],
            "served_imsi": ["310150123456789", "310150123456789", None],
            "record_key": ["k1", "k2", "k3"],
        }
    )
    assert line_buckets(records).tolist() == [
        zlib.crc32(b"13125550123") % LINE_BUCKETS,
        zlib.crc32(b"310150123456789") % LINE_BUCKETS,
        zlib.crc32(b"k3") % LINE_BUCKETS,
    ]
    assert line_bucket_of("k3") == zlib.crc32(b"k3") % LINE_BUCKETS


def line_rows(count: int) -> pa.Table:
    return pa.table(
        {
            "served_msisdn": [f"1312555{n % 37:04d}" for n in range(count)],
            "served_imsi": pa.nulls(count, pa.string()),
            "record_key": [f"k{n}" for n in range(count)],
            "position": list(range(count)),
        }
    )


def test_a_split_keeps_each_buckets_rows_in_order_and_loses_none() -> None:
    rows = line_rows(500)
    parts = split_by_line_bucket(rows)
    assert sum(part.num_rows for part in parts.values()) == rows.num_rows
    for bucket, part in parts.items():
        positions = part["position"].to_pylist()
        assert positions == sorted(positions)
        lines = set(part["served_msisdn"].to_pylist())
        assert {zlib.crc32(line.encode()) % LINE_BUCKETS for line in lines} == {bucket}


def test_usage_partitions_place_each_row_by_feed_dates_and_line() -> None:
    day, next_day = date(2026, 10, 14), date(2026, 10, 15)
    base = dict.fromkeys(USAGE_SCHEMA.names)
    rows = [
        {**base, "feed": "f", "event_date": day, "file_date": day, "served_msisdn": "a"},
        {**base, "feed": "f", "event_date": day, "file_date": next_day, "served_msisdn": "a"},
        {**base, "feed": "f", "event_date": day, "file_date": day, "served_msisdn": "b"},
    ]
    parts = usage_partitions(pa.Table.from_pylist(rows, USAGE_SCHEMA))
    a, b = zlib.crc32(b"a") % LINE_BUCKETS, zlib.crc32(b"b") % LINE_BUCKETS
    assert {key: part.num_rows for key, part in parts.items()} == {
        ("f", "2026-10-14", "2026-10-14", a): 1,
        ("f", "2026-10-14", "2026-10-15", a): 1,
        ("f", "2026-10-14", "2026-10-14", b): 1,
    }


def test_the_spill_gives_back_each_bucket_in_append_order(tmp_path: Path) -> None:
    rows = line_rows(300)
    scratch = tmp_path / "spill"
    scratch.mkdir()
    (scratch / "left-by-a-killed-run.arrow").write_bytes(b"junk")
    with LineBucketSpill(scratch, rows.schema) as spill:
        assert not (scratch / "left-by-a-killed-run.arrow").exists()
        for start in range(0, 300, 70):  # chunks that cut across buckets
            spill.append(rows.slice(start, 70))
        spill.close()
        expected = split_by_line_bucket(rows)
        for bucket in range(LINE_BUCKETS):
            got = spill.read(bucket)
            assert spill.rows(bucket) == got.num_rows
            assert got.equals(expected.get(bucket, rows.schema.empty_table()))
        assert spill.read(3, ["position"]).column_names == ["position"]
    assert not scratch.exists()
