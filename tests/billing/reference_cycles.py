"""The reference bill cycles: each account's dates computed one account at a time.

``pipelines.billing.cycles.cycles_of`` computes the same for every account at once and is
tested against it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from pipelines.billing.cycles import CYCLE_SCHEMA, MAX_CYCLE_DAY, bill_date, shift_month
from pipelines.billing.policy import BillingPolicy
from pipelines.config import OPERATOR_TIMEZONE


def cycles_of(accounts: pl.DataFrame, billing_period: str, policy: BillingPolicy) -> pl.DataFrame:
    """Every account's bill dates (``CYCLE_SCHEMA``) from accounts.csv as text."""
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
    return pl.DataFrame(rows, schema=CYCLE_SCHEMA, orient="row").sort(
        "account_id", maintain_order=True
    )
