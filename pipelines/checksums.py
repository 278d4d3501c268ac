"""Content checksums of the marts, to prove a rerun reproduces them exactly."""

from __future__ import annotations

import duckdb

from pipelines.config import Layout


def mart_checksums(layout: Layout) -> dict[str, str]:
    """MD5 over each mart's rows (sorted, as text), keyed by table name.

    Tables are the ``fct_``, ``dim_`` and ``rpt_`` models; the order of rows in storage
    does not matter, their content does.
    """
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' and table_type = 'BASE TABLE' "
                "and regexp_matches(table_name, '^(fct|dim|rpt)_') order by table_name"
            ).fetchall()
        ]
        sums: dict[str, str] = {}
        for table in tables:
            # A row cast to text is a struct literal with every column name and value.
            (digest,) = con.execute(
                "select md5(coalesce(string_agg(cast(r as varchar), chr(10) "
                f"order by cast(r as varchar)), '')) from {table} as r"
            ).fetchone() or ("",)
            sums[table] = digest
        return sums
