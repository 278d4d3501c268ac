"""Payment allocation for every account at once against the per-event reference
(reference_receivables.py) on generated histories: invoices, credit notes and zero
invoices on shared days and due dates, payments partial, exact, over and none, naming
their own invoice, another account's, a credit note, an unknown or a not yet issued one."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
import pytest
import reference_receivables as reference

from pipelines.billing.charges import CENT
from pipelines.billing.cycles import CYCLE_SCHEMA
from pipelines.billing.policy import BillingPolicy
from pipelines.billing.receivables import (
    BALANCE_SCHEMA,
    INVOICE_SCHEMA,
    PAYMENT_SCHEMA,
    allocate,
    late_fee_charges,
)

JAN_1 = date(2025, 1, 1)


def _day(rng: random.Random, days: int = 365) -> date:
    return JAN_1 + timedelta(days=rng.randrange(days))


def _cents(rng: random.Random, low: int, high: int) -> int:
    return rng.randrange(low, high) * CENT


def _history(seed: int, n_accounts: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    invoices, payments = [], []
    for a in range(n_accounts):
        account = f"A{a:03d}"
        # Few days and due dates per account, so invoices and payments share them.
        days = [_day(rng) for _ in range(4)]
        for _ in range(rng.choice([0, 1, 2, 3, 5, 8])):
            issued = rng.choice(days)
            kind = rng.random()
            amount = (
                0
                if kind < 0.05
                else -_cents(rng, 1, 5_000)
                if kind < 0.2
                else _cents(rng, 1, 20_000)
            )
            due = issued + timedelta(days=rng.choice([0, 21, 21, 30]))
            invoices.append((f"I{rng.randrange(10**6):06d}", account, issued, due, amount))
    issued_ids = [row[0] for row in invoices]
    for a in range(n_accounts):
        account = f"A{a:03d}"
        own = [row[0] for row in invoices if row[1] == account]
        for _ in range(rng.choice([0, 1, 1, 2, 4, 6])):
            choice = rng.random()
            if choice < 0.45 or not own:
                named = None
            elif choice < 0.75:
                named = rng.choice(own)  # its own: open, paid, a credit note or not issued yet
            elif choice < 0.9:
                named = rng.choice(issued_ids)  # most likely another account's
            else:
                named = "UNKNOWN"
            payments.append(
                (
                    f"P{rng.randrange(10**6):06d}",
                    account,
                    _day(rng),
                    _cents(rng, 1, 30_000),
                    rng.choice(["card", "ach"]),
                    named,
                )
            )
    return (
        pl.DataFrame(invoices, schema=INVOICE_SCHEMA, orient="row").unique(
            "invoice_id", keep="first", maintain_order=True
        ),
        pl.DataFrame(payments, schema=PAYMENT_SCHEMA, orient="row").unique(
            "payment_id", keep="first", maintain_order=True
        ),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_allocations_and_credits_match_the_reference(seed):
    invoices, payments = _history(seed, 300)
    for as_of in (date(2025, 3, 31), date(2025, 8, 15), date(2025, 12, 31), date(2026, 2, 1)):
        expected_allocations, expected_credits = reference.allocate(invoices, payments, as_of)
        result = allocate(invoices, payments, as_of)
        assert result.allocations.rows() == expected_allocations.rows(), as_of
        assert result.credits.rows() == expected_credits.rows(), as_of


def test_the_generated_histories_cover_every_allocation_path():
    invoices, payments = _history(1, 300)
    expected, credits = reference.allocate(invoices, payments, date(2026, 2, 1))
    assert set(expected["allocation_source"]) == {"payment", "credit_note"}
    # A credit applied to a later invoice is dated on that invoice, not the payment.
    received = payments.select("payment_id", "received_date")
    later = expected.join(received, on="payment_id").filter(
        pl.col("applied_date") > pl.col("received_date")
    )
    assert later.height
    assert credits.filter(pl.col("unapplied_credit_micros") > 0).height
    # Partly paid invoices: more than one allocation, or one below the amount.
    assert expected.group_by("invoice_id").len().filter(pl.col("len") > 1).height
    named = payments.filter(pl.col("invoice_id").is_not_null())
    assert named.join(invoices, on=["invoice_id", "account_id"]).height
    assert (
        named.join(invoices, on="invoice_id")
        .filter(pl.col("account_id") != pl.col("account_id_right"))
        .height
    )


def test_a_repeated_id_refuses_as_the_reference_does():
    invoices, payments = _history(4, 20)
    twice = pl.concat([payments, payments.head(2)])
    with pytest.raises(ValueError) as refused:
        allocate(invoices, twice, date(2026, 1, 1))
    with pytest.raises(ValueError) as expected:
        reference.allocate(invoices, twice, date(2026, 1, 1))
    assert str(refused.value) == str(expected.value)


def test_no_events_allocate_nothing():
    result = allocate(
        pl.DataFrame(schema=INVOICE_SCHEMA), pl.DataFrame(schema=PAYMENT_SCHEMA), JAN_1
    )
    assert result.allocations.is_empty() and result.credits.is_empty()


@pytest.mark.parametrize(
    "policy",
    [
        BillingPolicy(),
        BillingPolicy(late_fee_percent_ppm=12_345, late_fee_minimum_overdue_micros=0),
        BillingPolicy(late_fee_percent_ppm=1_000_000, late_fee_fixed_micros=0),
    ],
    ids=["defaults", "odd-percent-no-minimum", "all-of-it"],
)
def test_late_fees_match_the_reference(policy):
    rng = random.Random(policy.late_fee_percent_ppm)
    # Past-due balances around the minimum and the fixed fee's break-even, half cents of
    # the percentage, and balances in the billions.
    amounts = [
        policy.late_fee_minimum_overdue_micros,
        policy.late_fee_minimum_overdue_micros - CENT,
        333_333_330_000,
        1_234_567_890_120_000,
        *(_cents(rng, 1, 100_000) for _ in range(300)),
        *(rng.randrange(1, 10**12) * CENT for _ in range(50)),
    ]
    cycles = pl.DataFrame(
        [
            (f"A{n:04d}", 15, "America/Chicago", date(2025, 2, 15), date(2025, 3, 15), None, None)
            for n in range(len(amounts))
        ],
        schema=CYCLE_SCHEMA,
        orient="row",
    )
    balances = pl.DataFrame(
        [
            (f"I{n}", f"A{n:04d}", date(2025, 1, 1), date(2025, 1, 22), amount, 0, amount, None)
            for n, amount in enumerate(amounts)
        ],
        schema=BALANCE_SCHEMA,
        orient="row",
    )
    fees = late_fee_charges(balances, cycles, policy)
    past_due = (
        balances.join(cycles, on="account_id")
        .filter(pl.col("open_micros") >= max(policy.late_fee_minimum_overdue_micros, 1))
        .select("account_id", "bill_date", pl.col("open_micros").alias("past_due_micros"))
        .sort("account_id")
    )
    assert fees.rows() == reference.late_fee_charges(past_due, policy).rows()
    assert fees.height == past_due.height > 300
