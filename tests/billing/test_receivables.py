"""Receivables on hand-computed cases: allocation, late fees, aging, dunning, the reference
files' checks and the generator.

Amounts in the comments are dollars; the code writes micro-units (1.00 = 1_000_000).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.billing.charges import CENT
from pipelines.billing.policy import BillingPolicy
from pipelines.billing.receivables import (
    ALLOCATION_SCHEMA,
    BALANCE_SCHEMA,
    CANCELLED_PAID,
    INVOICE_SCHEMA,
    OPENING_BALANCE_COLUMNS,
    PAYMENT_COLUMNS,
    PAYMENT_SCHEMA,
    REJECTED_OPENING_BALANCE_SCHEMA,
    REJECTED_PAYMENT_SCHEMA,
    SCHEDULED,
    TRIGGERED,
    aging,
    allocate,
    balances_before_bill_date,
    dunning,
    late_fee_charges,
    read_opening_balances,
    read_payments,
)
from pipelines.config import Layout
from pipelines.generate.receivables import opening_balance_rows, payment_rows

DOLLAR = 1_000_000
JAN_1 = date(2026, 1, 1)


def invoices(*rows: tuple[str, str, date, date, float]) -> pl.DataFrame:
    """(invoice_id, account_id, invoice_date, due_date, dollars) rows."""
    return pl.DataFrame(
        [(*row[:4], round(row[4] * DOLLAR)) for row in rows], schema=INVOICE_SCHEMA, orient="row"
    )


def payments(*rows: tuple[str, str, date, float, str | None]) -> pl.DataFrame:
    """(payment_id, account_id, received_date, dollars, named invoice_id) rows."""
    return pl.DataFrame(
        [
            (pid, account, received, round(dollars * DOLLAR), "card", named)
            for pid, account, received, dollars, named in rows
        ],
        schema=PAYMENT_SCHEMA,
        orient="row",
    )


def no_payments() -> pl.DataFrame:
    return pl.DataFrame(schema=PAYMENT_SCHEMA)


def day(month: int, day_of_month: int) -> date:
    return date(2026, month, day_of_month)


def allocated(frame: pl.DataFrame) -> list[tuple[str, str, date, int]]:
    return [
        (row["payment_id"], row["invoice_id"], row["applied_date"], row["allocated_micros"])
        for row in frame.iter_rows(named=True)
    ]


def open_by_invoice(balances: pl.DataFrame) -> dict[str, tuple[int, date | None]]:
    return {
        row["invoice_id"]: (row["open_micros"], row["paid_date"])
        for row in balances.iter_rows(named=True)
    }


# Two invoices of account A: 100.00 due Jan 22, 50.00 due Feb 22.
TWO_INVOICES = invoices(
    ("I1", "A", day(1, 1), day(1, 22), 100),
    ("I2", "A", day(2, 1), day(2, 22), 50),
)


# --- allocation ---------------------------------------------------------------------------


def test_an_unnamed_payment_pays_the_oldest_due_first():
    # 120.00 on Feb 5: 100.00 to I1 (due Jan 22), the other 20.00 to I2; I2 keeps 30.00 open.
    result = allocate(TWO_INVOICES, payments(("P1", "A", day(2, 5), 120, None)), day(3, 1))

    assert allocated(result.allocations) == [
        ("P1", "I1", day(2, 5), 100 * DOLLAR),
        ("P1", "I2", day(2, 5), 20 * DOLLAR),
    ]
    assert open_by_invoice(result.balances) == {"I1": (0, day(2, 5)), "I2": (30 * DOLLAR, None)}
    assert result.credits.rows() == [("A", 0)]


def test_a_named_invoice_is_paid_first_and_the_rest_goes_oldest_first():
    # 60.00 naming I2: I2's 50.00 first, the other 10.00 to I1.
    result = allocate(TWO_INVOICES, payments(("P1", "A", day(2, 5), 60, "I2")), day(3, 1))

    assert allocated(result.allocations) == [
        ("P1", "I2", day(2, 5), 50 * DOLLAR),
        ("P1", "I1", day(2, 5), 10 * DOLLAR),
    ]
    assert open_by_invoice(result.balances) == {"I1": (90 * DOLLAR, None), "I2": (0, day(2, 5))}


@pytest.mark.parametrize(
    "named",
    ["IB", "I9", "I1"],
    ids=["another-accounts-invoice", "unknown-invoice", "already-paid-invoice"],
)
def test_a_payment_naming_no_open_invoice_of_its_account_goes_oldest_first(named):
    frame = pl.concat([TWO_INVOICES, invoices(("IB", "B", day(1, 1), day(1, 22), 10))])
    paid = payments(("P0", "A", day(1, 10), 100, "I1"), ("P1", "A", day(2, 5), 20, named))

    result = allocate(frame, paid, day(3, 1))

    assert allocated(result.allocations.filter(pl.col("payment_id") == "P1")) == [
        ("P1", "I2", day(2, 5), 20 * DOLLAR)
    ]
    assert open_by_invoice(result.balances)["IB"] == (10 * DOLLAR, None)


def test_payments_apply_in_received_date_then_payment_id_order():
    # Both on Jan 10: P1 before P2 (by id), though P2 is listed first.
    paid = payments(("P2", "A", day(1, 10), 70, None), ("P1", "A", day(1, 10), 70, None))

    result = allocate(TWO_INVOICES, paid, day(3, 1))

    assert allocated(result.allocations) == [
        ("P1", "I1", day(1, 10), 70 * DOLLAR),
        ("P2", "I1", day(1, 10), 30 * DOLLAR),
        ("P2", "I2", day(2, 1), 40 * DOLLAR),
    ]


def test_an_overpayment_is_credit_until_the_next_invoice_is_issued():
    # 150.00 on Jan 10 pays I1's 100.00 and leaves 50.00 of credit, which pays 50.00 of I2
    # on its invoice date (Feb 1); I2 keeps 0.00 open.
    paid = payments(("P1", "A", day(1, 10), 150, None))

    before = allocate(TWO_INVOICES, paid, day(1, 31))
    after = allocate(TWO_INVOICES, paid, day(3, 1))

    assert before.credits.rows() == [("A", 50 * DOLLAR)]
    assert open_by_invoice(before.balances) == {"I1": (0, day(1, 10))}
    assert allocated(after.allocations) == [
        ("P1", "I1", day(1, 10), 100 * DOLLAR),
        ("P1", "I2", day(2, 1), 50 * DOLLAR),
    ]
    assert after.credits.rows() == [("A", 0)]
    assert open_by_invoice(after.balances)["I2"] == (0, day(2, 1))


def test_on_one_day_the_invoice_comes_before_the_payment():
    # 30.00 naming I2, received on I2's invoice date, finds I2 open and pays it, though I1
    # is older.
    paid = payments(("P1", "A", day(2, 1), 30, "I2"))

    result = allocate(TWO_INVOICES, paid, day(2, 1))

    assert allocated(result.allocations) == [("P1", "I2", day(2, 1), 30 * DOLLAR)]


def test_a_credit_note_is_applied_like_a_payment_on_its_invoice_date():
    # Credit note C1 of -30.00 on Jan 15 pays 30.00 of I1 and is settled on its date; a
    # second one of -80.00 pays I1's other 70.00 and leaves 10.00 of credit for I2.
    frame = pl.concat(
        [
            TWO_INVOICES,
            invoices(
                ("C1", "A", day(1, 15), day(1, 15), -30),
                ("C2", "A", day(1, 20), day(1, 20), -80),
            ),
        ]
    )

    result = allocate(frame, no_payments(), day(3, 1))

    assert allocated(result.allocations) == [
        ("C1", "I1", day(1, 15), 30 * DOLLAR),
        ("C2", "I1", day(1, 20), 70 * DOLLAR),
        ("C2", "I2", day(2, 1), 10 * DOLLAR),
    ]
    assert set(result.allocations["allocation_source"]) == {"credit_note"}
    balances = {row["invoice_id"]: row for row in result.balances.iter_rows(named=True)}
    assert (balances["C1"]["paid_micros"], balances["C1"]["open_micros"]) == (-30 * DOLLAR, 0)
    assert balances["C1"]["paid_date"] == day(1, 15)
    assert balances["I2"]["open_micros"] == 40 * DOLLAR
    assert result.allocations.schema == ALLOCATION_SCHEMA
    assert result.balances.schema == BALANCE_SCHEMA


def test_a_repeated_invoice_id_refuses_the_allocation():
    frame = pl.concat([TWO_INVOICES, invoices(("I1", "B", day(1, 1), day(1, 22), 5))])

    with pytest.raises(ValueError, match="invoice_id I1 repeats"):
        allocate(frame, no_payments(), day(3, 1))


def check_identities(frame: pl.DataFrame, paid: pl.DataFrame, as_of: date) -> None:
    """For every account: invoices - payments = open - credit; no allocation exceeds its
    payment or its invoice."""
    result = allocate(frame, paid, as_of)
    issued = frame.filter(pl.col("invoice_date") <= as_of)
    received = paid.filter(pl.col("received_date") <= as_of)
    accounts = sorted(set(issued["account_id"]) | set(received["account_id"]))

    def total(table: pl.DataFrame, column: str) -> dict[str, int]:
        sums = table.group_by("account_id").agg(pl.col(column).sum())
        return dict(sums.iter_rows())

    billed, paid_in = total(issued, "amount_micros"), total(received, "amount_micros")
    open_, credit = total(result.balances, "open_micros"), dict(result.credits.iter_rows())
    for account in accounts:
        assert (
            billed.get(account, 0) - paid_in.get(account, 0)
            == open_.get(account, 0) - credit[account]
        )
    sources = pl.concat(
        [
            received.select(pl.col("payment_id"), "amount_micros"),
            issued.filter(pl.col("amount_micros") < 0).select(
                pl.col("invoice_id").alias("payment_id"), -pl.col("amount_micros")
            ),
        ]
    )
    spent = result.allocations.group_by("payment_id").agg(pl.col("allocated_micros").sum())
    assert (
        spent.join(sources, on="payment_id")
        .filter(pl.col("allocated_micros") > pl.col("amount_micros"))
        .is_empty()
    )
    assert (result.balances["open_micros"] >= 0).all()
    assert (result.balances["paid_micros"] <= result.balances["amount_micros"].abs()).all()
    assert (result.allocations["allocated_micros"] > 0).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 90), st.integers(-50, 300)), max_size=8),
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 90), st.integers(1, 300), st.integers(-1, 7)),
        max_size=8,
    ),
    st.integers(0, 100),
)
def test_allocation_identities_hold_on_generated_histories(bills, receipts, as_of_day):
    frame = pl.DataFrame(
        [
            (
                f"I{n}",
                f"A{account}",
                JAN_1 + timedelta(days=offset),
                JAN_1 + timedelta(days=offset + 21),
                dollars * DOLLAR,
            )
            for n, (account, offset, dollars) in enumerate(bills)
        ],
        schema=INVOICE_SCHEMA,
        orient="row",
    )
    paid = pl.DataFrame(
        [
            (
                f"P{n}",
                f"A{account}",
                JAN_1 + timedelta(days=offset),
                dollars * DOLLAR,
                "ach",
                f"I{named}" if named >= 0 else None,
            )
            for n, (account, offset, dollars, named) in enumerate(receipts)
        ],
        schema=PAYMENT_SCHEMA,
        orient="row",
    )
    check_identities(frame, paid, JAN_1 + timedelta(days=as_of_day))


# --- late fees ----------------------------------------------------------------------------

BILL_DATE = day(10, 22)


def late_fees(
    frame: pl.DataFrame, paid: pl.DataFrame, bill_dates: dict[str, date]
) -> dict[str, tuple[int, str]]:
    billed = pl.DataFrame({"account_id": list(bill_dates), "bill_date": list(bill_dates.values())})
    charges = late_fee_charges(
        balances_before_bill_date(frame, paid, billed), billed, BillingPolicy()
    )
    assert set(charges["charge_source"]) <= {"late_fee"}
    assert set(charges["category"]) <= {"late_fee"}
    assert charges["subscriber_id"].is_null().all() and charges["quantity"].is_null().all()
    assert charges["charge_key"].to_list() == charges["account_id"].to_list()
    return {
        row["account_id"]: (row["amount_micros"], row["description"])
        for row in charges.iter_rows(named=True)
    }


def past_due(account: str, dollars: float) -> tuple[str, str, date, date, float]:
    return (f"{account}-SEP", account, day(9, 1), day(9, 22), dollars)


def test_late_fee_is_the_greater_of_the_fixed_fee_and_the_percentage():
    # Policy: 5.00 fixed, 1.5%, on a past-due balance of at least 10.00.
    # P: 500.00 x 1.5% = 7.50 > 5.00. F: 120.00 x 1.5% = 1.80, so 5.00. H: 343.00 x 1.5%
    # = 5.145, half up to 5.15. M: exactly 10.00, so 5.00. U: 9.99, below the minimum.
    frame = invoices(
        past_due("P", 500),
        past_due("F", 120),
        past_due("H", 343),
        past_due("M", 10),
        past_due("U", 9.99),
    )

    fees = late_fees(frame, no_payments(), dict.fromkeys(["F", "H", "M", "P", "U"], BILL_DATE))

    assert fees == {
        "F": (5 * DOLLAR, "Late payment fee ($120.00 past due on 2026-10-22)"),
        "H": (515 * CENT, "Late payment fee (1.5% of $343.00 past due on 2026-10-22)"),
        "M": (5 * DOLLAR, "Late payment fee ($10.00 past due on 2026-10-22)"),
        "P": (750 * CENT, "Late payment fee (1.5% of $500.00 past due on 2026-10-22)"),
    }


def test_late_fee_counts_payments_received_before_the_bill_date_and_invoices_due_before_it():
    # A paid 390.00 of 400.00 the day before its bill date: 10.00 past due. B (billed Oct
    # 15) paid all of it on its bill date, too late: 400.00 past due. C's invoice falls due
    # on its bill date: not past due. D is not billed in this run.
    frame = invoices(
        past_due("A", 400),
        past_due("B", 400),
        ("C-OCT", "C", day(10, 1), BILL_DATE, 400),
        past_due("D", 400),
    )
    paid = payments(
        ("PA", "A", BILL_DATE - timedelta(days=1), 390, None), ("PB", "B", day(10, 15), 400, None)
    )

    fees = late_fees(frame, paid, {"A": BILL_DATE, "B": day(10, 15), "C": BILL_DATE})

    assert fees == {
        "A": (5 * DOLLAR, "Late payment fee ($10.00 past due on 2026-10-22)"),
        "B": (6 * DOLLAR, "Late payment fee (1.5% of $400.00 past due on 2026-10-15)"),
    }


# --- aging ---------------------------------------------------------------------------------

AS_OF = day(6, 30)


def test_aging_buckets_by_days_past_due_at_their_boundaries():
    # Days past due 0, 1, 30, 31, 60, 61, 90, 91 with 1, 2, 4, ..., 128 dollars open.
    days_late = [0, 1, 30, 31, 60, 61, 90, 91]
    frame = invoices(
        *[
            (f"I{late}", "A", AS_OF - timedelta(days=late + 21), AS_OF - timedelta(days=late), 2**n)
            for n, late in enumerate(days_late)
        ],
        ("IB", "B", day(6, 1), day(6, 22), 20),
    )
    result = allocate(frame, payments(("PB", "B", day(6, 2), 50, None)), AS_OF)

    rows = aging(result.balances, result.credits, AS_OF).rows(named=True)

    assert rows == [
        {
            "account_id": "A",
            "as_of_date": AS_OF,
            "current_micros": 1 * DOLLAR,
            "past_due_1_30_micros": (2 + 4) * DOLLAR,
            "past_due_31_60_micros": (8 + 16) * DOLLAR,
            "past_due_61_90_micros": (32 + 64) * DOLLAR,
            "past_due_over_90_micros": 128 * DOLLAR,
            "total_open_micros": 255 * DOLLAR,
            "unapplied_credit_micros": 0,
            "net_balance_micros": 255 * DOLLAR,
        },
        {
            "account_id": "B",
            "as_of_date": AS_OF,
            "current_micros": 0,
            "past_due_1_30_micros": 0,
            "past_due_31_60_micros": 0,
            "past_due_61_90_micros": 0,
            "past_due_over_90_micros": 0,
            "total_open_micros": 0,
            "unapplied_credit_micros": 30 * DOLLAR,
            "net_balance_micros": -30 * DOLLAR,
        },
    ]


# --- dunning -------------------------------------------------------------------------------


def dunned(
    frame: pl.DataFrame, paid: pl.DataFrame, as_of: date
) -> list[tuple[str, str, date, int, str]]:
    result = allocate(frame, paid, as_of)
    stages = dunning(result.balances, result.allocations, BillingPolicy(), as_of)
    return [
        (
            row["invoice_id"],
            row["stage"],
            row["trigger_date"],
            row["open_micros_at_trigger"],
            row["dunning_status"],
        )
        for row in stages.iter_rows(named=True)
    ]


# 100.00 due Jan 22: reminder Jan 27 (+5), suspension Feb 21 (+30), disconnection Mar 23 (+60).
OVERDUE = invoices(("I1", "A", JAN_1, day(1, 22), 100))


def test_dunning_stages_trigger_on_their_dates_and_later_ones_are_scheduled():
    # 60.00 paid Feb 1: 40.00 open at suspension; the disconnection, after the run, carries
    # what is open on Feb 25.
    paid = payments(("P1", "A", day(2, 1), 60, None))

    assert dunned(OVERDUE, paid, day(2, 25)) == [
        ("I1", "reminder", day(1, 27), 100 * DOLLAR, TRIGGERED),
        ("I1", "suspension", day(2, 21), 40 * DOLLAR, TRIGGERED),
        ("I1", "disconnection", day(3, 23), 40 * DOLLAR, SCHEDULED),
    ]


def test_dunning_stages_after_the_invoice_is_paid_are_cancelled():
    # Paid in full on Feb 21, the suspension's trigger date: that stage and the next are
    # cancelled; the reminder had gone out.
    paid = payments(("P1", "A", day(2, 21), 100, None))

    assert dunned(OVERDUE, paid, day(4, 30)) == [
        ("I1", "reminder", day(1, 27), 100 * DOLLAR, TRIGGERED),
        ("I1", "suspension", day(2, 21), 0, CANCELLED_PAID),
        ("I1", "disconnection", day(3, 23), 0, CANCELLED_PAID),
    ]


def test_a_stage_paid_down_below_the_dunning_minimum_is_cancelled():
    # 96.00 paid Feb 1 leaves 4.00, below the 5.00 minimum: no suspension for it.
    paid = payments(("P1", "A", day(2, 1), 96, None))

    assert [stage[-1] for stage in dunned(OVERDUE, paid, day(4, 30))] == [
        TRIGGERED,
        CANCELLED_PAID,
        CANCELLED_PAID,
    ]


def test_invoices_paid_on_time_below_the_minimum_or_not_yet_due_are_not_dunned():
    frame = invoices(
        ("ON-TIME", "A", JAN_1, day(1, 22), 100),
        ("SMALL", "A", JAN_1, day(1, 22), 4.99),
        ("FUTURE", "A", day(2, 1), day(2, 22), 100),
    )
    paid = payments(("P1", "A", day(1, 22), 100, "ON-TIME"))

    assert dunned(frame, paid, day(2, 22)) == []


# --- reference files -----------------------------------------------------------------------


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path)
    layout.reference.mkdir()
    (layout.reference / "accounts.csv").write_text("account_id,bill_cycle_day\nA,1\nB,1\n")
    return layout


def write(layout: Layout, name: str, columns: tuple[str, ...], *lines: str) -> None:
    (layout.reference / name).write_text("\n".join([",".join(columns), *lines]) + "\n")


def test_absent_files_mean_no_payments_and_no_opening_balances(layout):
    assert [frame.schema for frame in read_payments(layout)] == [
        PAYMENT_SCHEMA,
        REJECTED_PAYMENT_SCHEMA,
    ]
    assert [frame.schema for frame in read_opening_balances(layout)] == [
        INVOICE_SCHEMA,
        REJECTED_OPENING_BALANCE_SCHEMA,
    ]
    assert all(
        frame.is_empty() for frame in (*read_payments(layout), *read_opening_balances(layout))
    )


def test_payments_that_cannot_be_trusted_are_rejected_with_their_reason(layout):
    write(
        layout,
        "payments.csv",
        PAYMENT_COLUMNS,
        "P01,A,2026-02-05,25000000,card,I1",
        "P02,Z,2026-02-05,25000000,card,",
        "P03,A,2026-02-05,0,card,",
        "P04,A,2026-02-05,-5000000,ach,",
        "P05,A,2026-02-05,25000001,ach,",
        "P06,A,2026-02-05,25.00,check,",
        "P07,A,2026-02-30,25000000,check,",
        "P08,A,2026-02-05,25000000,bitcoin,",
        ",A,2026-02-05,25000000,cash,",
        "P09,B,2026-02-06,10000,cash,",
    )

    accepted, rejected = read_payments(layout)

    assert accepted.rows() == [
        ("P01", "A", day(2, 5), 25 * DOLLAR, "card", "I1"),
        ("P09", "B", day(2, 6), CENT, "cash", None),
    ]
    assert dict(
        rejected.select(pl.col("payment_id").fill_null(""), "reject_reason").iter_rows()
    ) == {
        "": "missing_id",
        "P02": "unknown_account",
        "P03": "bad_amount",
        "P04": "bad_amount",
        "P05": "bad_amount",
        "P06": "bad_amount",
        "P07": "bad_date",
        "P08": "unknown_method",
    }
    assert rejected.schema == REJECTED_PAYMENT_SCHEMA


def test_opening_balances_take_credit_balances_and_reject_what_cannot_be_trusted(layout):
    write(
        layout,
        "opening_balances.csv",
        OPENING_BALANCE_COLUMNS,
        "A,OLD-1,2026-01-01,2026-01-22,80000000",
        "B,OLD-2,2026-01-01,2026-01-22,-15000000",
        "A,OLD-3,2026-01-01,2026-01-22,0",
        "A,OLD-4,2026-01-22,2026-01-01,80000000",
        "Z,OLD-5,2026-01-01,2026-01-22,80000000",
    )

    accepted, rejected = read_opening_balances(layout)

    assert accepted.rows() == [
        ("OLD-1", "A", JAN_1, day(1, 22), 80 * DOLLAR),
        ("OLD-2", "B", JAN_1, day(1, 22), -15 * DOLLAR),
    ]
    assert dict(rejected.select("invoice_id", "reject_reason").iter_rows()) == {
        "OLD-3": "bad_amount",
        "OLD-4": "bad_date",
        "OLD-5": "unknown_account",
    }


@pytest.mark.parametrize(
    ("reader", "name", "columns", "lines", "message"),
    [
        (
            read_payments,
            "payments.csv",
            PAYMENT_COLUMNS,
            ["P1,A,2026-02-05,25000000,card,", "P1,B,2026-02-06,10000000,ach,"],
            "payment_id P1 repeats",
        ),
        (
            read_opening_balances,
            "opening_balances.csv",
            OPENING_BALANCE_COLUMNS,
            ["A,OLD-1,2026-01-01,2026-01-22,80000000", "B,OLD-1,2026-01-01,2026-01-22,5000000"],
            "invoice_id OLD-1 repeats",
        ),
    ],
    ids=["payments", "opening-balances"],
)
def test_a_repeated_id_refuses_the_file_naming_it(layout, reader, name, columns, lines, message):
    write(layout, name, columns, *lines)

    with pytest.raises(ValueError, match=f"{name}: {message}"):
        reader(layout)


# --- generator -----------------------------------------------------------------------------

MONTH = "2026-09"
ACCOUNTS = [(f"ACC{n:06d}", date(2024, 1, 1) + timedelta(days=n), 1 + n % 28) for n in range(40)]
NEW_ACCOUNT = ("ACC999999", day(9, 3), 1)


def generated(seed: int) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    rng = np.random.default_rng(seed)
    opening = opening_balance_rows(rng, [*ACCOUNTS, NEW_ACCOUNT], MONTH, 21)
    return opening, payment_rows(rng, opening, MONTH)


def test_the_generator_is_deterministic_and_writes_the_files_columns():
    opening, paid = generated(11)

    assert (opening, paid) == generated(11)
    assert (opening, paid) != generated(12)
    assert all(tuple(row) == OPENING_BALANCE_COLUMNS for row in opening)
    assert all(tuple(row) == PAYMENT_COLUMNS for row in paid)
    assert {row["account_id"] for row in opening} == {account for account, _, _ in ACCOUNTS}
    assert {row["method"] for row in paid} <= {"card", "ach", "check", "cash"}
    assert {row["invoice_id"] is None for row in paid} == {True, False}


@pytest.mark.parametrize("seed", range(5))
def test_generated_receivables_have_an_account_dunning_reaches_suspension_and_one_credit(seed):
    opening, paid = generated(seed)
    frame = pl.DataFrame(opening).with_columns(pl.col("invoice_date", "due_date").str.to_date())
    received = pl.DataFrame(paid, schema_overrides={"invoice_id": pl.String}).with_columns(
        pl.col("received_date").str.to_date()
    )
    bill_date = day(10, 28)  # the latest bill date of the period's accounts

    result = allocate(frame, received, bill_date)
    stages = dunning(result.balances, result.allocations, BillingPolicy(), bill_date)

    check_identities(frame.select(*INVOICE_SCHEMA), received.select(*PAYMENT_SCHEMA), bill_date)
    assert stages.filter(
        (pl.col("stage") == "suspension") & (pl.col("dunning_status") == TRIGGERED)
    ).height
    assert (result.credits["unapplied_credit_micros"] > 0).sum() == 1
    assert all(row["amount_micros"] % CENT == 0 for row in [*opening, *paid])
    assert all(MONTH <= str(row["received_date"]) <= "2026-09-30" for row in paid)
