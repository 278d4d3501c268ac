"""Credit and debit notes: how a correction to an issued invoice reaches the customer.

An invoice is issued when its period closes; a re-rating of the closed period
(``telcolake rerate``) re-prices and re-taxes its charges but never rewrites the invoice.
The next bill run compares, for every earlier period and account, what the charges now
come to (the current version of its billed charges plus its taxes as invoiced) with what
its invoice said and the notes already issued for it, and issues a note for the
difference: a ``credit_note`` when the customer was over-billed, a ``debit_note`` when
under-billed. The note is a receivable document of its own, dated on the bill date and due
with the invoice; the invoice shows it and adds it to the amount due. Its taxes were
computed when the period was re-taxed (the note carries the difference as
``tax_delta_micros``), so it is not taxed again.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.billing.charges import invoiced_taxes
from pipelines.config import Layout
from pipelines.schema import LAKE_TABLES

CREDIT_NOTE = "credit_note"
DEBIT_NOTE = "debit_note"

NOTE_SCHEMA = pl.Schema(
    {
        "note_id": pl.String,  # CN- or DN-<YYYYMM of the run>-<corrected invoice id>
        "note_type": pl.String,  # credit_note or debit_note
        "account_id": pl.String,
        "corrected_period": pl.String,
        "corrected_invoice_id": pl.String,
        "charges_delta_micros": pl.Int64,
        "tax_delta_micros": pl.Int64,
        "amount_micros": pl.Int64,  # charges + tax delta: negative for a credit note
    }
)


def _frame(layout: Layout, table: str) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read_table(layout, table))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _issued_periods(
    layout: Layout, table: str, periods: list[str], columns: list[str]
) -> pl.DataFrame:
    """``columns`` of ``table``'s partitions of the invoiced ``periods``: the run's own
    partition, the largest, is not read."""
    schema, _ = LAKE_TABLES[table]
    parts = [
        lake.read_partition(layout, table, {"billing_period": period}, columns).select(columns)
        for period in periods
    ]
    frame = pl.from_arrow(pa.concat_tables([schema.empty_table().select(columns), *parts]))
    assert isinstance(frame, pl.DataFrame)
    return frame


def correction_notes(layout: Layout, billing_period: str) -> pl.DataFrame:
    """The notes the run of ``billing_period`` issues (``NOTE_SCHEMA``), by note_id."""
    issued = _frame(layout, "invoices").filter(pl.col("billing_period") < billing_period)
    periods = sorted(issued["billing_period"].unique())
    invoice = ["billing_period", "account_id"]
    now = (
        _issued_periods(layout, "billed_charges", periods, [*invoice, "amount_micros"])
        .group_by(invoice)
        .agg(pl.col("amount_micros").sum().alias("charges_now"))
        .join(
            invoiced_taxes(
                _issued_periods(
                    layout,
                    "tax_lines",
                    periods,
                    [*invoice, "tax_id", "tax_type", "is_billable", "tax_micros"],
                ),
                by=tuple(invoice),
            ).rename({"tax_micros": "tax_now"}),
            on=invoice,
            how="full",
            coalesce=True,
        )
    )
    noted = (
        _frame(layout, "credit_notes")
        .filter(pl.col("billing_period") < billing_period)
        .group_by(pl.col("corrected_period").alias("billing_period"), "account_id")
        .agg(
            pl.col("charges_delta_micros").sum().alias("charges_noted"),
            pl.col("tax_delta_micros").sum().alias("tax_noted"),
        )
    )
    run = billing_period.replace("-", "")
    return (
        issued.select("billing_period", "account_id", "invoice_id", "charges_micros", "tax_micros")
        .join(now, on=["billing_period", "account_id"], how="full", coalesce=True)
        .join(noted, on=["billing_period", "account_id"], how="left")
        .with_columns(
            pl.coalesce(
                "invoice_id",
                pl.lit("INV-")
                + pl.col("billing_period").str.replace("-", "")
                + "-"
                + pl.col("account_id"),
            ).alias("invoice_id"),
            (
                pl.col("charges_now").fill_null(0)
                - pl.col("charges_micros").fill_null(0)
                - pl.col("charges_noted").fill_null(0)
            ).alias("charges_delta_micros"),
            (
                pl.col("tax_now").fill_null(0)
                - pl.col("tax_micros").fill_null(0)
                - pl.col("tax_noted").fill_null(0)
            ).alias("tax_delta_micros"),
        )
        .with_columns(
            (pl.col("charges_delta_micros") + pl.col("tax_delta_micros")).alias("amount_micros")
        )
        .filter((pl.col("charges_delta_micros") != 0) | (pl.col("tax_delta_micros") != 0))
        .with_columns(
            pl.when(pl.col("amount_micros") < 0)
            .then(pl.lit(CREDIT_NOTE))
            .otherwise(pl.lit(DEBIT_NOTE))
            .alias("note_type"),
        )
        .select(
            (
                pl.when(pl.col("note_type") == CREDIT_NOTE)
                .then(pl.lit("CN-"))
                .otherwise(pl.lit("DN-"))
                + pl.lit(run + "-")
                + pl.col("invoice_id")
            ).alias("note_id"),
            "note_type",
            "account_id",
            pl.col("billing_period").alias("corrected_period"),
            pl.col("invoice_id").alias("corrected_invoice_id"),
            "charges_delta_micros",
            "tax_delta_micros",
            "amount_micros",
        )
        .cast(NOTE_SCHEMA)
        .sort("note_id")
    )
