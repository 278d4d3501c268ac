"""Bill cycles: when each account is billed and which service days a bill run covers.

A bill run is labelled by its billing period ``YYYY-MM``, the calendar month whose usage it
bills (the rating period). Each account bills on its cycle day (accounts.csv
``bill_cycle_day``, 1-28) in its time zone (optional ``time_zone`` column, default the
operator's):

- bill date: the cycle day of the month after the period (cycle day 1: the first day after
  the period closes), the invoice date;
- due date: the bill date plus the policy's payment terms;
- advance period: from the bill date to the day before the next bill date: the service
  days this bill charges recurring fees for in advance;
- previous bill date: the cycle day of the period's own month, where the advance period
  the previous bill charged began.

Dates are calendar dates in the account's time zone, which the invoice carries.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from pipelines.billing.policy import BillingPolicy
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.periods import parse_period
from pipelines.reference import read_reference

#: The last cycle day: every month has it.
MAX_CYCLE_DAY = 28

CYCLE_SCHEMA = pl.Schema(
    {
        "account_id": pl.String,
        "bill_cycle_day": pl.Int32,
        "time_zone": pl.String,
        "previous_bill_date": pl.Date,
        "bill_date": pl.Date,
        "next_bill_date": pl.Date,
        "due_date": pl.Date,
    }
)


def shift_month(day: date, months: int) -> date:
    """``day``'s day of the month, ``months`` later (the day must be <= 28)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


def bill_date(billing_period: str, cycle_day: int) -> date:
    first, _ = parse_period(billing_period)
    return shift_month(first.replace(day=cycle_day), 1)


def account_cycles(layout: Layout, billing_period: str, policy: BillingPolicy) -> pl.DataFrame:
    """Every account's bill dates for the run (``CYCLE_SCHEMA``), sorted by account.

    An account whose cycle day is not 1-28 or whose time zone is unknown refuses the run,
    naming the accounts: its bill date would be a guess.
    """
    return cycles_of(read_reference(layout, "accounts.csv"), billing_period, policy)


def cycles_of(accounts: pl.DataFrame, billing_period: str, policy: BillingPolicy) -> pl.DataFrame:
    """``account_cycles`` of ``accounts`` (accounts.csv as text)."""
    if "time_zone" not in accounts.columns:
        accounts = accounts.with_columns(pl.lit("").alias("time_zone"))
    zones = accounts["time_zone"].fill_null("").replace("", OPERATOR_TIMEZONE).unique()
    unknown = [zone for zone in zones if not _known_zone(zone)]
    cycle_text = pl.col("bill_cycle_day")
    checked = accounts.select(
        "account_id",
        cycle_text.alias("cycle_text"),
        # A cycle day is digits only; anything else reads as 0, outside 1-28.
        pl.when(cycle_text.str.contains(r"^[0-9]+$"))
        .then(cycle_text.str.strip_chars_start("0").str.head(3).cast(pl.Int32, strict=False))
        .fill_null(0)
        .alias("bill_cycle_day"),
        pl.col("time_zone").fill_null("").replace("", OPERATOR_TIMEZONE),
    )
    in_range = pl.col("bill_cycle_day").is_between(1, MAX_CYCLE_DAY)
    refused = checked.filter(~in_range | pl.col("time_zone").is_in(unknown))
    if refused.height:
        raise ValueError(
            "accounts.csv: "
            + "; ".join(
                f"{account_id}: bill_cycle_day {cycle!r} is not 1-28"
                if not 1 <= day <= MAX_CYCLE_DAY
                else f"{account_id}: unknown time_zone {zone!r}"
                for account_id, cycle, day, zone in refused.iter_rows()
            )
        )
    days = pl.DataFrame(
        [
            (
                cycle_day,
                shift_month(billed, -1),
                billed,
                shift_month(billed, 1),
                billed + timedelta(days=policy.payment_terms_days),
            )
            for cycle_day in range(1, MAX_CYCLE_DAY + 1)
            for billed in [bill_date(billing_period, cycle_day)]
        ],
        schema=["bill_cycle_day", "previous_bill_date", "bill_date", "next_bill_date", "due_date"],
        schema_overrides={"bill_cycle_day": pl.Int32},
        orient="row",
    )
    return (
        checked.join(days, on="bill_cycle_day", how="left", maintain_order="left")
        .select(list(CYCLE_SCHEMA))
        .cast(CYCLE_SCHEMA)
        .sort("account_id", maintain_order=True)
    )


def _known_zone(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
