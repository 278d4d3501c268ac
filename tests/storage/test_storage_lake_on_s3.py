"""The lake and the landing area in an S3 bucket (a real moto server on loopback) give what
the local directories give: the same partitions, byte for byte, and the same answers."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from datetime import date
from pathlib import Path

import duckdb
import fsspec
import pytest

from pipelines import lake
from pipelines.config import Layout, layout
from pipelines.mediation.consolidate import consolidate_period
from pipelines.mediation.quarantine import export_rejects
from pipelines.mediation.stage import (
    MediationError,
    landing_partitions,
    mediate_partition,
    quarantine_unplaceable_files,
)
from pipelines.schema import USAGE_SCHEMA
from pipelines.storage import LocalStore, S3Store, StorageError, mirror_directory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mediation"
FEED = "asterisk_cdr_csv"
DAY = date(2024, 11, 3)
PERIOD = "2024-11"


def _local_operator(root: Path) -> Layout:
    shutil.copytree(FIXTURES / "reference", root / "reference")
    shutil.copytree(FIXTURES / "landing", root / "landing")
    return Layout(root)


def _s3_operator(root: Path, bucket: str) -> Layout:
    """The fixture operator with its landing files delivered to the bucket; reference data
    stays under the data root."""
    shutil.copytree(FIXTURES / "reference", root / "reference")
    data = Layout(root, lake_url=f"s3://{bucket}/lake", landing_url=f"s3://{bucket}/landing")
    mirror_directory(FIXTURES / "landing", data.landing_store)
    return data


def _lake_bytes(data: Layout) -> dict[str, bytes]:
    store = data.lake_store
    return {stored.key: store.read(stored.key) for stored in store.objects()}


def _mediate_everything(data: Layout) -> list[dict[str, object]]:
    results = [asdict(mediate_partition(data, feed, day)) for feed, day in landing_partitions(data)]
    consolidate_period(data, FEED, PERIOD)
    return results


def test_mediation_on_s3_writes_the_local_partitions_byte_for_byte(
    tmp_path: Path, s3_bucket: str
) -> None:
    local = _local_operator(tmp_path / "local")
    remote = _s3_operator(tmp_path / "remote", s3_bucket)
    days = [(FEED, DAY), (FEED, date(2024, 11, 4))]
    assert landing_partitions(remote) == landing_partitions(local) == days

    on_disk, in_bucket = _mediate_everything(local), _mediate_everything(remote)

    assert in_bucket == on_disk
    # tests/fixtures/mediation/README.md: 30 records in = 13 accepted + 8 rejected + 9
    # duplicates on 2024-11-03, with one duplicate file (found by size, then checksum).
    first = in_bucket[0]
    assert (first["records_in"], first["accepted"], first["rejected"], first["duplicates"]) == (
        30,
        13,
        8,
        9,
    )
    assert first["duplicate_files"] == 1
    written = _lake_bytes(remote)
    assert written == _lake_bytes(local)
    assert {key.split("/")[0] for key in written} >= {
        "usage",
        "rejects",
        "file_registry",
        "sessions",
        "usage_repeats",
    }
    # Everything went to the bucket: nothing was written under the data root's lake.
    assert not (remote.root / "lake").exists() and not (remote.root / "landing").exists()


def test_a_rerun_on_s3_rewrites_the_same_bytes_and_changes_nothing(
    tmp_path: Path, s3_bucket: str
) -> None:
    data = _s3_operator(tmp_path, s3_bucket)
    first = mediate_partition(data, FEED, DAY)
    before = _lake_bytes(data)
    again = mediate_partition(data, FEED, DAY)
    assert first.changed_event_dates and again.changed_event_dates == []
    assert _lake_bytes(data) == before


def test_replace_partitions_removes_stale_partitions_in_the_bucket(
    tmp_path: Path, s3_bucket: str
) -> None:
    data = Layout(tmp_path, lake_url=f"s3://{s3_bucket}/lake")
    fixed = {"feed": FEED, "file_date": "2024-11-03"}
    empty = USAGE_SCHEMA.empty_table()
    parts = [
        ({"event_date": "2024-11-02", "line_bucket": 3}, empty),
        ({"event_date": "2024-11-03", "line_bucket": 3}, empty),
        ({"event_date": "2024-11-03", "line_bucket": 12}, empty),
    ]
    assert lake.replace_partition_set(data, "usage", fixed, parts) == [
        {"event_date": "2024-11-02", "line_bucket": "3"},
        {"event_date": "2024-11-03", "line_bucket": "12"},
        {"event_date": "2024-11-03", "line_bucket": "3"},
    ]
    assert lake.replace_partition_set(data, "usage", fixed, parts[2:]) == [
        {"event_date": "2024-11-02", "line_bucket": "3"},
        {"event_date": "2024-11-03", "line_bucket": "3"},
    ]
    assert lake.partitions(data, "usage") == [
        {"feed": FEED, "event_date": "2024-11-03", **fixed, "line_bucket": "12"}
    ]
    gone = {**fixed, "event_date": "2024-11-02", "line_bucket": 3}
    assert not lake.partition_exists(data, "usage", gone)


def test_lake_reads_from_the_bucket_equal_the_local_reads(tmp_path: Path, s3_bucket: str) -> None:
    local = _local_operator(tmp_path / "local")
    remote = _s3_operator(tmp_path / "remote", s3_bucket)
    for data in (local, remote):
        _mediate_everything(data)
    for table in ("usage", "rejects", "file_registry", "sessions"):
        assert lake.read_table(remote, table).equals(lake.read_table(local, table))
    partition = {"feed": FEED, "file_date": "2024-11-03"}
    columns = ["file_name", "reason_code"]
    assert lake.read_partition(remote, "rejects", partition, columns).equals(
        lake.read_partition(local, "rejects", partition, columns)
    )
    absent = {"feed": FEED, "file_date": "2030-01-01"}
    assert lake.read_partition(remote, "rejects", absent).num_rows == 0
    # The quarantine export reads each rejected record's text back from the landing files.
    exported = export_rejects(remote)
    assert exported.num_rows == 8 and exported.equals(export_rejects(local))
    assert exported["original_text"].null_count == 0  # every landing file was read back


def test_landing_files_in_the_bucket_are_placed_or_quarantined(
    tmp_path: Path, s3_bucket: str
) -> None:
    data = _s3_operator(tmp_path, s3_bucket)
    store = data.landing_store
    store.write(f"{FEED}/ast-chi-01/Master.csv", b"a,b\n")
    store.write(f"{FEED}/ast-chi-01/.Master_ast-chi-01_2024110310_000009.csv", b"in flight")
    store.write(f"{FEED}/ast-chi-01/old/Master_ast-chi-01_2024110310_000010.csv", b"nested")

    (quarantined,) = quarantine_unplaceable_files(data)
    assert quarantined.path == f"s3://{s3_bucket}/landing/{FEED}/ast-chi-01/Master.csv"
    (row,) = lake.read_partition(data, "landing_rejects", {"feed": FEED}).to_pylist()
    assert (row["file_name"], row["file_bytes"]) == ("Master.csv", 4)
    assert row["reason_code"] == "unplaceable_file_name"
    # The dot-file (an upload in flight) and the nested folder are no switch's files.
    assert landing_partitions(data) == [(FEED, DAY), (FEED, date(2024, 11, 4))]

    store.write("not_a_feed/sw/x_2024110310_000001.csv", b"x")
    with pytest.raises(MediationError, match=f"s3://{s3_bucket}/landing/not_a_feed"):
        landing_partitions(data)


def test_duckdb_reads_the_bucket_through_fsspec_as_dbt_does(tmp_path: Path, s3_bucket: str) -> None:
    local = _local_operator(tmp_path / "local")
    remote = _s3_operator(tmp_path / "remote", s3_bucket)
    for data in (local, remote):
        _mediate_everything(data)
    # The profile's lake_on_s3 target registers this filesystem; the sources' external
    # location reads the lake glob (dbt_project/models/staging/lake/_lake__sources.yml).
    query = (
        "select * from read_parquet('{glob}', union_by_name = true, hive_partitioning = false) "
        "order by usage_id"
    )
    with duckdb.connect() as con:
        con.register_filesystem(
            fsspec.filesystem("s3", use_listings_cache=False, skip_instance_cache=True)
        )
        remote_glob = f"{remote.lake_url}/usage/*/*/*/*/part-0.parquet"
        (files,) = con.sql(f"select count(*) from glob('{remote_glob}')").fetchall()[0]
        from_bucket = con.sql(query.format(glob=remote_glob)).to_arrow_table()
        from_disk = con.sql(
            query.format(glob=f"{local.lake}/usage/*/*/*/*/part-0.parquet")
        ).to_arrow_table()
    assert files == len(lake.partitions(remote, "usage")) > 0
    assert from_bucket.num_rows == 14  # 13 accepted on 2024-11-03, 1 on 2024-11-04
    assert from_bucket.equals(from_disk)


def test_the_environment_places_the_lake_and_the_landing_area(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_bucket: str
) -> None:
    monkeypatch.setenv("TELCOLAKE_DATA", str(tmp_path))
    default = layout()
    assert isinstance(default.lake_store, LocalStore) and default.lake == tmp_path / "lake"
    assert default.environment()["TELCOLAKE_LAKE_URL"] == str(tmp_path / "lake")

    monkeypatch.setenv("TELCOLAKE_LAKE_URL", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("TELCOLAKE_LANDING_URL", f"s3://{s3_bucket}/landing")
    remote = layout()
    assert isinstance(remote.lake_store, S3Store) and isinstance(remote.landing_store, S3Store)
    assert remote.lake_store.url == f"s3://{s3_bucket}/lake"
    assert remote.landing == tmp_path / "landing"  # where a generator stages its files
    with pytest.raises(StorageError, match="not in a directory"):
        _ = remote.lake
    assert remote.environment() == {
        "TELCOLAKE_DATA": str(tmp_path),
        "TELCOLAKE_LAKE_URL": f"s3://{s3_bucket}/lake",
        "TELCOLAKE_LANDING_URL": f"s3://{s3_bucket}/landing",
    }

    monkeypatch.setenv("TELCOLAKE_LAKE_URL", str(tmp_path / "shared" / "lake"))
    elsewhere = layout()
    assert elsewhere.lake == tmp_path / "shared" / "lake"
    assert isinstance(elsewhere.lake_store, LocalStore)
