"""Promotions: marketing's standing offers, which lines earn them and the credits they give.

The optional reference file ``promotions.csv`` holds one row per promotion:

- promotion_id (letters, digits, ``_``, ``.``, ``-``; unique), promotion_name (the credit's
  invoice text);
- credit_micros: the credit per eligible line and bill run, whole cents, > 0. Empty: the
  promotion credits nothing by itself; it only says which lines customer care may grant a
  manual promotional credit under (adjustments.csv ``promotion_id``);
- category: the tax category the credit gives back (``pipelines.taxes.model.CATEGORIES``);
- plan_ids, service_type, account_classes: what the line must be on, be and belong to
  (plan_ids and account_classes space-separated; empty: any);
- activated_from, activated_to: inclusive window of the line's activated_date (empty:
  unbounded on that side);
- credit_months: how many bill runs credit a line, counting from its start run: the run of
  the period containing its activation, or the promotion's first_period for lines activated
  before it;
- first_period, last_period (``YYYY-MM``; last empty: open): the runs it may credit;
- approved_by, approval_limit_micros: who approved the credit and the most one credit may
  be (empty: nothing approved).

A line is eligible for a promotion in billing period P when all of these hold:

1. it is in service on P's last day: activated on or before it, not cancelled on or before
   it (subscribers.csv dates), and not ``suspended`` (subscribers.csv ``status``, as at
   the export: suspension has no date);
2. its plan (subscribers.csv ``plan_id``, as at the export) is one of plan_ids;
3. its service_type is the promotion's;
4. its account (accounts.csv, which must hold it) is of one of account_classes;
5. its activated_date is within [activated_from, activated_to];
6. P is within [first_period, last_period];
7. P is one of the credit_months runs from its start run.

Every eligible line of a promotion with a credit gets one automatic credit
``PROMO-<promotion_id>-<subscriber_id>`` (adjustment_type ``promotional``), in full: it is
not prorated. It is applied unless the promotion has no approver (``missing_approver``) or
its credit is above the approval limit (``above_approval_limit``): then every such credit is
held, listed and not billed. A file that cannot be read exactly (a missing column, an
unknown category, service type or account class, a bad amount, date or period, a repeated
promotion_id) is refused whole, naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import polars as pl

from pipelines.billing import adjustments
from pipelines.config import Layout
from pipelines.periods import parse_period
from pipelines.reference import read_reference
from pipelines.taxes.model import CATEGORIES

PROMOTIONS_FILE = "promotions.csv"
#: subscribers.csv service_type and accounts.csv account_class values (docs/data-contracts.md).
SERVICE_TYPES = ("mobile", "fixed_voip", "broadband", "tv")
ACCOUNT_CLASSES = ("consumer", "business", "government", "lifeline")
#: Micro-units in one cent: credits are whole cents, as every invoice line.
_CENT = 10_000

_COLUMNS = (
    "promotion_id",
    "promotion_name",
    "credit_micros",
    "category",
    "plan_ids",
    "service_type",
    "account_classes",
    "activated_from",
    "activated_to",
    "credit_months",
    "first_period",
    "last_period",
    "approved_by",
    "approval_limit_micros",
)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DIGITS = re.compile(r"^[0-9]+$")

#: Per promotion and eligible line: whether the promotion credits it automatically.
ELIGIBLE_SCHEMA = pl.Schema(
    {
        "promotion_id": pl.String,
        "account_id": pl.String,
        "subscriber_id": pl.String,
        "is_credited": pl.Boolean,
    }
)


class PromotionError(ValueError):
    """A promotions.csv row that cannot be read; names the file, line and value."""


@dataclass(frozen=True)
class Promotion:
    promotion_id: str
    promotion_name: str
    credit_micros: int | None  # None: no automatic credit, manual grants only
    category: str
    plan_ids: tuple[str, ...]  # empty: any plan
    service_type: str | None  # None: any
    account_classes: tuple[str, ...]  # empty: any
    activated_from: date | None
    activated_to: date | None
    credit_months: int
    first_period: str
    last_period: str | None  # None: open
    approved_by: str | None
    approval_limit_micros: int | None  # None: nothing approved

    def runs(self, billing_period: str) -> bool:
        """Whether ``billing_period`` is within [first_period, last_period]."""
        return self.first_period <= billing_period and (
            self.last_period is None or billing_period <= self.last_period
        )


def read_promotions(layout: Layout) -> list[Promotion]:
    """The promotions of ``promotions.csv`` (none without the file), checked row by row."""
    path = layout.reference / PROMOTIONS_FILE
    if not path.is_file():
        return []
    rows = pl.read_csv(path, infer_schema=False).with_columns(pl.all().fill_null(""))
    missing = [column for column in _COLUMNS if column not in rows.columns]
    if missing:
        raise PromotionError(f"{PROMOTIONS_FILE}: missing column(s) {', '.join(missing)}")
    promotions: list[Promotion] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows.iter_rows(named=True), start=2):
        where = f"{PROMOTIONS_FILE}:{line}"
        promotion = _promotion({k: row[k].strip() for k in _COLUMNS}, where)
        if promotion.promotion_id in seen:
            raise PromotionError(
                f"{where}: promotion_id {promotion.promotion_id} repeats line "
                f"{seen[promotion.promotion_id]}"
            )
        seen[promotion.promotion_id] = line
        promotions.append(promotion)
    return promotions


def eligible_lines(
    layout: Layout, billing_period: str, promotions: list[Promotion] | None = None
) -> pl.DataFrame:
    """Every (promotion, line) eligible in ``billing_period`` (``ELIGIBLE_SCHEMA``), by the
    rules of the module docstring; ``promotions`` defaults to ``read_promotions``."""
    if promotions is None:
        promotions = read_promotions(layout)
    running = [p for p in promotions if p.runs(billing_period)]
    if not running:
        return pl.DataFrame(schema=ELIGIBLE_SCHEMA)
    first_day, last_day = parse_period(billing_period)
    period_index = _month_index(first_day)
    lines = _lines_in_service(layout, last_day)
    frames = []
    for promotion in running:
        # The start run: the activation's period, or the promotion's first for earlier lines.
        first_run = _month_index(parse_period(promotion.first_period)[0])
        start_run = pl.max_horizontal(pl.col("activation_run"), pl.lit(first_run))
        conditions = [period_index - start_run < promotion.credit_months]
        if promotion.plan_ids:
            conditions.append(pl.col("plan_id").is_in(list(promotion.plan_ids)))
        if promotion.service_type is not None:
            conditions.append(pl.col("service_type") == promotion.service_type)
        if promotion.account_classes:
            conditions.append(pl.col("account_class").is_in(list(promotion.account_classes)))
        if promotion.activated_from is not None:
            conditions.append(pl.col("activated") >= promotion.activated_from)
        if promotion.activated_to is not None:
            conditions.append(pl.col("activated") <= promotion.activated_to)
        frames.append(
            lines.filter(*conditions).select(
                pl.lit(promotion.promotion_id).alias("promotion_id"),
                "account_id",
                "subscriber_id",
                pl.lit(promotion.credit_micros is not None).alias("is_credited"),
            )
        )
    return pl.concat(frames).cast(ELIGIBLE_SCHEMA).sort("promotion_id", "subscriber_id")


def promotional_credits(layout: Layout, billing_period: str) -> pl.DataFrame:
    """The automatic credits of ``billing_period`` (``adjustments.SCHEMA``): one per
    eligible line of each promotion with a credit, applied or held with its reason."""
    promotions = read_promotions(layout)
    return credits_of(
        promotions, eligible_lines(layout, billing_period, promotions), billing_period
    )


def credits_of(
    promotions: list[Promotion], eligible: pl.DataFrame, billing_period: str
) -> pl.DataFrame:
    """``promotional_credits`` from the promotions and their ``eligible_lines``."""
    credited = eligible.filter(pl.col("is_credited"))
    terms = pl.DataFrame(
        [
            {
                "promotion_id": p.promotion_id,
                "category": p.category,
                "amount_micros": p.credit_micros,
                "description": p.promotion_name,
                "approved_by": p.approved_by,
                "approval_limit_micros": p.approval_limit_micros,
            }
            for p in promotions
        ],
        schema={
            "promotion_id": pl.String,
            "category": pl.String,
            "amount_micros": pl.Int64,
            "description": pl.String,
            "approved_by": pl.String,
            "approval_limit_micros": pl.Int64,
        },
    )
    return (
        credited.join(terms, on="promotion_id", how="left")
        .with_columns(
            (
                pl.lit("PROMO-") + pl.col("promotion_id") + pl.lit("-") + pl.col("subscriber_id")
            ).alias("adjustment_id"),
            pl.lit(billing_period).alias("billing_period"),
            pl.lit("promotional").alias("adjustment_type"),
            # The same reasons, in the same order, as adjustments.csv's approval checks.
            pl.when(pl.col("approved_by").is_null())
            .then(pl.lit("missing_approver"))
            .when(
                pl.col("approval_limit_micros").is_null()
                | (pl.col("amount_micros") > pl.col("approval_limit_micros"))
            )
            .then(pl.lit("above_approval_limit"))
            .alias("hold_reason"),
        )
        .with_columns(
            pl.when(pl.col("hold_reason").is_null())
            .then(pl.lit(adjustments.APPLIED))
            .otherwise(pl.lit(adjustments.HELD))
            .alias("adjustment_status")
        )
        .select(list(adjustments.SCHEMA))
        .cast(adjustments.SCHEMA)
        .sort("adjustment_id")
    )


def _lines_in_service(layout: Layout, last_day: date) -> pl.DataFrame:
    """Lines in service on ``last_day`` (rule 1) with their account's class and the month
    index of their activation. A line whose dates do not read, or whose account is not in
    accounts.csv, cannot be shown eligible and is left out."""
    accounts = read_reference(layout, "accounts.csv").select("account_id", "account_class")
    cancelled = pl.col("cancelled_date").fill_null("").str.strip_chars()
    return (
        read_reference(layout, "subscribers.csv")
        .select(
            "subscriber_id",
            "account_id",
            "service_type",
            "plan_id",
            "status",
            pl.col("activated_date").str.to_date("%Y-%m-%d", strict=False).alias("activated"),
            cancelled.alias("cancelled_text"),
            cancelled.str.to_date("%Y-%m-%d", strict=False).alias("cancelled"),
        )
        .filter(
            pl.col("activated") <= last_day,
            (pl.col("cancelled_text") == "") | (pl.col("cancelled") > last_day),
            pl.col("status").fill_null("") != "suspended",
        )
        .join(accounts, on="account_id", how="inner")
        .with_columns(
            (pl.col("activated").dt.year() * 12 + pl.col("activated").dt.month() - 1)
            .cast(pl.Int64)
            .alias("activation_run")
        )
    )


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _promotion(row: dict[str, str], where: str) -> Promotion:
    promotion_id = row["promotion_id"]
    if not _ID.match(promotion_id):
        raise PromotionError(
            f"{where}: promotion_id {promotion_id!r} must be letters, digits, '_', '.' or '-'"
        )
    if not row["promotion_name"]:
        raise PromotionError(f"{where}: promotion_name is empty")
    credit = _micros(row["credit_micros"], "credit_micros", where) if row["credit_micros"] else None
    if credit is not None and (credit <= 0 or credit % _CENT):
        raise PromotionError(
            f"{where}: credit_micros {credit} must be above 0 and whole cents (x 10000)"
        )
    if row["category"] not in CATEGORIES:
        raise PromotionError(f"{where}: unknown category {row['category']!r}")
    service_type = row["service_type"] or None
    if service_type is not None and service_type not in SERVICE_TYPES:
        raise PromotionError(f"{where}: unknown service_type {service_type!r}")
    account_classes = tuple(row["account_classes"].split())
    unknown = [c for c in account_classes if c not in ACCOUNT_CLASSES]
    if unknown:
        raise PromotionError(f"{where}: unknown account_classes {' '.join(unknown)}")
    activated_from = _date(row["activated_from"], "activated_from", where)
    activated_to = _date(row["activated_to"], "activated_to", where)
    if activated_from and activated_to and activated_to < activated_from:
        raise PromotionError(f"{where}: activated_to {activated_to} is before activated_from")
    months = row["credit_months"]
    if not _DIGITS.match(months) or int(months) < 1:
        raise PromotionError(f"{where}: credit_months {months!r} must be a whole number >= 1")
    first_period = _period(row["first_period"], "first_period", where)
    if first_period is None:
        raise PromotionError(f"{where}: first_period is empty")
    last_period = _period(row["last_period"], "last_period", where)
    if last_period is not None and last_period < first_period:
        raise PromotionError(f"{where}: last_period {last_period} is before first_period")
    limit = row["approval_limit_micros"]
    return Promotion(
        promotion_id=promotion_id,
        promotion_name=row["promotion_name"],
        credit_micros=credit,
        category=row["category"],
        plan_ids=tuple(row["plan_ids"].split()),
        service_type=service_type,
        account_classes=account_classes,
        activated_from=activated_from,
        activated_to=activated_to,
        credit_months=int(months),
        first_period=first_period,
        last_period=last_period,
        approved_by=row["approved_by"] or None,
        approval_limit_micros=_micros(limit, "approval_limit_micros", where) if limit else None,
    )


def _micros(text: str, column: str, where: str) -> int:
    if not _DIGITS.match(text):
        raise PromotionError(f"{where}: {column} {text!r} is not a whole number of micro-units")
    return int(text)


def _date(text: str, column: str, where: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PromotionError(f"{where}: {column} {text!r} is not an ISO date") from None


def _period(text: str, column: str, where: str) -> str | None:
    if not text:
        return None
    try:
        parse_period(text)
    except ValueError:
        raise PromotionError(f"{where}: {column} {text!r} is not a YYYY-MM period") from None
    return text
