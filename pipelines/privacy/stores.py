"""The CPNI roles and the DuckDB store each one reads (docs/privacy.md, Roles).

DuckDB has no users or grants: a role is a file and how it may be opened.

- ``analyst``: the analyst store (``warehouse/analyst.duckdb``), masked tables only, opened
  read-only. Revenue-assurance and fraud analysts query it directly.
- ``auditor``: the warehouse (``warehouse/telcolake.duckdb``), opened read-only: marts,
  lineage and the raw call detail of schema ``restricted``. The product's commands that show
  raw call detail (``telcolake call-detail``) open it so, and log each access.
- the pipeline itself (dbt's single writer) is the only one that opens the warehouse for
  writing; it is not a role a person is given.

A deployment maps the roles to OS users and file permissions (or to database users when it
moves the stores to a server database); this module only opens the files the right way.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import duckdb

from pipelines.config import Layout


class Role(StrEnum):
    ANALYST = "analyst"
    AUDITOR = "auditor"


class StoreUnavailable(RuntimeError):
    """The role's store does not exist yet, or a build holds it."""


def analyst_store_path(layout: Layout) -> Path:
    """The analyst store dbt builds beside the warehouse (profiles.yml ``attach``)."""
    return layout.warehouse / "analyst.duckdb"


def store_path(layout: Layout, role: Role) -> Path:
    return analyst_store_path(layout) if role is Role.ANALYST else layout.duckdb_path


def connect(layout: Layout, role: Role) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``role``'s store: any write through it fails."""
    path = store_path(layout, role)
    if not path.exists():
        raise StoreUnavailable(f"no {role} store at {path}: run `telcolake build` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as busy:
        raise StoreUnavailable(f"the {role} store cannot be read now (a build?): {busy}") from None
