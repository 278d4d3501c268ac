"""Credits and adjustments: what customer care and retention grant, checked before billing.

The optional reference file ``adjustments.csv`` holds one row per credit granted to an
account for a billing period: adjustment_id, account_id, subscriber_id (the line it
concerns, may be empty), billing_period, adjustment_type (``promotional``, ``retention``,
``goodwill``, ``dispute``), category (the tax category of what it credits back, so the
taxes on it are reversed), amount_micros (the credit, > 0), description, approved_by,
approval_limit_micros (the most the approver may grant) and, optionally, promotion_id (the
promotion of ``promotions.csv`` a promotional credit is granted under; read only on
``promotional`` rows, and a file without the column still loads).

A credit is applied, becoming a negative charge on the invoice (taxed like the charge it
corrects), unless it is held with a reason: ``unknown_account``, ``unknown_subscriber``
(not a line of the account), ``missing_approver``, ``above_approval_limit``,
``unknown_type``, ``unknown_category`` or ``bad_amount``; a promotional credit also
``unknown_promotion`` (it names no promotion, or one promotions.csv does not hold),
``not_eligible`` (its line is not eligible for the promotion in the period,
``pipelines.billing.promotions``; a credit on the account as a whole: no line of the account
is) or ``duplicate_promotion`` (the promotion credits the line automatically, applied or
held, so a manual credit would pay it twice; on the account as a whole: it credits a line of
the account). A credit with several problems is held for the first in ``HOLD_REASONS``.
Held credits are listed, never billed silently and never dropped. A file whose
adjustment_id repeats within a period is refused whole, naming the ids: applying either row
could double or lose a credit.

``period_adjustments`` returns these credits together with the promotions' automatic ones
(``PROMO-<promotion_id>-<subscriber_id>``), sorted by adjustment_id.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from pipelines.config import Layout
from pipelines.reference import read_reference
from pipelines.taxes.model import CATEGORIES

ADJUSTMENTS_FILE = "adjustments.csv"
ADJUSTMENT_TYPES = ("promotional", "retention", "goodwill", "dispute")
APPLIED = "applied"
HELD = "held"
#: Why a credit is held, in the order they are checked: a credit is held for the first.
HOLD_REASONS = (
    "unknown_account",
    "unknown_subscriber",
    "unknown_type",
    "unknown_category",
    "bad_amount",
    "missing_approver",
    "above_approval_limit",
    "unknown_promotion",
    "not_eligible",
    "duplicate_promotion",
)

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
    """The period's credits (``SCHEMA``), each applied or held with its reason: the rows of
    adjustments.csv and the promotions' automatic credits, sorted by adjustment_id."""
    # promotions builds its credits in this module's SCHEMA, so it imports this module.
    from pipelines.billing import promotions as promos

    offers = promos.read_promotions(layout)
    eligible = promos.eligible_lines(layout, billing_period, offers)
    automatic = promos.credits_of(offers, eligible, billing_period)
    path = layout.reference / ADJUSTMENTS_FILE
    if not path.is_file():
        return automatic
    rows = pl.read_csv(path, infer_schema=False, empty_string_is_null=True)
    missing = [column for column in _COLUMNS if column not in rows.columns]
    if missing:
        raise ValueError(f"{ADJUSTMENTS_FILE}: missing column(s) {', '.join(missing)}")
    if "promotion_id" not in rows.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("promotion_id"))
    rows = rows.filter(pl.col("billing_period") == billing_period)
    lines = read_reference(layout, "subscribers.csv").select("subscriber_id", "account_id")
    accounts = read_reference(layout, "accounts.csv").select("account_id")
    # Eligibility and automatic credits of a promotion per line, and per account for
    # credits on the account as a whole.
    per_line = eligible.select(
        "promotion_id",
        "subscriber_id",
        pl.lit(True).alias("line_eligible"),
        pl.col("is_credited").alias("line_credited"),
    )
    per_account = eligible.group_by("promotion_id", "account_id").agg(
        pl.lit(True).alias("account_eligible"),
        pl.col("is_credited").any().alias("account_credited"),
    )
    on_account = pl.col("subscriber_id").is_null()
    promotional = pl.col("adjustment_type") == "promotional"
    checked = (
        rows.with_columns(
            pl.col("amount_micros").cast(pl.Int64, strict=False),
            pl.col("approval_limit_micros").cast(pl.Int64, strict=False),
            _known(pl.col("account_id"), accounts["account_id"]).alias("known_account"),
        )
        .join(lines.rename({"account_id": "line_account_id"}), on="subscriber_id", how="left")
        .join(per_line, on=["promotion_id", "subscriber_id"], how="left")
        .join(per_account, on=["promotion_id", "account_id"], how="left")
        .with_columns(
            pl.when(on_account)
            .then(pl.col("account_eligible"))
            .otherwise(pl.col("line_eligible"))
            .fill_null(False)
            .alias("is_eligible"),
            pl.when(on_account)
            .then(pl.col("account_credited"))
            .otherwise(pl.col("line_credited"))
            .fill_null(False)
            .alias("is_credited"),
        )
        .with_columns(
            pl.when(~pl.col("known_account"))
            .then(pl.lit("unknown_account"))
            .when(
                pl.col("subscriber_id").is_not_null()
                & pl.col("line_account_id").ne_missing(pl.col("account_id"))
            )
            .then(pl.lit("unknown_subscriber"))
            .when(~_known(pl.col("adjustment_type"), ADJUSTMENT_TYPES))
            .then(pl.lit("unknown_type"))
            .when(~_known(pl.col("category"), CATEGORIES))
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
            .when(promotional & ~_known(pl.col("promotion_id"), [p.promotion_id for p in offers]))
            .then(pl.lit("unknown_promotion"))
            .when(promotional & ~pl.col("is_eligible"))
            .then(pl.lit("not_eligible"))
            .when(promotional & pl.col("is_credited"))
            .then(pl.lit("duplicate_promotion"))
            .alias("hold_reason")
        )
        .with_columns(
            pl.when(pl.col("hold_reason").is_null())
            .then(pl.lit(APPLIED))
            .otherwise(pl.lit(HELD))
            .alias("adjustment_status")
        )
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )
    if checked["adjustment_id"].is_duplicated().any():
        repeated = sorted(
            set(checked.filter(pl.col("adjustment_id").is_duplicated())["adjustment_id"])
        )
        raise ValueError(
            f"{ADJUSTMENTS_FILE}: adjustment_id {', '.join(repeated)} repeats in {billing_period}: "
            "which of the rows was granted is the CRM's to say, so none is applied"
        )
    taken = checked.filter(pl.col("adjustment_id").is_in(automatic["adjustment_id"].implode()))
    if taken.height:
        raise ValueError(
            f"{ADJUSTMENTS_FILE}: adjustment_id {', '.join(sorted(taken['adjustment_id']))} "
            f"in {billing_period} is the id of a promotion's automatic credit"
        )
    return pl.concat([checked, automatic]).sort("adjustment_id")


def _known(value: pl.Expr, known: Collection[str] | pl.Series) -> pl.Expr:
    """``value`` is one of ``known``; a missing value is not (null would skip the hold)."""
    values = known.implode() if isinstance(known, pl.Series) else list(known)
    return value.is_in(values).fill_null(False)
