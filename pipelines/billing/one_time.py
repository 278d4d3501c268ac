"""One-time fees: what a completed service order costs, billed once (one_time_fees.csv).

The optional reference file ``one_time_fees.csv`` is the fee catalog: fee_id, fee_name (the
invoice line's text), order_type (of crm_orders.csv), service_type (of the order's line in
subscribers.csv), category (the tax category, ``pipelines.taxes.model.CATEGORIES``),
amount_micros (> 0, whole cents), effective_from and effective_to (both inclusive; empty
effective_to: open). Rows sharing fee_id, order_type and service_type are versions of one
fee (a price change) and must not overlap; different fee_ids for the same order and service
type are separate fees, each billed (an activation fee and an installation fee).

The run for a billing period bills every order completed in the period's calendar month
(order_status ``completed``, completed_date in the month) once per fee with a version in
effect on the completed date: charge_source ``one_time``, charge_key
``<order_id>/<fee_id>``, 1 ``order``, service_from = service_to = the completed date. An
open order bills nothing until the run of the month it completes in.

Problems refuse the run, naming file:line: a fee row that is not a valid catalog entry, and
a completed order without a valid completed_date or, in the period, whose line is unknown
or on another account. Billing around them would charge a guess: an invoice line cannot
show which catalog row or customer it should have been.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.billing.charges import CENT, conform, empty_charges
from pipelines.billing.lifecycle import ORDER_TYPES
from pipelines.config import Layout
from pipelines.periods import parse_period
from pipelines.reference import read_reference
from pipelines.taxes.model import CATEGORIES

ONE_TIME_FEES_FILE = "one_time_fees.csv"
SERVICE_TYPES = ("mobile", "fixed_voip", "broadband", "tv")
FEE_COLUMNS = (
    "fee_id",
    "fee_name",
    "order_type",
    "service_type",
    "category",
    "amount_micros",
    "effective_from",
    "effective_to",
)
FEE_SCHEMA = pl.Schema(
    {
        "fee_id": pl.String,
        "fee_name": pl.String,
        "order_type": pl.String,
        "service_type": pl.String,
        "category": pl.String,
        "amount_micros": pl.Int64,
        "effective_from": pl.Date,
        "effective_to": pl.Date,
    }
)
#: Problems listed in one error; the rest are counted.
_LISTED_PROBLEMS = 20


def one_time_charges(layout: Layout, billing_period: str) -> pl.DataFrame:
    """The period's one-time fees (``CHARGE_SCHEMA``); none without one_time_fees.csv."""
    path = layout.reference / ONE_TIME_FEES_FILE
    if not path.is_file():
        return empty_charges()
    first, last = parse_period(billing_period)
    return order_fee_charges(
        read_reference(layout, "crm_orders.csv"),
        read_reference(layout, "subscribers.csv"),
        pl.read_csv(path, infer_schema=False),
        first,
        last,
    )


def order_fee_charges(
    orders: pl.DataFrame, lines: pl.DataFrame, fees: pl.DataFrame, first: date, last: date
) -> pl.DataFrame:
    """The fees of the orders completed from ``first`` to ``last`` (``CHARGE_SCHEMA``).

    All three frames are text as their files read (crm_orders.csv, subscribers.csv,
    one_time_fees.csv), row i being file line i + 2, so problems name the line.
    """
    versions = fee_versions(fees)
    completed = _orders_completed(orders, lines, first, last)
    billed = completed.join(versions, on=["order_type", "service_type"]).filter(
        (pl.col("effective_from") <= pl.col("completed_date"))
        & (pl.col("effective_to").is_null() | (pl.col("completed_date") <= pl.col("effective_to")))
    )
    return conform(
        billed.select(
            pl.lit("one_time").alias("charge_source"),
            pl.format("{}/{}", "order_id", "fee_id").alias("charge_key"),
            "account_id",
            "subscriber_id",
            "category",
            pl.col("fee_name").alias("description"),
            pl.lit(1).alias("quantity"),
            pl.lit("order").alias("quantity_unit"),
            pl.col("completed_date").alias("service_from"),
            pl.col("completed_date").alias("service_to"),
            "amount_micros",
        )
    ).sort("account_id", "charge_key")


