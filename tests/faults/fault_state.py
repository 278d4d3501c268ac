"""What a run leaves under a data root, as comparable digests: the fault tests' "end state".

Two runs of the same stages on the same inputs at the same data root must leave equal
digests, whatever happened in between. Compared:

- every file under the root (reference, landing, lake, outbound, reports...) by its bytes,
  except the columns that record when a run happened (``WALL_CLOCK_COLUMNS``: the lake
  Parquet of those tables is compared by content without them);
- each DuckDB database of the warehouse (the marts, the analyst store) by the content of
  every table in it, not the file's bytes (DuckDB lays out the same tables differently);
- Data Docs and GX's own store by their file names only: their pages carry GX run times.

Left out: dbt's logs and target/ (dbt appends to its log and rewrites its artifacts on
every invocation, killed or not) and the stage locks (runtime state).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.config import Layout

#: Lake table -> columns holding the wall clock of the run that wrote them.
WALL_CLOCK_COLUMNS = {
    "rating_suspense": ("first_suspended_at", "last_attempt_at", "resolved_at"),
    "validation_results": ("validated_at",),
}

_SKIPPED = ("locks", "warehouse/dbt_logs", "warehouse/dbt_target")
_NAMES_ONLY = ("reports/data_docs", "reports/gx")


def data_state(layout: Layout) -> dict[str, str]:
    """Digest per file (relative path) and per database table (``<database>:<table>``)."""
    state: dict[str, str] = {}
    for path in sorted(layout.root.rglob("*")):
        relative = path.relative_to(layout.root).as_posix()
        if not path.is_file() or relative.startswith(_SKIPPED):
            continue
        if path.suffix == ".duckdb":
            state.update(_database_state(path, relative))
        elif path.suffix == ".wal" and path.with_suffix("").suffix == ".duckdb":
            continue  # replayed into its database when it is opened
        elif relative.startswith(_NAMES_ONLY):
            state[relative] = "present"
        else:
            state[relative] = _digest(layout, path)
    return state


def _database_state(path: Path, relative: str) -> dict[str, str]:
    """MD5 over the rows of every table of the database (sorted, as text), by table."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by all"
        ).fetchall()
        state = {}
        for schema, name in tables:
            # A row cast to text is a struct literal with every column name and value.
            table = f'"{schema}"."{name}"'
            (digest,) = con.execute(
                "select md5(coalesce(string_agg(cast(r as varchar), chr(10) "
                f"order by cast(r as varchar)), '')) from {table} as r"
            ).fetchone() or ("",)
            state[f"{relative}:{schema}.{name}"] = digest
        return state


def _digest(layout: Layout, path: Path) -> str:
    parts = path.relative_to(layout.lake).parts if path.is_relative_to(layout.lake) else ()
    wall_clock = WALL_CLOCK_COLUMNS.get(parts[0]) if parts else None
    if wall_clock and path.suffix == ".parquet":
        table = pq.read_table(path)
        kept = table.drop_columns([c for c in wall_clock if c in table.column_names])
        return hashlib.sha256(str(kept.to_pylist()).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """The keys whose digests differ or that only one side has, for an assertion message."""
    return sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))
