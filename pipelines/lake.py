"""Reading and replacing Hive-style partitions of the lake's Parquet tables.

A partition is a folder ``<table>/<col>=<value>/.../`` holding one ``part-0.parquet``, in
the layout's lake store (a local directory by default, or an S3 bucket: pipelines/storage.py).
Writing a partition replaces it whole and atomically: the store puts the new file in place
at once (a rename on disk, a single put on S3), so a crash leaves either the old or the new
partition, never half of one, and a rerun of a stage gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import Layout
from pipelines.schema import LAKE_TABLES
from pipelines.storage import Location, ObjectStore

PART_FILE = "part-0.parquet"

#: Partition files read at once from a remote store: each read is a request's round trip.
_REMOTE_READERS = 8


def partition_key(table: str, values: Mapping[str, object]) -> str:
    """The key of a partition's file in the lake store: ``<table>/<col>=<value>/.../
    part-0.parquet``, its columns in the table's partition order."""
    _, keys = LAKE_TABLES[table]
    if set(values) != set(keys):
        raise ValueError(f"partition of {table} needs {keys}, got {sorted(values)}")
    return "/".join([table, *(f"{key}={values[key]}" for key in keys), PART_FILE])


def partition_dir(layout: Layout, table: str, values: Mapping[str, object]) -> Path:
    """A partition's folder in a lake on a filesystem (for tests and tools that look at its
    files; StorageError for a lake in a bucket)."""
    return layout.lake / partition_key(table, values).removesuffix(f"/{PART_FILE}")


def partition_exists(layout: Layout, table: str, values: Mapping[str, object]) -> bool:
    """Whether the partition has been written (an empty partition exists)."""
    return layout.lake_store.exists(partition_key(table, values))


def write_partition(
    layout: Layout, table: str, values: Mapping[str, object], data: pa.Table
) -> Location:
    """Replace one partition of ``table`` with ``data`` (cast to the table's schema);
    returns where its file is."""
    key = partition_key(table, values)
    layout.lake_store.write(key, _parquet_bytes(table, data))
    return layout.lake_store.location(key)


def delete_partition(layout: Layout, table: str, values: Mapping[str, object]) -> None:
    """Remove one partition of ``table`` (nothing when it is not there)."""
    layout.lake_store.delete(partition_key(table, values))


def replace_partitions(
    layout: Layout,
    table: str,
    fixed: Mapping[str, object],
    by: str,
    parts: Mapping[str, pa.Table],
) -> list[str]:
    """Make ``parts`` (value of ``by`` -> rows) the partitions of ``table`` under ``fixed``,
    where ``by`` is the one partition column ``fixed`` leaves open (replace_partition_set).
    Returns the ``by`` values whose partition changed, sorted."""
    changed = replace_partition_set(
        layout, table, fixed, (({by: value}, rows) for value, rows in parts.items())
    )
    return sorted({values[by] for values in changed})


def replace_partition_set(
    layout: Layout,
    table: str,
    fixed: Mapping[str, object],
    parts: Iterable[tuple[Mapping[str, object], pa.Table]],
) -> list[dict[str, str]]:
    """Make ``parts`` the partitions of ``table`` under ``fixed``: each part is the values
    of the partition columns ``fixed`` leaves open, and its rows.

    Writes each part as write_partition does, then removes the partitions under ``fixed``
    that no part named: a rerun whose records moved elsewhere leaves nothing stale behind.
    Parts are taken one at a time, and each is compared with the partition it replaces
    alone, so a generator of parts holds one partition in memory, never all of them.
    Returns the open columns' values (as in the paths) of every partition that changed
    (written with different bytes, new, or removed), in path order: what downstream must
    redo.
    """
    store = layout.lake_store
    existing = set(store.glob(_pattern(table, fixed)))
    written: set[str] = set()
    changed = []
    for values, rows in parts:
        key = partition_key(table, {**fixed, **values})
        if key in written:
            raise ValueError(f"partition {key} given twice")
        data = _parquet_bytes(table, rows)
        before = store.read(key) if key in existing else None
        store.write(key, data)
        written.add(key)
        if before != data:
            changed.append(key)
    stale = sorted(existing - written)
    for key in stale:
        store.delete(key)
    return [
        {name: value for name, value in _partition_values(key).items() if name not in fixed}
        for key in sorted([*changed, *stale])
    ]


