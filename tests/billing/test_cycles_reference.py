"""Bill cycles for every account at once against the per-account reference
(reference_cycles.py): cycle days 1 to 28 written as the CRM writes them, time zones given
or defaulted, and the accounts that refuse the run."""

from __future__ import annotations

import random

import polars as pl
import pytest
import reference_cycles as reference

from pipelines.billing.cycles import cycles_of
from pipelines.billing.policy import BillingPolicy

ZONES = ["", "", "America/New_York", "America/Los_Angeles", "Pacific/Honolulu", None]


def _accounts(seed: int, n: int, cycle_days: list[str], zones: list[str | None]) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame(
        {
            "account_id": [f"A{rng.randrange(10 * n):05d}" for _ in range(n)],
            "bill_cycle_day": [rng.choice(cycle_days) for _ in range(n)],
            "time_zone": [rng.choice(zones) for _ in range(n)],
        },
        schema=dict.fromkeys(("account_id", "bill_cycle_day", "time_zone"), pl.String),
    )


@pytest.mark.parametrize("period", ["2025-01", "2025-02", "2025-12", "2026-10"])
def test_cycles_match_the_reference(period):
    days = [str(day) for day in range(1, 29)] + ["01", "015", "1", "15"]
    accounts = _accounts(1, 500, days, ZONES)
    policy = BillingPolicy(payment_terms_days=21)
    assert (
        cycles_of(accounts, period, policy).rows()
        == reference.cycles_of(accounts, period, policy).rows()
    )


def test_without_a_time_zone_column_every_account_bills_in_the_operators():
    accounts = _accounts(2, 50, ["1", "15"], [""]).drop("time_zone")
    policy = BillingPolicy(payment_terms_days=14)
    assert (
        cycles_of(accounts, "2025-03", policy).rows()
        == reference.cycles_of(accounts, "2025-03", policy).rows()
    )


def test_bad_cycle_days_and_zones_refuse_the_run_as_the_reference_does():
    days = ["1", "15", "0", "29", "31", "", "x", "1.5", " 3", "-1", "99999999999", None]
    accounts = _accounts(3, 60, days, [*ZONES, "Mars/Olympus", "../etc"])
    with pytest.raises(ValueError) as refused:
        cycles_of(accounts, "2025-03", BillingPolicy())
    with pytest.raises(ValueError) as expected:
        reference.cycles_of(accounts, "2025-03", BillingPolicy())
    assert str(refused.value) == str(expected.value)
    assert "unknown time_zone 'Mars/Olympus'" in str(refused.value)
