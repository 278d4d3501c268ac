"""The bill run's charges: one frame layout every charge source returns.

A source (recurring fees, one-time fees, device installments, late fees, credits)
returns rows of ``CHARGE_SCHEMA``; the bill run concatenates them with the
period's usage, the tax engine taxes each row, and each row is one invoice line.

Amounts are whole cents in micro-units (docs/billing.md, "Rounding"): a source rounds
each line with ``round_to_cent`` where its rule says, so the tax base of a line is the
amount printed on the invoice.
"""

from __future__ import annotations

import polars as pl

#: Micro-units in one cent.
CENT = 10_000

CHARGE_SCHEMA = pl.Schema(
    {
        # recurring, usage, one_time, installment, late_fee or adjustment
        "charge_source": pl.String,
        # Unique within the billing period and charge_source; part of charge_id.
        "charge_key": pl.String,
        "account_id": pl.String,
        "subscriber_id": pl.String,  # null for a charge on the account as a whole
        "plan_id": pl.String,  # recurring: the plan or add-on billed; else null
        "category": pl.String,  # the tax charge category (pipelines.taxes.model.CATEGORIES)
        "description": pl.String,  # the invoice line's text
        "quantity": pl.Int64,
        "quantity_unit": pl.String,
        # The service days the charge pays for, both inclusive; null when it pays for none.
        "service_from": pl.Date,
        "service_to": pl.Date,
        "amount_micros": pl.Int64,  # signed; whole cents
        "lines": pl.Int64,  # lines a per-line tax counts (the line's own plan, once)
        "minutes_micros": pl.Int64,  # minutes a per-minute tax counts
        "records": pl.Int64,  # usage: rated records in the charge
    }
)


def round_to_cent(micros: pl.Expr) -> pl.Expr:
    """Half away from zero to the cent: 4.354839 -> 4.35, 0.005 -> 0.01, -0.005 -> -0.01,
    so a credit is the exact mirror of the charge it reverses."""
    magnitude = (micros.abs() + CENT // 2) // CENT * CENT
    return pl.when(micros < 0).then(-magnitude).otherwise(magnitude)


def round_toward_zero_to_cent(micros: pl.Expr) -> pl.Expr:
    """Toward zero to the cent: the USF line item, which must never round above its cap."""
    magnitude = micros.abs() // CENT * CENT
    return pl.when(micros < 0).then(-magnitude).otherwise(magnitude)


def invoiced_taxes(tax_lines: pl.DataFrame, by: tuple[str, ...] = ("account_id",)) -> pl.DataFrame:
    """Per invoice, the billable taxes as it shows them (``by`` columns, tax_micros): each
    tax's lines summed, then rounded to the cent, half away from zero, but toward zero for
    the USF line item (``tax_type`` usf) so it stays within the FCC cap. ``by`` names the
    invoice: the account within one period, or (billing_period, account_id) across several.
    """
    per_tax = (
        tax_lines.filter(pl.col("is_billable"))
        .group_by(*by, "tax_id")
        .agg(pl.col("tax_micros").sum(), (pl.col("tax_type") == "usf").any().alias("is_usf"))
    )
    return (
        per_tax.with_columns(
            pl.when(pl.col("is_usf"))
            .then(round_toward_zero_to_cent(pl.col("tax_micros")))
            .otherwise(round_to_cent(pl.col("tax_micros")))
            .alias("tax_micros")
        )
        .group_by(*by)
        .agg(pl.col("tax_micros").sum())
    )


def empty_charges() -> pl.DataFrame:
    return pl.DataFrame(schema=CHARGE_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with exactly the columns of ``CHARGE_SCHEMA`` in order: missing counts are
    0, other missing columns null. A non-cent amount is a bug in the source, so it fails."""
    defaults = {"lines": 0, "minutes_micros": 0}
    filled = frame.with_columns(
        [
            pl.lit(defaults.get(name), dtype=dtype).alias(name)
            for name, dtype in CHARGE_SCHEMA.items()
            if name not in frame.columns
        ]
    ).select([pl.col(name).cast(dtype) for name, dtype in CHARGE_SCHEMA.items()])
    off_cent = filled.filter(pl.col("amount_micros") % CENT != 0)
    if off_cent.height:
        first = off_cent.row(0, named=True)
        raise ValueError(
            f"{off_cent.height} charge(s) not in whole cents, e.g. {first['charge_source']} "
            f"{first['charge_key']}: {first['amount_micros']} micros"
        )
    return filled
