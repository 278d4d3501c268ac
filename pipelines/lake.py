"""Reading and replacing Hive-style partitions of the lake's Parquet tables.

A partition is a directory ``<table>/<col>=<value>/.../`` holding one ``part-0.parquet``.
Writing a partition replaces it whole and atomically: the new file is written beside the
old one and renamed over it, so a crash leaves either the old or the new partition, never
half of one, and a rerun of a stage gives the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import Layout
from pipelines.schema import LAKE_TABLES

PART_FILE = "part-0.parquet"


def partition_dir(layout: Layout, table: str, values: Mapping[str, object]) -> Path:
    _, keys = LAKE_TABLES[table]
    if set(values) != set(keys):
        raise ValueError(f"partition of {table} needs {keys}, got {sorted(values)}")
    path = layout.lake_table(table)
    for key in keys:
        path = path / f"{key}={values[key]}"
    return path


def write_partition(
    layout: Layout, table: str, values: Mapping[str, object], data: pa.Table
) -> Path:
    """Replace one partition of ``table`` with ``data`` (cast to the table's schema)."""
    schema, _ = LAKE_TABLES[table]
    data = data.select(schema.names).cast(schema)
    target_dir = partition_dir(layout, table, values)
    target_dir.mkdir(parents=True, exist_ok=True)
    # A writer killed before its rename leaves its temporary file behind; readers never
    # see it (they read part-0.parquet only), and the next write of the partition clears it.
    for stale in target_dir.glob(f".{PART_FILE}.*.tmp"):
        stale.unlink(missing_ok=True)
    target = target_dir / PART_FILE
    tmp = target_dir / f".{PART_FILE}.{os.getpid()}.tmp"
    # zstd at Arrow's default level (1). Compression is under a tenth of a write; encoding,
    # dictionaries and statistics are the rest (docs/mediation.md, Performance). Any change
    # here changes every partition's bytes, which reruns compare to find changed partitions.
    pq.write_table(data, tmp, compression="zstd")
    os.replace(tmp, target)
    return target


def replace_partitions(
    layout: Layout,
    table: str,
    fixed: Mapping[str, object],
    by: str,
    parts: Mapping[str, pa.Table],
) -> list[str]:
    """Make ``parts`` (value of ``by`` -> rows) the partitions of ``table`` under ``fixed``.

    Writes each part with write_partition, then removes the partitions under ``fixed``
    whose ``by`` value is no longer in ``parts``: a rerun whose records moved to other
    dates leaves nothing stale behind. Returns the ``by`` values whose partition changed
    (written with different bytes, new, or removed), sorted: what downstream must redo.
    """
    _, keys = LAKE_TABLES[table]
    pattern = "/".join(f"{key}={fixed.get(key, '*')}" for key in keys)
    root = layout.lake_table(table)
    existing = {path.parent: path.read_bytes() for path in root.glob(f"{pattern}/{PART_FILE}")}
    changed = set()
    for value, rows in parts.items():
        written = write_partition(layout, table, {**fixed, by: value}, rows)
        if existing.pop(written.parent, None) != written.read_bytes():
            changed.add(value)
    for stale in existing:
        (stale / PART_FILE).unlink()
        for leftover in stale.glob(f".{PART_FILE}.*.tmp"):
            leftover.unlink()
        stale.rmdir()
        changed.add(stale.relative_to(root).parts[keys.index(by)].split("=", 1)[1])
    return sorted(changed)


def read_partition(
    layout: Layout,
    table: str,
    values: Mapping[str, object],
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Read one partition, or only ``columns`` of it; an absent partition reads as an empty
    table."""
    schema, _ = LAKE_TABLES[table]
    path = partition_dir(layout, table, values) / PART_FILE
    if not path.exists():
        empty = schema.empty_table()
        return empty if columns is None else empty.select(list(columns))
    return pq.read_table(path, schema=schema, columns=None if columns is None else list(columns))


def read_table(layout: Layout, table: str, where: Mapping[str, object] | None = None) -> pa.Table:
    """Read every partition of ``table`` (optionally filtered on partition values)."""
    schema, keys = LAKE_TABLES[table]
    root = layout.lake_table(table)
    pattern = "/".join(f"{key}={(where or {}).get(key, '*')}" for key in keys) + f"/{PART_FILE}"
    parts = sorted(root.glob(pattern)) if root.exists() else []
    if not parts:
        return schema.empty_table()
    return pa.concat_tables(pq.read_table(part, schema=schema) for part in parts)
