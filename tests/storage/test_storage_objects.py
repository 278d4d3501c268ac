"""The two object stores, local directory and S3 bucket (a real moto server on loopback),
hold the same contract: round trips, sorted listings, globs, atomic replacement, errors."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipelines.storage import (
    LocalStore,
    ObjectStore,
    S3Store,
    StorageError,
    mirror_directory,
    open_store,
)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")
    return S3Store(f"s3://{bucket}/some/prefix")


def test_objects_round_trip(store: ObjectStore) -> None:
    assert store.objects() == []
    assert store.read_if_exists("a/b.bin") is None
    assert not store.exists("a/b.bin")
    with pytest.raises(FileNotFoundError):
        store.read("a/b.bin")

    store.write("a/b.bin", b"\x00first")
    store.write("a/c.bin", b"")
    store.write("top.bin", b"12345")
    assert store.read("a/b.bin") == b"\x00first"
    assert store.read("a/c.bin") == b""
    assert store.exists("a/b.bin")
    listed = [(o.key, o.size, o.name) for o in store.objects()]
    assert listed == [("a/b.bin", 6, "b.bin"), ("a/c.bin", 0, "c.bin"), ("top.bin", 5, "top.bin")]
    assert [o.key for o in store.objects("a")] == ["a/b.bin", "a/c.bin"]
    assert store.objects("missing") == []

    store.delete("a/b.bin")
    store.delete("a/b.bin")  # deleting what is gone is no error
    assert [o.key for o in store.objects()] == ["a/c.bin", "top.bin"]


def test_a_write_replaces_the_object_whole(store: ObjectStore) -> None:
    store.write("t/part-0.parquet", b"old bytes, longer than the new ones")
    store.write("t/part-0.parquet", b"new")
    assert store.read("t/part-0.parquet") == b"new"
    assert [(o.key, o.size) for o in store.objects()] == [("t/part-0.parquet", 3)]


def test_a_reader_sees_the_old_object_or_the_new_never_a_mix(store: ObjectStore) -> None:
    old, new = b"o" * 3_000_000, b"n" * 3_500_000
    store.write("p/part-0.parquet", old)
    seen: list[bytes] = []
    done = threading.Event()

    def read_while_written() -> None:
        while not done.is_set():
            seen.append(store.read("p/part-0.parquet"))

    reader = threading.Thread(target=read_while_written)
    reader.start()
    try:
        for round_ in range(12):
            store.write("p/part-0.parquet", new if round_ % 2 == 0 else old)
    finally:
        done.set()
        reader.join()
    assert seen, "the reader never ran"
    assert all(data in (old, new) for data in seen)


def test_sorting_is_part_by_part_as_a_directory_walk(store: ObjectStore) -> None:
    # "ast-01-b/..." sorts before "ast-01/..." as strings ('-' < '/'), after it by parts.
    for key in ("feed/ast-01-b/x.csv", "feed/ast-01/y.csv", "feed/ast-01/x.csv"):
        store.write(key, b"1")
    expected = ["feed/ast-01/x.csv", "feed/ast-01/y.csv", "feed/ast-01-b/x.csv"]
    assert [o.key for o in store.objects()] == expected
    assert store.glob("feed/*/*.csv") == expected


def test_glob_matches_one_part_per_pattern_part(store: ObjectStore) -> None:
    for key in (
        "usage/feed=a/event_date=2026-10-01/part-0.parquet",
        "usage/feed=a/event_date=2026-10-02/part-0.parquet",
        "usage/feed=b/event_date=2026-10-01/part-0.parquet",
        "usage/feed=b/event_date=2026-10-01/.part-0.parquet.123.tmp",
        "usage/feed=b/extra/event_date=2026-10-01/part-0.parquet",
        "usage_repeats/feed=a/part-0.parquet",
    ):
        store.write(key, b"x")
    assert store.glob("usage/feed=*/event_date=2026-10-01/part-0.parquet") == [
        "usage/feed=a/event_date=2026-10-01/part-0.parquet",
        "usage/feed=b/event_date=2026-10-01/part-0.parquet",
    ]
    assert store.glob("usage/feed=a/*/part-0.parquet") == [
        "usage/feed=a/event_date=2026-10-01/part-0.parquet",
        "usage/feed=a/event_date=2026-10-02/part-0.parquet",
    ]
    assert store.glob("rejects/feed=*/part-0.parquet") == []


def test_keys_that_leave_the_store_are_refused(store: ObjectStore) -> None:
    for key in ("../escape", "a//b", "a/./b", ""):
        with pytest.raises(StorageError, match="not an object key"):
            store.write(key, b"x")


def test_listing_follows_every_page_of_a_large_bucket(s3_bucket: str) -> None:
    # S3 lists at most 1000 keys a page: 1,234 keys take two pages.
    store = S3Store(f"s3://{s3_bucket}/many")
    keys = [f"table/n={n:05d}/part-0.parquet" for n in range(1234)]
    with ThreadPoolExecutor(max_workers=8) as writers:
        list(writers.map(lambda key: store.write(key, b"p"), keys))
    assert [o.key for o in store.objects()] == keys
    assert store.glob("table/*/part-0.parquet") == keys
    assert store.glob("table/n=0100*/part-0.parquet") == keys[1000:1010]


def test_a_prefix_is_a_store_of_its_own(s3_bucket: str) -> None:
    lake = S3Store(f"s3://{s3_bucket}/lake")
    landing = S3Store(f"s3://{s3_bucket}/landing/")
    whole = S3Store(f"s3://{s3_bucket}")
    lake.write("t/part-0.parquet", b"lake")
    landing.write("feed/sw/f.csv", b"landing")
    assert [o.key for o in lake.objects()] == ["t/part-0.parquet"]
    assert [o.key for o in landing.objects()] == ["feed/sw/f.csv"]
    assert [o.key for o in whole.objects()] == ["lake/t/part-0.parquet", "landing/feed/sw/f.csv"]
    assert landing.url == f"s3://{s3_bucket}/landing"
    assert lake.location("t/part-0.parquet") == f"s3://{s3_bucket}/lake/t/part-0.parquet"


def test_a_missing_bucket_is_a_clear_error(s3_bucket: str) -> None:
    store = S3Store("s3://telcolake-no-such-bucket/lake")
    with pytest.raises(StorageError, match="bucket 'telcolake-no-such-bucket' does not exist"):
        store.write("t/part-0.parquet", b"x")
    with pytest.raises(StorageError, match="does not exist"):
        store.objects()
    with pytest.raises(StorageError, match="does not exist"):
        store.read_if_exists("t/part-0.parquet")


def test_storage_errors_name_the_object_never_the_secret(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StorageError, match="not an s3://bucket/prefix URL"):
        S3Store("s3:///lake")
    secret = "do-not-print-this-secret"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    store = S3Store("s3://telcolake-no-such-bucket/lake")
    with pytest.raises(StorageError) as refused:
        store.write("t/part-0.parquet", b"x")
    assert secret not in str(refused.value)


def test_a_local_store_creates_nothing_until_written(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    assert store.objects() == [] and store.glob("*/part-0.parquet") == []
    assert store.read_if_exists("t/part-0.parquet") is None
    assert not (tmp_path / "lake").exists()
    store.write("t/v=1/part-0.parquet", b"x")
    assert store.local_path("t/v=1/part-0.parquet") == tmp_path / "lake/t/v=1/part-0.parquet"
    # The write's temporary file was renamed: nothing else is in the folder.
    assert [p.name for p in (tmp_path / "lake/t/v=1").iterdir()] == ["part-0.parquet"]
    store.delete("t/v=1/part-0.parquet")
    assert not (tmp_path / "lake/t/v=1").exists()  # an emptied partition folder goes too


def test_open_store_picks_the_kind_by_url(tmp_path: Path, s3_bucket: str) -> None:
    assert isinstance(open_store(tmp_path), LocalStore)
    s3 = open_store(f"s3://{s3_bucket}/lake")
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == (s3_bucket, "lake")


def test_mirror_directory_makes_the_store_hold_exactly_the_files(
    tmp_path: Path, store: ObjectStore
) -> None:
    source = tmp_path / "landing"
    (source / "feed/sw-1").mkdir(parents=True)
    (source / "feed/sw-1/a.csv").write_bytes(b"a")
    (source / "feed/sw-1/b.csv").write_bytes(b"bb")
    store.write("feed/sw-1/stale.csv", b"from an earlier delivery")
    assert mirror_directory(source, store) == 2
    assert {o.key: store.read(o.key) for o in store.objects()} == {
        "feed/sw-1/a.csv": b"a",
        "feed/sw-1/b.csv": b"bb",
    }
