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

from datetime import date
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
    accounts = read_reference(layout, "accounts.csv")
    if "time_zone" not in accounts.columns:
        accounts = accounts.with_columns(pl.lit("").alias("time_zone"))
    problems = []
    rows = []
    for account_id, cycle_text, zone in accounts.select(
        "account_id", "bill_cycle_day", "time_zone"
    ).iter_rows():
        zone = zone or OPERATOR_TIMEZONE
        cycle_day = int(cycle_text) if cycle_text and cycle_text.isdigit() else 0
        if not 1 <= cycle_day <= MAX_CYCLE_DAY:
            problems.append(f"{account_id}: bill_cycle_day {cycle_text!r} is not 1-28")
            continue
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"{account_id}: unknown time_zone {zone!r}")
            continue
        billed = bill_date(billing_period, cycle_day)
        rows.append(
            (
                account_id,
                cycle_day,
                zone,
                shift_month(billed, -1),
                billed,
                shift_month(billed, 1),
                billed.fromordinal(billed.toordinal() + policy.payment_terms_days),
            )
        )
    if problems:
        raise ValueError("accounts.csv: " + "; ".join(problems))
    return pl.DataFrame(rows, schema=CYCLE_SCHEMA, orient="row").sort("account_id")