def read_partition(
    layout: Layout,
    table: str,
    values: Mapping[str, object],
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Read one partition, or only ``columns`` of it; an absent partition reads as an empty
    table."""
    schema, _ = LAKE_TABLES[table]
    key = partition_key(table, values)
    chosen = None if columns is None else list(columns)
    store = layout.lake_store
    path = store.local_path(key)
    if path is not None:
        if not path.exists():
            return schema.empty_table() if chosen is None else schema.empty_table().select(chosen)
        return pq.read_table(path, schema=schema, columns=chosen)
    data = store.read_if_exists(key)
    if data is None:
        return schema.empty_table() if chosen is None else schema.empty_table().select(chosen)
    return pq.read_table(pa.BufferReader(data), schema=schema, columns=chosen)


def read_table(
    layout: Layout,
    table: str,
    where: Mapping[str, object] | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Read every partition of ``table`` (optionally filtered on partition values), or
    only ``columns`` of each."""
    schema, _ = LAKE_TABLES[table]
    store = layout.lake_store
    keys = store.glob(_pattern(table, where or {}))
    chosen = None if columns is None else list(columns)
    if not keys:
        return schema.empty_table() if chosen is None else schema.empty_table().select(chosen)
    return pa.concat_tables(_read_parts(store, keys, schema, chosen))


def read_partitions(
    layout: Layout,
    table: str,
    parts: Sequence[Mapping[str, object]],
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Read the written partitions ``parts`` (partition values, as ``partitions`` lists
    them) in their order, or only ``columns`` of each."""
    schema, _ = LAKE_TABLES[table]
    chosen = None if columns is None else list(columns)
    keys = [partition_key(table, values) for values in parts]
    if not keys:
        return schema.empty_table() if chosen is None else schema.empty_table().select(chosen)
    return pa.concat_tables(_read_parts(layout.lake_store, keys, schema, chosen))


def partitions(
    layout: Layout, table: str, where: Mapping[str, object] | None = None
) -> list[dict[str, str]]:
    """The partition values (column -> value) of every written partition of ``table``
    (optionally filtered on partition values), sorted."""
    return [_partition_values(key) for key in layout.lake_store.glob(_pattern(table, where or {}))]


def _pattern(table: str, where: Mapping[str, object]) -> str:
    """A glob of the partition files of ``table`` whose values are ``where``'s."""
    _, keys = LAKE_TABLES[table]
    return "/".join([table, *(f"{key}={where.get(key, '*')}" for key in keys), PART_FILE])


def _partition_values(key: str) -> dict[str, str]:
    """The partition values named in a partition file's key."""
    return dict(part.split("=", 1) for part in key.split("/")[1:-1])


def _parquet_bytes(table: str, data: pa.Table) -> bytes:
    schema, _ = LAKE_TABLES[table]
    data = data.select(schema.names).cast(schema)
    sink = pa.BufferOutputStream()
    # zstd at Arrow's default level (1). Compression is under a tenth of a write; encoding,
    # dictionaries and statistics are the rest (docs/mediation.md, Performance). Any change
    # here changes every partition's bytes, which reruns compare to find changed partitions.
    pq.write_table(data, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _read_parts(
    store: ObjectStore, keys: list[str], schema: pa.Schema, columns: list[str] | None
) -> list[pa.Table]:
    """The partition files ``keys`` (or their ``columns``), in order: straight from disk,
    or several requests at a time from a remote store."""
    paths = [path for path in map(store.local_path, keys) if path is not None]
    if len(paths) == len(keys):
        return [pq.read_table(path, schema=schema, columns=columns) for path in paths]

    def read(key: str) -> pa.Table:
        return pq.read_table(pa.BufferReader(store.read(key)), schema=schema, columns=columns)

    with ThreadPoolExecutor(max_workers=_REMOTE_READERS) as readers:
        return list(readers.map(read, keys))
