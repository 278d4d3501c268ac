"""Where telcolake keeps its files.

Everything lives under one data root, ``data/`` in the project by default, or the directory
named by ``TELCOLAKE_DATA``. The layout is fixed so that every stage, the dbt project and
the expectation suites agree on it without passing paths around.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The operator's local time zone: switch clocks, time bands and bill periods use it.
OPERATOR_TIMEZONE = "America/Chicago"
#: The ISO 3166 country whose public holidays make rating's holiday time band.
OPERATOR_COUNTRY = "US"
#: Currency of all retail money (micro-units of it).
OPERATOR_CURRENCY = "USD"
MICROS_PER_UNIT = 1_000_000


@dataclass(frozen=True)
class Layout:
    """The directories under one data root."""

    root: Path

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def duckdb_path(self) -> Path:
        return self.warehouse / "telcolake.duckdb"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    def lake_table(self, name: str) -> Path:
        return self.lake / name


def data_root() -> Path:
    return Path(os.environ.get("TELCOLAKE_DATA", PROJECT_ROOT / "data")).resolve()


def layout(root: Path | None = None) -> Layout:
    return Layout(root.resolve() if root is not None else data_root())
