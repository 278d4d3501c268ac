"""The operator's reference data: the CSV exports every stage rates and bills against."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.config import Layout

#: Every reference file a run needs, in the order docs/data-contracts.md lists them.
REFERENCE_FILES = (
    "accounts.csv",
    "service_addresses.csv",
    "subscribers.csv",
    "plans.csv",
    "rate_deck.csv",
    "time_bands.csv",
    "holidays.csv",
    "carriers.csv",
    "trunk_groups.csv",
    "interconnect_rates.csv",
    "hlr_snapshot.csv",
    "crm_orders.csv",
    "switches.csv",
)
#: Optional reference files of the revenue-assurance controls (docs/revenue-assurance.md):
#: only dbt reads them, and each control says what it does without its file.
REVENUE_ASSURANCE_FILES = ("credit_authority.csv", "churn_scores.csv")
#: Optional network reference data of the fraud detectors (docs/fraud.md): only dbt reads
#: it; without it SIM cloning judges overlapping calls only.
FRAUD_FILES = ("cell_sites.csv",)
#: Optional legal holds (docs/privacy.md): only the retention purge reads them, and
#: pipelines/privacy/legal_holds.py validates them first; without the file nothing is held.
LEGAL_HOLDS_FILE = "legal_holds.csv"
#: The tariff catalog folder (docs/tariff-catalog.md) under reference/. Optional: without
#: it, rating converts the price list (rate_deck.csv, time_bands.csv, holidays.csv, plans.csv).
TARIFF_CATALOG_DIR = "tariff_catalog"
#: The tax rule set folder (docs/taxes.md) under reference/: required.
TAX_RULES_DIR = "tax_rules"


class MissingReferenceError(FileNotFoundError):
    """A reference file a run needs is absent."""


def reference_path(layout: Layout, name: str) -> Path:
    if name not in REFERENCE_FILES:
        raise ValueError(f"{name} is not a reference file; known: {', '.join(REFERENCE_FILES)}")
    return layout.reference / name


def require_reference(layout: Layout) -> None:
    """Fail at the start of a run, naming every reference file that is missing."""
    missing = [name for name in REFERENCE_FILES if not (layout.reference / name).is_file()]
    if not (layout.reference / TAX_RULES_DIR / "ruleset.yaml").is_file():
        missing.append(f"{TAX_RULES_DIR}/ruleset.yaml")
    if missing:
        raise MissingReferenceError(
            f"missing reference file(s) in {layout.reference}: {', '.join(missing)}"
        )


def read_reference(layout: Layout, name: str) -> pl.DataFrame:
    """Read one reference CSV with every column as text; callers cast what they use."""
    path = reference_path(layout, name)
    if not path.is_file():
        raise MissingReferenceError(f"missing reference file: {path}")
    return pl.read_csv(path, infer_schema=False, empty_string_is_null=False)
