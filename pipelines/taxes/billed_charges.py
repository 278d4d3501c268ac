"""The charges a billing period bills, at the grain the tax engine taxes them.

- Recurring: one charge per row of ``recurring_charges`` (a plan or add-on fee billed in
  advance, reversed or trued up by the day: pipelines.billing.recurring). A line counts
  once for per-line fees (911): on its first advance row of its own plan; add-ons,
  reversals and true-ups carry ``lines = 0``.
- Usage: per subscriber and tax category, the rated usage charges plus the usage priced on
  aggregate. A mobile line's voice and messaging are ``wireless_usage`` (the wireless safe
  harbor covers them), its data ``internet_access``. A fixed VoIP line's calls are classed
  by where they start and end (``call_class``); its aggregate-priced voice, which no longer
  says where each call went, is ``voip_usage`` under the VoIP safe harbor.
- Usage is rounded to the cent per charge (half away from zero), so the tax base is the
  amount the invoice line shows (docs/billing.md, "Rounding"). What each usage charge is
  made of (its rated records and aggregate-priced charges) comes out beside the charges as
  ``BILLED_CHARGE_USAGE_SCHEMA`` rows: the lineage of a usage invoice line (docs/lineage.md).
- The bill run's other sources come in ``CHARGE_SCHEMA`` (pipelines.billing.charges):
  one-time fees, device installments, late fees, and each applied credit
  (``pipelines.billing.adjustments``) as a negative charge in the category it credits
  back, so the taxes on what it corrects are reversed.

Every charge is dated at the period's first day, so one rule version and one FUSF quarter
apply to the whole period; its tax area comes from the account's service address (the place
of primary use for wireless lines) and its customer class from the account's class.
docs/taxes.md, "The bill run", describes the same for users.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.billing.adjustments import APPLIED
from pipelines.billing.charges import conform, round_to_cent
from pipelines.billing.recurring import ADVANCE, REVERSED
from pipelines.config import Layout
from pipelines.periods import parse_period
from pipelines.rating.buckets import read_period_table
from pipelines.reference import TARIFF_CATALOG_DIR, read_reference
from pipelines.schema import BILLED_CHARGE_SCHEMA, BILLED_CHARGE_USAGE_SCHEMA
from pipelines.tariffs.catalog_files import load_catalog
from pipelines.taxes.call_class import CallClassifier
from pipelines.taxes.model import RuleSet
from pipelines.taxes.rules_files import TaxAreaIndex
from pipelines.taxes.traffic_studies import SAFE_HARBOR_CATEGORIES, studies_in_effect

#: A line's monthly service by service type.
ACCESS_CATEGORY = {
    "mobile": "wireless_access",
    "fixed_voip": "voip_access",
    "broadband": "internet_access",
    "tv": "video_service",
}


class PeriodCharges(NamedTuple):
    """A period's charges and what its usage charges are made of."""

    charges: pa.Table  # BILLED_CHARGE_SCHEMA without _OUTCOME, ordered by charge_id
    usage_links: pa.Table  # BILLED_CHARGE_USAGE_SCHEMA, ordered by charge_id


