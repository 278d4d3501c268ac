"""The bill run around the tax engine: what it bills besides fees and usage, and what it
issues after.

Before tax, ``other_charges`` gathers the period's one-time fees (completed service
orders), device installments, late fees (on what was past due at each account's bill
date) and applied credits. After tax, ``issue`` writes the period's invoices (one per
account with a charge or a correction note, dated on its cycle, with the balance brought
forward and the payments since the previous bill), the credit and debit notes correcting
earlier invoices (``corrections``), and the receivables as of each account's bill date:
payments, their allocations, invoice balances, aging, dunning stages and device
receivables. Rows of payments.csv and opening_balances.csv that fail a check are written
with their reason (``payment_rejects``, ``opening_balance_rejects``), never dropped.
docs/billing.md states the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.billing import installments, receivables
from pipelines.billing.charges import invoiced_taxes
from pipelines.billing.corrections import correction_notes
from pipelines.billing.cycles import account_cycles
from pipelines.billing.one_time import one_time_charges
from pipelines.billing.policy import BillingPolicy, load_policy
from pipelines.config import Layout
from pipelines.periods import parse_period
from pipelines.rating import rerate
from pipelines.reference import read_reference
from pipelines.schema import LAKE_TABLES
from pipelines.taxes.billed_charges import credit_charges


@dataclass(frozen=True)
class BillRun:
    billing_period: str
    policy: BillingPolicy
    cycles: pl.DataFrame  # cycles.CYCLE_SCHEMA
    # Read once for the run: what was billed before it (receivables.INVOICE_SCHEMA), the
    # accepted payments and the rejected rows of payments.csv.
    issued_before: pl.DataFrame
    rejected_opening_balances: pl.DataFrame
    payments: pl.DataFrame
    rejected_payments: pl.DataFrame
    # Each device agreement after the run (installments.DEVICE_RECEIVABLE_SCHEMA): it bills
    # the installments and is written as the receivable.
    devices: pl.DataFrame


def start(layout: Layout, billing_period: str) -> BillRun:
    policy = load_policy(layout)
    payments, rejected = receivables.read_payments(layout)
    opening, rejected_opening = receivables.read_opening_balances(layout)
    return BillRun(
        billing_period,
        policy,
        account_cycles(layout, billing_period, policy),
        _issued_invoices(layout, billing_period, opening),
        rejected_opening,
        payments,
        rejected,
        installments.device_receivable(layout, billing_period),
    )


def other_charges(layout: Layout, run: BillRun, adjustments: pl.DataFrame) -> pl.DataFrame:
    """The period's charges besides recurring fees and usage (``CHARGE_SCHEMA``)."""
    balances = receivables.balances_before_bill_date(run.issued_before, run.payments, run.cycles)
    return pl.concat(
        [
            one_time_charges(layout, run.billing_period),
            installments.billed_installments(run.devices),
            receivables.late_fee_charges(balances, run.cycles, run.policy),
            credit_charges(adjustments),
        ]
    )


def issue(layout: Layout, run: BillRun, charges: pa.Table, tax_lines: pa.Table) -> int:
    """Write the period's invoices and receivables; returns the invoices issued."""
    period = run.billing_period
    notes = correction_notes(layout, period).join(
        run.cycles.select("account_id", pl.col("bill_date").alias("note_date"), "due_date"),
        on="account_id",
    )
    # Only the columns an invoice sums: a frame of every column would copy the period's
    # tax lines, its largest table.
    invoices = _invoices(
        layout,
        run,
        _frame(charges.select(["account_id", "amount_micros"])),
        _frame(tax_lines.select(["account_id", "tax_id", "tax_type", "is_billable", "tax_micros"])),
        notes,
    )
    payments = run.payments
    settled = pl.concat(
        [
            run.issued_before,
            invoices.select(
                "invoice_id", "account_id", "invoice_date", "due_date",
                pl.col("total_micros").alias("amount_micros"),
            ),
            _note_documents(notes),
        ]
    )  # fmt: skip
    allocations, balances, credits, aging, dunning = [], [], [], [], []
    for (bill_date,), accounts in run.cycles.group_by("bill_date", maintain_order=True):
        mine = pl.col("account_id").is_in(accounts["account_id"].implode())
        state = receivables.allocate(settled.filter(mine), payments.filter(mine), bill_date)
        allocations.append(state.allocations)
        balances.append(state.balances.with_columns(pl.lit(bill_date).alias("as_of_date")))
        credits.append(state.credits)
        aging.append(receivables.aging(state.balances, state.credits, bill_date))
        dunning.append(
            receivables.dunning(state.balances, state.allocations, run.policy, bill_date)
        )
    partition = {"billing_period": period}
    tables = {
        "invoices": invoices,
        "credit_notes": notes,
        "payments": payments,
        "payment_rejects": run.rejected_payments,
        "opening_balance_rejects": run.rejected_opening_balances,
        "payment_allocations": pl.concat(allocations),
        "invoice_balances": pl.concat(balances),
        "ar_aging": pl.concat(aging),
        "dunning_events": pl.concat(dunning),
        "device_receivables": run.devices,
    }
    for name, frame in tables.items():
        schema = LAKE_TABLES[name][0]
        table = frame.with_columns(pl.lit(period).alias("billing_period")).select(schema.names)
        lake.write_partition(layout, name, partition, table.to_arrow().cast(schema))
    return invoices.height


