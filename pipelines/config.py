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
#: The tenant of the operator's own rating profiles in its tariff catalog (a CGRateS
#: tenant; one operator, one tenant).
TENANT = "telcolake"
MICROS_PER_UNIT = 1_000_000
#: The operator's GSMA TADIG code (ISO 3166 alpha-3 + 2): sender of our TAP and RAP files,
#: recipient of our roaming partners' (docs/roaming.md). Fictional, like the operator.
OPERATOR_TADIG = "USAZ9"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(value)


#: A record whose switch and record key repeat one accepted from a file delivered at most
#: this many days earlier is a duplicate; beyond it the key is taken as reused (Asterisk
#: uniqueids and MSC call references wrap). Environment: TELCOLAKE_DEDUP_WINDOW_DAYS.
DEDUP_WINDOW_DAYS = _env_int("TELCOLAKE_DEDUP_WINDOW_DAYS", 7)
#: A session whose last partial record has not arrived is held until the feed's data has
#: moved this many hours past its latest partial; then it is sent on as incomplete.
#: Environment: TELCOLAKE_PARTIAL_TIMEOUT_HOURS.
PARTIAL_TIMEOUT_HOURS = _env_int("TELCOLAKE_PARTIAL_TIMEOUT_HOURS", 24)


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
    def carrier_invoices(self) -> Path:
        """Invoices interconnect carriers send us: <carrier_id>/<carrier_id>_<YYYY-MM>.csv."""
        return self.root / "carrier_invoices"

    @property
    def outbound(self) -> Path:
        """Files we send partners: TAP files for inbound roamers, RAP returns."""
        return self.root / "outbound"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    def lake_table(self, name: str) -> Path:
        return self.lake / name


def data_root() -> Path:
    return Path(os.environ.get("TELCOLAKE_DATA", PROJECT_ROOT / "data")).resolve()


def layout(root: Path | None = None) -> Layout:
    return Layout(root.resolve() if root is not None else data_root())
