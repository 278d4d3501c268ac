"""Credits and adjustments: what customer care and retention grant, checked before billing.

The optional reference file ``adjustments.csv`` holds one row per credit granted to an
account for a billing period: adjustment_id, account_id, subscriber_id (the line it
concerns, may be empty), billing_period, adjustment_type (``promotional``, ``retention``,
``goodwill``, ``dispute``), category (the tax category of what it credits back, so the
taxes on it are reversed), amount_micros (the credit, > 0), description, approved_by and
approval_limit_micros (the most the approver may grant).

A credit is applied, becoming a negative charge on the invoice (taxed like the charge it
corrects), unless it is held with a reason: ``unknown_account``, ``unknown_subscriber``
(not a line of the account), ``missing_approver``, ``above_approval_limit``,
``unknown_type``, ``unknown_category`` or ``bad_amount``. Held credits are listed, never
billed silently and never dropped. A file whose adjustment_id repeats within a period is
refused whole, naming the ids: applying either row could double or lose a credit.
"""

from __future__ import annotations

import polars as pl

from pipelines.config import Layout
from pipelines.reference import read_reference
from pipelines.taxes.model import CATEGORIES

ADJUSTMENTS_FILE = "adjustments.csv"
ADJUSTMENT_TYPES = ("promotional", "retention", "goodwill", "dispute")
APPLIED = "applied"
HELD = "held"

_COLUMNS = (
    "adjustment_id",
    "account_id",
    "subscriber_id",
    "billing_period",
    "adjustment_type",
    "category",
    "amount_micros",
    "description",
    "approved_by",
    "approval_limit_micros",
)

SCHEMA = pl.Schema(
    {
        "adjustment_id": pl.String,
        "billing_period": pl.String,
        "account_id": pl.String,
        "subscriber_id": pl.String,
        "adjustment_type": pl.String,
        "category": pl.String,
        "amount_micros": pl.Int64,
        "description": pl.String,
        "approved_by": pl.String,
        "approval_limit_micros": pl.Int64,
        "adjustment_status": pl.String,
        "hold_reason": pl.String,
    }
)


def period_adjustments(layout: Layout, billing_period: str) -> pl.DataFrame:
    """The period's credits, each applied or held with its reason (``SCHEMA``)."""
    path = layout.reference / ADJUSTMENTS_FILE
    if not path.is_file():
        return pl.DataFrame(schema=SCHEMA)
    rows = pl.read_csv(path, infer_schema=False, empty_string_is_null=True)
    missing = [column for column in _COLUMNS if column not in rows.columns]
    if missing:
        raise ValueError(f"{ADJUSTMENTS_FILE}: missing column(s) {', '.join(missing)}")
    rows = rows.filter(pl.col("billing_period") == billing_period)
    lines = read_reference(layout, "subscribers.csv").select("subscriber_id", "account_id")
    accounts = read_reference(layout, "accounts.csv").select("account_id")
    checked = (
        rows.with_columns(
            pl.col("amount_micros").cast(pl.Int64, strict=False),
            pl.col("approval_limit_micros").cast(pl.Int64, strict=False),
            pl.col("account_id").is_in(accounts["account_id"].implode()).alias("known_account"),
        )
        .join(lines.rename({"account_id": "line_account_id"}), on="subscriber_id", how="left")
        .with_columns(
            pl.when(~pl.col("known_account"))
            .then(pl.lit("unknown_account"))
            .when(
                pl.col("subscriber_id").is_not_null()
                & pl.col("line_account_id").ne_missing(pl.col("account_id"))
            )
            .then(pl.lit("unknown_subscriber"))
            .when(~pl.col("adjustment_type").is_in(ADJUSTMENT_TYPES))
            .then(pl.lit("unknown_type"))
            .when(~pl.col("category").is_in(CATEGORIES))
            .then(pl.lit("unknown_category"))
            .when(pl.col("amount_micros").is_null() | (pl.col("amount_micros") <= 0))
            .then(pl.lit("bad_amount"))
            .when(pl.col("approved_by").is_null())
            .then(pl.lit("missing_approver"))
            .when(
                pl.col("approval_limit_micros").is_null()
                | (pl.col("amount_micros") > pl.col("approval_limit_micros"))
            )
            .then(pl.lit("above_approval_limit"))
            .alias("hold_reason")
        )
        .with_columns(
            pl.when(pl.col("hold_reason").is_null())
            .then(pl.lit(APPLIED))
            .otherwise(pl.lit(HELD))
            .alias("adjustment_status")
        )
    )
    if checked["adjustment_id"].is_duplicated().any():
        repeated = sorted(
            set(checked.filter(pl.col("adjustment_id").is_duplicated())["adjustment_id"])
        )
        raise ValueError(
            f"{ADJUSTMENTS_FILE}: adjustment_id {', '.join(repeated)} repeats in {billing_period}: "
            "which of the rows was granted is the CRM's to say, so none is applied"
        )
    return checked.select(list(SCHEMA)).cast(SCHEMA).sort("adjustment_id")
