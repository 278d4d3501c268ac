"""Where telcolake keeps its files.

Everything lives under one data root, ``data/`` in the project by default, or the directory
named by ``TELCOLAKE_DATA``. The layout is fixed so that every stage, the dbt project and
the expectation suites agree on it without passing paths around.

The lake and the landing area may live elsewhere, in an S3 bucket or another directory
(``TELCOLAKE_LAKE_URL``, ``TELCOLAKE_LANDING_URL``; docs/storage.md): stages reach them
through their object stores, never through paths. Reference data, the warehouse, reports and
the rest stay under the data root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipelines.storage import S3_SCHEME, ObjectStore, StorageError, open_store

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


#: Environment: where the lake is, an ``s3://bucket/prefix`` URL or a directory; unset,
#: ``<data root>/lake``.
LAKE_URL_VARIABLE = "TELCOLAKE_LAKE_URL"
#: Environment: where the landing area is, likewise; unset, ``<data root>/landing``.
LANDING_URL_VARIABLE = "TELCOLAKE_LANDING_URL"


@dataclass(frozen=True)
class Layout:
    """The directories under one data root, and where the lake and the landing area are.

    ``lake_url`` and ``landing_url`` are an S3 bucket and prefix (``s3://bucket/prefix``) or
    a directory; None keeps the area in its directory under the root.
    """

    root: Path
    lake_url: str | None = None
    landing_url: str | None = None

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def landing(self) -> Path:
        """The landing directory. With the landing area in a bucket, the directory under the
        data root where the generator writes its switch files before delivering them there;
        mediation reads ``landing_store``."""
        if self.landing_url is None or _is_s3(self.landing_url):
            return self.root / "landing"
        return Path(self.landing_url)

    @property
    def lake(self) -> Path:
        """The lake's directory, for a lake on a filesystem (tests and tools that look at
        its files); the stages read and write through ``lake_store``."""
        if self.lake_url is None:
            return self.root / "lake"
        if _is_s3(self.lake_url):
            raise StorageError(f"the lake is in {self.lake_url}, not in a directory")
        return Path(self.lake_url)

    @cached_property
    def lake_store(self) -> ObjectStore:
        """Where the lake's partition files are (pipelines/lake.py reads and writes them)."""
        return open_store(self.lake_url or self.lake)

    @cached_property
    def landing_store(self) -> ObjectStore:
        """Where the switches' raw files arrive (``<feed>/<switch_id>/<file name>``)."""
        return open_store(self.landing_url or self.landing)

    def environment(self) -> dict[str, str]:
        """The variables that point a child process (dbt, Airflow tasks) at this layout."""
        return {
            "TELCOLAKE_DATA": str(self.root),
            LAKE_URL_VARIABLE: self.lake_url or str(self.lake),
            LANDING_URL_VARIABLE: self.landing_url or str(self.landing),
        }

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


def _is_s3(url: str) -> bool:
    return url.startswith(S3_SCHEME)


def _area_url(variable: str) -> str | None:
    value = os.environ.get(variable) or None
    if value is None or _is_s3(value):
        return value
    return str(Path(value).resolve())


def layout(root: Path | None = None) -> Layout:
    """The layout the environment configures: ``root`` or ``TELCOLAKE_DATA``, with the
    lake and landing area where ``TELCOLAKE_LAKE_URL`` and ``TELCOLAKE_LANDING_URL`` say."""
    return Layout(
        root.resolve() if root is not None else data_root(),
        lake_url=_area_url(LAKE_URL_VARIABLE),
        landing_url=_area_url(LANDING_URL_VARIABLE),
    )