def _invoices(
    layout: Layout,
    run: BillRun,
    charges: pl.DataFrame,
    tax_lines: pl.DataFrame,
    notes: pl.DataFrame,
) -> pl.DataFrame:
    """One invoice per account with a charge or a correction note (``INVOICE_SCHEMA``)."""
    period = run.billing_period
    first, last = parse_period(period)
    taxes = invoiced_taxes(tax_lines)
    earlier, payments = run.issued_before, run.payments
    forward = []
    for (bill_date,), accounts in run.cycles.group_by("bill_date", maintain_order=True):
        mine = pl.col("account_id").is_in(accounts["account_id"].implode())
        day_before = bill_date.fromordinal(bill_date.toordinal() - 1)
        state = receivables.allocate(earlier.filter(mine), payments.filter(mine), day_before)
        open_by_account = state.balances.group_by("account_id").agg(pl.col("open_micros").sum())
        forward.append(
            accounts.select("account_id")
            .join(open_by_account, on="account_id", how="left")
            .join(state.credits, on="account_id", how="left")
            .select(
                "account_id",
                (
                    pl.col("open_micros").fill_null(0)
                    - pl.col("unapplied_credit_micros").fill_null(0)
                ).alias("previous_balance_micros"),
            )
        )
    received = (
        payments.join(run.cycles, on="account_id")
        .filter(
            (pl.col("received_date") >= pl.col("previous_bill_date"))
            & (pl.col("received_date") < pl.col("bill_date"))
        )
        .group_by("account_id")
        .agg(pl.col("amount_micros").sum().alias("payments_micros"))
    )
    corrections = notes.group_by("account_id").agg(
        pl.col("amount_micros").sum().alias("corrections_micros")
    )
    charged = charges.group_by("account_id").agg(
        pl.col("amount_micros").sum().alias("charges_micros")
    )
    return (
        charged.join(corrections, on="account_id", how="full", coalesce=True)
        .join(_currencies(layout), on="account_id", how="left")
        .join(taxes, on="account_id", how="left")
        .join(run.cycles, on="account_id", how="inner")
        .join(pl.concat(forward), on="account_id", how="left")
        .join(received, on="account_id", how="left")
        .with_columns(
            pl.lit(period).alias("billing_period"),
            pl.lit(_rating_version(layout, period), dtype=pl.Int32).alias("rating_version"),
            (pl.lit("INV-" + period.replace("-", "") + "-") + pl.col("account_id")).alias(
                "invoice_id"
            ),
            pl.lit(first).alias("usage_from"),
            pl.lit(last).alias("usage_to"),
            pl.col("bill_date").alias("advance_from"),
            (pl.col("next_bill_date") - pl.duration(days=1)).alias("advance_to"),
            pl.col("bill_date").alias("invoice_date"),
            pl.col("charges_micros").fill_null(0),
            pl.col("corrections_micros").fill_null(0),
            pl.col("tax_micros").fill_null(0),
            pl.col("payments_micros").fill_null(0),
            pl.col("previous_balance_micros").fill_null(0),
        )
        .with_columns((pl.col("charges_micros") + pl.col("tax_micros")).alias("total_micros"))
        .with_columns(
            (
                pl.col("previous_balance_micros")
                + pl.col("corrections_micros")
                + pl.col("total_micros")
            ).alias("amount_due_micros")
        )
        .sort("account_id")
    )


def _rating_version(layout: Layout, billing_period: str) -> int:
    period = rerate.read_period(layout, billing_period)
    if period is None:
        raise rerate.PeriodStateError(
            f"billing period {billing_period} has not been rated: rate it before billing it"
        )
    return int(period["rating_version"])


def _currencies(layout: Layout) -> pl.DataFrame:
    return read_reference(layout, "accounts.csv").select("account_id", "currency")


def _note_documents(notes: pl.DataFrame) -> pl.DataFrame:
    """Correction notes as receivable documents (``receivables.INVOICE_SCHEMA``)."""
    return notes.select(
        pl.col("note_id").alias("invoice_id"),
        "account_id",
        pl.col("note_date").alias("invoice_date"),
        "due_date",
        "amount_micros",
    ).cast(receivables.INVOICE_SCHEMA)


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _issued_invoices(layout: Layout, billing_period: str, opening: pl.DataFrame) -> pl.DataFrame:
    """What the customer was billed before this run (``receivables.INVOICE_SCHEMA``): the
    accepted ``opening`` balances, and the lake's invoices and correction notes of earlier
    runs."""
    earlier = (
        _frame(lake.read_table(layout, "invoices"))
        .filter(pl.col("billing_period") < billing_period)
        .select(
            "invoice_id", "account_id", "invoice_date", "due_date",
            pl.col("total_micros").alias("amount_micros"),
        )
    )  # fmt: skip
    notes = _note_documents(
        _frame(lake.read_table(layout, "credit_notes")).filter(
            pl.col("billing_period") < billing_period
        )
    )
    return pl.concat(
        [
            opening.cast(receivables.INVOICE_SCHEMA),
            earlier.cast(receivables.INVOICE_SCHEMA),
            notes,
        ]
    )