def fee_versions(fees: pl.DataFrame) -> pl.DataFrame:
    """one_time_fees.csv (text) checked and typed as ``FEE_SCHEMA``."""
    missing = [column for column in FEE_COLUMNS if column not in fees.columns]
    if missing:
        raise ValueError(f"{ONE_TIME_FEES_FILE}: missing column(s) {', '.join(missing)}")
    rows = numbered_rows(fees.select(FEE_COLUMNS)).with_columns(
        pl.col("amount_micros").cast(pl.Int64, strict=False).alias("amount"),
        text_date("effective_from").alias("from"),
        text_date("effective_to").alias("to"),
    )
    refuse_rows(
        ONE_TIME_FEES_FILE,
        rows,
        [
            pl.when(pl.col("fee_id").is_null()).then(pl.lit("fee_id is empty")),
            pl.when(pl.col("fee_name").is_null()).then(pl.lit("fee_name is empty")),
            _unless_in("order_type", ORDER_TYPES),
            _unless_in("service_type", SERVICE_TYPES),
            _unless_in("category", CATEGORIES),
            pl.when(pl.col("amount").is_null()).then(
                quoted("amount_micros {} is not a whole number of micros", "amount_micros")
            ),
            pl.when(pl.col("amount") <= 0).then(
                pl.format("amount_micros {} is not above zero", "amount")
            ),
            pl.when(pl.col("amount") % CENT != 0).then(
                pl.format("amount_micros {} is not whole cents", "amount")
            ),
            pl.when(pl.col("from").is_null()).then(
                quoted("effective_from {} is not a date (YYYY-MM-DD)", "effective_from")
            ),
            pl.when(pl.col("effective_to").is_not_null() & pl.col("to").is_null()).then(
                quoted("effective_to {} is not a date (YYYY-MM-DD)", "effective_to")
            ),
            pl.when(pl.col("to") < pl.col("from")).then(
                pl.lit("effective_to is before effective_from")
            ),
        ],
    )
    versions = ["fee_id", "order_type", "service_type"]
    # Sorted by start, a version overlapping any earlier one overlaps the one just before it.
    ordered = rows.sort([*versions, "from"]).with_columns(
        pl.col("to").shift(1).over(versions).alias("previous_to"),
        pl.col("line").shift(1).over(versions).alias("previous_line"),
    )
    refuse_rows(
        ONE_TIME_FEES_FILE,
        ordered,
        [
            pl.when(
                pl.col("previous_line").is_not_null()
                & (pl.col("previous_to").is_null() | (pl.col("previous_to") >= pl.col("from")))
            ).then(
                pl.format(
                    "fee {} for {} of {} overlaps the version on line {}",
                    "fee_id",
                    "order_type",
                    "service_type",
                    "previous_line",
                )
            )
        ],
    )
    return rows.select(
        *FEE_COLUMNS[:5],
        pl.col("amount").alias("amount_micros"),
        pl.col("from").alias("effective_from"),
        pl.col("to").alias("effective_to"),
    ).cast(FEE_SCHEMA)


def _orders_completed(
    orders: pl.DataFrame, lines: pl.DataFrame, first: date, last: date
) -> pl.DataFrame:
    """The orders completed from ``first`` to ``last`` with their line's service_type."""
    completed = (
        numbered_rows(orders)
        .filter(pl.col("order_status") == "completed")
        .with_columns(text_date("completed_date").alias("completed_day"))
    )
    refuse_rows(
        "crm_orders.csv",
        completed,
        [
            pl.when(pl.col("completed_day").is_null()).then(
                quoted(
                    "completed order {} has no valid completed_date: {}",
                    "order_id",
                    "completed_date",
                )
            )
        ],
    )
    in_period = completed.filter(pl.col("completed_day").is_between(first, last)).join(
        numbered_rows(lines).select(
            "subscriber_id", pl.col("account_id").alias("line_account_id"), "service_type"
        ),
        on="subscriber_id",
        how="left",
    )
    refuse_rows(
        "crm_orders.csv",
        in_period,
        [
            pl.when(pl.col("line_account_id").is_null()).then(
                quoted(
                    "order {}: subscriber_id {} is not in subscribers.csv",
                    "order_id",
                    "subscriber_id",
                )
            ),
            pl.when(pl.col("line_account_id") != pl.col("account_id")).then(
                quoted(
                    "order {}: subscriber_id {} is on account {}, not {}",
                    "order_id",
                    "subscriber_id",
                    "line_account_id",
                    "account_id",
                )
            ),
        ],
    )
    return in_period.select(
        "order_id",
        "account_id",
        "subscriber_id",
        "order_type",
        "service_type",
        pl.col("completed_day").alias("completed_date"),
    )


# Checking a reference file's rows, shared with installments.py.


def numbered_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank cells null, and each row's file line (the header is line 1)."""
    return frame.with_columns(
        pl.col(pl.String).str.strip_chars().replace("", None),
        (pl.int_range(pl.len()) + 2).alias("line"),
    )


def text_date(column: str) -> pl.Expr:
    """A YYYY-MM-DD text column as dates; null where the text is not one."""
    return pl.col(column).str.to_date("%Y-%m-%d", strict=False)


def _unless_in(column: str, allowed: tuple[str, ...]) -> pl.Expr:
    return pl.when(~pl.col(column).is_in(allowed).fill_null(False)).then(
        quoted(f"unknown {column} {{}}", column)
    )


def quoted(template: str, *columns: str) -> pl.Expr:
    """``template`` with each column's text in quotes, '' when empty."""
    return pl.format(template, *[pl.format("'{}'", pl.col(c).fill_null("")) for c in columns])


def refuse_rows(file: str, rows: pl.DataFrame, checks: list[pl.Expr]) -> None:
    """Raise naming ``file:line`` and what is wrong, if any check finds a problem."""
    problems = rows.select(
        "line", pl.concat_str(checks, separator="; ", ignore_nulls=True).alias("problem")
    ).filter(pl.col("problem") != "")
    if not problems.height:
        return
    listed = [f"{file}:{line}: {problem}" for line, problem in problems.sort("line").iter_rows()]
    more = len(listed) - _LISTED_PROBLEMS
    raise ValueError(
        "; ".join(listed[:_LISTED_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
    )