def billed_charges(
    layout: Layout, billing_period: str, ruleset: RuleSet, other_charges: pl.DataFrame
) -> PeriodCharges:
    """The period's charges (``BILLED_CHARGE_SCHEMA`` without the columns the tax stage
    adds, ``_OUTCOME``), ordered by charge_id, each with its interstate share: the
    account's traffic study for safe-harbor categories, else the rule set's default; and
    the rated records and aggregate-priced charges behind each usage charge.

    ``other_charges`` (``CHARGE_SCHEMA``): the bill run's charges besides recurring fees
    and usage.
    """
    partition = {"billing_period": billing_period}
    first_day, _ = parse_period(billing_period)
    lines = _lines(layout)
    accounts = _accounts(layout, ruleset).join(
        studies_in_effect(layout, first_day), on="account_id", how="left"
    )
    defaults = pl.DataFrame(
        {
            "category": list(ruleset.interstate_shares),
            "default_share_ppm": list(ruleset.interstate_shares.values()),
        },
        schema={"category": pl.String, "default_share_ppm": pl.Int64},
    )
    recurring = _recurring(
        _frame(lake.read_partition(layout, "recurring_charges", partition)), _offer_names(layout)
    )
    usage, usage_links = _usage(
        _frame(read_period_table(layout, "rated_usage", billing_period, _RATED_COLUMNS)),
        _frame(read_period_table(layout, "usage_aggregate_charges", billing_period)),
        lines,
        billing_period,
    )
    charges = (
        pl.concat([conform(recurring), conform(usage), conform(other_charges)])
        .join(lines.select("subscriber_id", "service_type"), on="subscriber_id", how="left")
        .join(accounts, on="account_id", how="left")
        .with_columns(
            pl.lit(billing_period).alias("billing_period"),
            pl.lit(first_day).alias("charge_date"),
            pl.coalesce("category", pl.lit("unknown")).alias("category"),
        )
        .join(defaults, on="category", how="left")
        .with_columns(
            pl.when(pl.col("category").is_in(SAFE_HARBOR_CATEGORIES))
            .then(pl.coalesce("study_share_ppm", "default_share_ppm"))
            .otherwise(pl.col("default_share_ppm"))
            .fill_null(0)
            .alias("interstate_share_ppm"),
            (
                pl.lit(billing_period + "/") + pl.col("charge_source") + "/" + pl.col("charge_key")
            ).alias("charge_id"),
        )
        .sort("charge_id")
    )
    if charges["charge_id"].is_duplicated().any():
        repeated = charges.filter(pl.col("charge_id").is_duplicated())["charge_id"][0]
        raise RuntimeError(f"two charges of {billing_period} share the id {repeated}")
    names = [f.name for f in BILLED_CHARGE_SCHEMA if f.name not in _OUTCOME]
    return PeriodCharges(charges.select(names).to_arrow(), usage_links)


#: Columns the tax stage adds from the engine's outcome.
_OUTCOME = (
    "interstate_micros",
    "net_micros",
    "tax_status",
    "ruleset_version",
)


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _lines(layout: Layout) -> pl.DataFrame:
    """Per subscriber: its account, plan and service type."""
    return read_reference(layout, "subscribers.csv").select(
        "subscriber_id", "account_id", "service_type", pl.col("plan_id").alias("line_plan_id")
    )


def _accounts(layout: Layout, ruleset: RuleSet) -> pl.DataFrame:
    """Per account: its class, billing currency and tax area (null: its address has none)."""
    accounts = read_reference(layout, "accounts.csv").select(
        "account_id", "account_class", "currency", "service_address_id"
    )
    addresses = read_reference(layout, "service_addresses.csv").select(
        "service_address_id", "state", "county", "city", "postal_code"
    )
    addresses = addresses.with_columns(TaxAreaIndex(ruleset).resolve_all(addresses))
    return accounts.join(addresses, on="service_address_id", how="left").select(
        "account_id",
        pl.col("account_class").fill_null("standard").alias("customer_class"),
        "currency",
        "tax_area_id",
    )


def credit_charges(adjustments: pl.DataFrame) -> pl.DataFrame:
    """The applied adjustments as negative charges (``CHARGE_SCHEMA``)."""
    applied = adjustments.filter(pl.col("adjustment_status") == APPLIED)
    return conform(
        applied.select(
            pl.lit("adjustment").alias("charge_source"),
            pl.col("adjustment_id").alias("charge_key"),
            "account_id",
            "subscriber_id",
            "category",
            (
                pl.col("adjustment_type").str.slice(0, 1).str.to_uppercase()
                + pl.col("adjustment_type").str.slice(1)
                + " credit: "
                + pl.coalesce("description", "adjustment_id")
            ).alias("description"),
            (-pl.col("amount_micros")).alias("amount_micros"),
        )
    )


def _offer_names(layout: Layout) -> pl.DataFrame:
    """Each plan's name (plans.csv) and, with a tariff catalog, each offer's name there
    (add-ons are only there), for the invoice line."""
    names = read_reference(layout, "plans.csv").select(
        "plan_id", pl.col("plan_name").alias("offer_name")
    )
    if (layout.reference / TARIFF_CATALOG_DIR / "catalog.yaml").is_file():
        offers = load_catalog(layout.reference / TARIFF_CATALOG_DIR).offers
        names = pl.concat(
            [
                names,
                pl.DataFrame(
                    {
                        "plan_id": [o.offer_id for o in offers],
                        "offer_name": [o.name for o in offers],
                    },
                    schema={"plan_id": pl.String, "offer_name": pl.String},
                ),
            ]
        )
    return names.unique("plan_id", keep="last", maintain_order=True)


def _recurring(recurring: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    advance_of_own_plan = (pl.col("recurring_kind") == ADVANCE) & (pl.col("offer_kind") == "plan")
    named = recurring.join(names, on="plan_id", how="left", maintain_order="left")
    return named.join(
        _recurring_descriptions(named),
        on=_DESCRIBED,
        how="left",
        maintain_order="left",
        nulls_equal=True,
    ).select(
        pl.lit("recurring").alias("charge_source"),
        pl.concat_str(
            "subscriber_id", "plan_id", "recurring_kind", "service_from", separator="/"
        ).alias("charge_key"),
        "account_id",
        "subscriber_id",
        "plan_id",
        pl.col("service_type").replace_strict(ACCESS_CATEGORY, default=None).alias("category"),
        "description",
        pl.col("active_days").cast(pl.Int64).alias("quantity"),
        pl.lit("days").alias("quantity_unit"),
        "service_from",
        "service_to",
        pl.col("charge_micros").alias("amount_micros"),
        # Per-line fees count a line once: on its first advance row of its own plan.
        (
            advance_of_own_plan
            & pl.when(advance_of_own_plan).then(pl.col("subscriber_id")).is_first_distinct()
        )
        .cast(pl.Int64)
        .alias("lines"),
    )


#: What a recurring fee's invoice line says depends on these only: lines share a few
#: hundred texts, each written once.
_DESCRIBED = [
    "recurring_kind",
    "plan_id",
    "offer_name",
    "service_from",
    "service_to",
    "active_days",
    "period_days",
]


def _recurring_descriptions(named: pl.DataFrame) -> pl.DataFrame:
    partial_days = pl.when(pl.col("active_days") != pl.col("period_days")).then(
        pl.format(" ({} of {} days)", "active_days", "period_days")
    )
    return (
        named.select(_DESCRIBED)
        .unique()
        .with_columns(
            pl.concat_str(
                pl.when(pl.col("recurring_kind") == REVERSED)
                .then(pl.lit("Reversal of "))
                .otherwise(pl.lit("")),
                pl.coalesce("offer_name", "plan_id"),
                pl.format(" monthly fee, {} to {}", "service_from", "service_to"),
                partial_days.otherwise(pl.lit("")),
            ).alias("description")
        )
    )


#: The rated_usage columns a usage charge is made of: the period's rated usage is its
#: largest input, read only as far as these.
_RATED_COLUMNS = (
    "usage_id",
    "rating_status",
    "subscriber_id",
    "account_id",
    "service",
    "served_msisdn",
    "other_party_number",
    "charge_micros",
    "billable_units",
)


def _usage(
    rated: pl.DataFrame, aggregates: pl.DataFrame, lines: pl.DataFrame, billing_period: str
) -> tuple[pl.DataFrame, pa.Table]:
    """Usage charges per subscriber and tax category, and the rows each is made of."""
    first, last = parse_period(billing_period)
    service_types = lines.select("subscriber_id", "service_type")
    priced = rated.filter(pl.col("rating_status") == "rated").join(
        service_types, on="subscriber_id", how="left"
    )
    voip_calls = priced.filter(
        (pl.col("service_type") == "fixed_voip") & (pl.col("service") == "voice")
    )
    call_classes = CallClassifier().classify(
        voip_calls["served_msisdn"].to_arrow(), voip_calls["other_party_number"].to_arrow()
    )
    priced = priced.join(
        voip_calls.select("usage_id").with_columns(pl.Series("call_class", call_classes)),
        on="usage_id",
        how="left",
    ).with_columns(_usage_category(pl.col("call_class")).alias("category"))
    per_record = priced.group_by("account_id", "subscriber_id", "category").agg(
        pl.len().cast(pl.Int64).alias("records"),
        pl.col("charge_micros").sum().alias("amount_micros"),
        (pl.when(pl.col("service") == "voice").then(pl.col("billable_units")).otherwise(0))
        .sum()
        .alias("seconds"),
    )
    aggregate_rows = (
        aggregates.join(service_types, on="subscriber_id", how="left")
        .with_columns(
            pl.col("service").alias("rated_service"),
            pl.col("service").str.split("@").list.first().alias("service"),
            pl.lit(None, dtype=pl.String).alias("call_class"),
        )
        .with_columns(_usage_category(pl.col("call_class")).alias("category"))
    )
    aggregated = aggregate_rows.group_by("account_id", "subscriber_id", "category").agg(
        pl.col("charge_micros").sum().alias("amount_micros")
    )
    charges = (
        pl.concat([per_record, aggregated], how="diagonal_relaxed")
        .group_by("account_id", "subscriber_id", "category")
        .agg(
            pl.col("records").sum(),
            pl.col("amount_micros").sum(),
            pl.col("seconds").sum(),
        )
        .select(
            pl.lit("usage").alias("charge_source"),
            pl.concat_str("subscriber_id", "category", separator="/").alias("charge_key"),
            "account_id",
            "subscriber_id",
            "category",
            pl.col("category")
            .replace_strict(USAGE_DESCRIPTION, default=pl.lit("Usage"))
            .alias("description"),
            "records",
            pl.col("records").alias("quantity"),
            pl.lit("records").alias("quantity_unit"),
            pl.lit(first).alias("service_from"),
            pl.lit(last).alias("service_to"),
            # Per-minute taxes see billed seconds as minutes, rounded down to the micro-minute.
            (pl.col("seconds") * 1_000_000 // 60).alias("minutes_micros"),
            round_to_cent(pl.col("amount_micros")).alias("amount_micros"),
        )
    )
    return charges, _usage_links(priced, aggregate_rows, billing_period)


def _usage_charge_id(billing_period: str) -> pl.Expr:
    """The charge_id of a usage charge, as billed_charges builds it from the charge_key."""
    return pl.lit(billing_period + "/usage/") + pl.concat_str(
        "subscriber_id", "category", separator="/"
    )


def _usage_links(
    priced: pl.DataFrame, aggregate_rows: pl.DataFrame, billing_period: str
) -> pa.Table:
    """``BILLED_CHARGE_USAGE_SCHEMA``: each priced record and each aggregate-priced charge
    under the usage charge that bills it."""
    records = priced.select(
        _usage_charge_id(billing_period).alias("charge_id"),
        pl.lit("rated_usage").alias("link_source"),
        "usage_id",
        pl.lit(None, dtype=pl.String).alias("plan_id"),
        pl.lit(None, dtype=pl.Date).alias("offer_effective_from"),
        "service",
        "charge_micros",
    )
    aggregate = aggregate_rows.select(
        _usage_charge_id(billing_period).alias("charge_id"),
        pl.lit("usage_aggregate_charges").alias("link_source"),
        pl.lit(None, dtype=pl.String).alias("usage_id"),
        "plan_id",
        "offer_effective_from",
        pl.col("rated_service").alias("service"),
        "charge_micros",
    )
    links = (
        pl.concat([records, aggregate])
        .with_columns(pl.lit(billing_period).alias("billing_period"))
        .sort("charge_id", "link_source", "usage_id", "plan_id", "service", nulls_last=True)
    )
    return (
        links.select(BILLED_CHARGE_USAGE_SCHEMA.names).to_arrow().cast(BILLED_CHARGE_USAGE_SCHEMA)
    )


#: The invoice line of a line's usage in each tax category.
USAGE_DESCRIPTION = {
    "wireless_usage": "Mobile calls and messages",
    "internet_access": "Mobile data",
    "local_voice": "Local calls",
    "interstate_voice": "Long-distance calls (interstate)",
    "international_voice": "International calls",
    "voip_usage": "Calls on the calling plan",
}


def _usage_category(call_class: pl.Expr) -> pl.Expr:
    """The tax category of a usage charge from its line's service type and service."""
    service_type, service = pl.col("service_type"), pl.col("service")
    return (
        pl.when(service == "data")
        .then(pl.lit("internet_access"))
        .when(service_type == "fixed_voip")
        .then(pl.coalesce(call_class, pl.lit("voip_usage")))
        .when(service_type == "mobile")
        .then(pl.lit("wireless_usage"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
