"""Device installment plans: handsets sold on credit, billed apart from service revenue.

The optional reference file ``device_installments.csv`` holds one row per agreement:
agreement_id, account_id, subscriber_id (the line the device was sold with), device_name,
device_price_micros, down_payment_micros, installment_count and first_billing_period
(``YYYY-MM``, the bill run that bills installment 1). The rules:

- financed = price - down payment; the down payment is paid at the point of sale, not billed;
- each installment is financed // installment_count rounded down to the cent, and the last
  one carries the remainder, so the installments sum to financed exactly ($829.00 - $100.00
  over 24: 23 x $30.37 and a last of $30.49);
- the run for period P bills installment k = (months from first_billing_period to P) + 1
  when 1 <= k <= installment_count;
- payoff on cancellation: the first run whose period ends on or after the line's
  cancelled_date (subscribers.csv) and that would bill an installment bills the whole
  remaining balance as one payoff instead, and no later run bills anything. A line
  cancelled before first_billing_period pays the whole financed amount on that run.

Each amount billed is a charge: charge_source ``installment``, charge_key
``<agreement_id>/<k>`` or ``<agreement_id>/payoff``, category ``equipment_sale``, quantity
the installments it settles (1, or all those left for a payoff). A run that would bill
nothing (an agreement financing nothing) adds no invoice line.

``device_receivable`` is each agreement's state after the run, for the general ledger: the
sale is recognised on the run that bills installment 1 (Dr device receivable, Cr equipment
revenue: ``financed_recognised_micros``), and each billed amount moves from the device
receivable to accounts receivable (``billed_micros``).

Any problem in the file refuses the run, naming file:line: an unknown account or line, a
line on another account, amounts that are not whole cents or a price below the down
payment, an installment_count below 1, a bad period, a repeated agreement_id. An agreement
left out cannot be billed later (the installment number follows the calendar), and its
sale would be missing from the receivable.
"""

from __future__ import annotations

import polars as pl

from pipelines.billing.charges import CENT, conform
from pipelines.billing.one_time import numbered_rows, quoted, refuse_rows, text_date
from pipelines.config import Layout
from pipelines.periods import parse_period
from pipelines.reference import read_reference

DEVICE_INSTALLMENTS_FILE = "device_installments.csv"
AGREEMENT_COLUMNS = (
    "agreement_id",
    "account_id",
    "subscriber_id",
    "device_name",
    "device_price_micros",
    "down_payment_micros",
    "installment_count",
    "first_billing_period",
)
ACTIVE = "active"
PAID_OFF = "paid_off"
PAID_OFF_ON_CANCELLATION = "paid_off_on_cancellation"
NOT_STARTED = "not_started"

DEVICE_RECEIVABLE_SCHEMA = pl.Schema(
    {
        "agreement_id": pl.String,
        "account_id": pl.String,
        "subscriber_id": pl.String,
        "device_name": pl.String,
        "financed_micros": pl.Int64,
        "installment_count": pl.Int64,
        # The installment this run bills (a payoff: the first it settles); null: none.
        "installment_number": pl.Int64,
        "billed_micros": pl.Int64,  # billed by this run
        "billed_to_date_micros": pl.Int64,  # including this run
        "remaining_balance_micros": pl.Int64,  # financed - billed to date
        "financed_recognised_micros": pl.Int64,  # financed on the run of installment 1
        # After this run: active, paid_off, paid_off_on_cancellation or not_started.
        "agreement_status": pl.String,
    }
)


def device_receivable(layout: Layout, billing_period: str) -> pl.DataFrame:
    """Every agreement's state after the run (``DEVICE_RECEIVABLE_SCHEMA``); none without
    device_installments.csv."""
    path = layout.reference / DEVICE_INSTALLMENTS_FILE
    if not path.is_file():
        return pl.DataFrame(schema=DEVICE_RECEIVABLE_SCHEMA)
    return receivable_after_run(
        pl.read_csv(path, infer_schema=False),
        read_reference(layout, "subscribers.csv"),
        read_reference(layout, "accounts.csv"),
        billing_period,
    )


def receivable_after_run(
    agreements: pl.DataFrame, lines: pl.DataFrame, accounts: pl.DataFrame, billing_period: str
) -> pl.DataFrame:
    """``device_receivable`` over frames: device_installments.csv, subscribers.csv and
    accounts.csv as text as their files read (row i is file line i + 2)."""
    first, _ = parse_period(billing_period)
    run = first.year * 12 + first.month
    terms = _agreement_terms(agreements, lines, accounts)
    count = pl.col("installment_count")
    financed = pl.col("financed_micros")
    installment = financed // count // CENT * CENT

    def billed_through(number: pl.Expr) -> pl.Expr:
        """What installments 1..number add up to."""
        return pl.when(number >= count).then(financed).otherwise(installment * number)

    cancelled = pl.col("cancelled_date")
    # The run that bills the payoff: the one of the cancellation month, or installment 1's
    # if later; none when the line was cancelled after the last installment was billed.
    payoff_run = pl.max_horizontal(cancelled.dt.year() * 12 + cancelled.dt.month(), "first_run")
    states = terms.with_columns(
        (run - pl.col("first_run") + 1).alias("k"),
        pl.when(cancelled.is_not_null() & (payoff_run - pl.col("first_run") + 1 <= count))
        .then(payoff_run)
        .alias("payoff_run"),
    ).with_columns(
        pl.when(pl.col("k") < 1)
        .then(pl.lit(NOT_STARTED))
        .when(run >= pl.col("payoff_run"))
        .then(pl.lit(PAID_OFF_ON_CANCELLATION))
        .when(pl.col("k") < count)
        .then(pl.lit(ACTIVE))
        .otherwise(pl.lit(PAID_OFF))
        .alias("agreement_status"),
        pl.when(pl.col("k").is_between(1, count) & (run <= pl.col("payoff_run")).fill_null(True))
        .then(pl.col("k"))
        .alias("installment_number"),
    )
    to_date = (
        pl.when(pl.col("agreement_status") == PAID_OFF_ON_CANCELLATION)
        .then(financed)
        .otherwise(billed_through(pl.col("k").clip(lower_bound=0)))
    )
    before = billed_through(pl.col("installment_number") - 1)
    return (
        states.with_columns(to_date.alias("billed_to_date_micros"))
        .with_columns(
            (pl.col("billed_to_date_micros") - before).fill_null(0).alias("billed_micros"),
            (financed - pl.col("billed_to_date_micros")).alias("remaining_balance_micros"),
            pl.when(pl.col("k") == 1)
            .then(financed)
            .otherwise(0)
            .alias("financed_recognised_micros"),
        )
        .select(list(DEVICE_RECEIVABLE_SCHEMA))
        .cast(DEVICE_RECEIVABLE_SCHEMA)
        .sort("agreement_id")
    )


def billed_installments(receivable: pl.DataFrame) -> pl.DataFrame:
    """The charges of a ``device_receivable`` frame's billed amounts (``CHARGE_SCHEMA``)."""
    billed = receivable.filter(pl.col("billed_micros") > 0)
    payoff = pl.col("agreement_status") == PAID_OFF_ON_CANCELLATION
    return conform(
        billed.select(
            pl.lit("installment").alias("charge_source"),
            pl.format(
                "{}/{}",
                "agreement_id",
                pl.when(payoff)
                .then(pl.lit("payoff"))
                .otherwise(pl.col("installment_number").cast(pl.String)),
            ).alias("charge_key"),
            "account_id",
            "subscriber_id",
            pl.lit("equipment_sale").alias("category"),
            pl.when(payoff)
            .then(pl.format("Device payoff on cancellation: {}", "device_name"))
            .otherwise(
                pl.format(
                    "Device payment {} of {}: {}",
                    "installment_number",
                    "installment_count",
                    "device_name",
                )
            )
            .alias("description"),
            pl.when(payoff)
            .then(pl.col("installment_count") - pl.col("installment_number") + 1)
            .otherwise(1)
            .alias("quantity"),
            pl.lit("installment").alias("quantity_unit"),
            pl.col("billed_micros").alias("amount_micros"),
        )
    ).sort("account_id", "charge_key")


def _agreement_terms(
    agreements: pl.DataFrame, lines: pl.DataFrame, accounts: pl.DataFrame
) -> pl.DataFrame:
    """The agreements checked and typed, with their line's cancelled_date."""
    missing = [column for column in AGREEMENT_COLUMNS if column not in agreements.columns]
    if missing:
        raise ValueError(f"{DEVICE_INSTALLMENTS_FILE}: missing column(s) {', '.join(missing)}")
    known_accounts = numbered_rows(accounts)["account_id"].implode()
    rows = (
        numbered_rows(agreements.select(AGREEMENT_COLUMNS))
        .with_columns(
            pl.col("device_price_micros").cast(pl.Int64, strict=False).alias("price"),
            pl.col("down_payment_micros").cast(pl.Int64, strict=False).alias("down_payment"),
            pl.col("installment_count").cast(pl.Int64, strict=False).alias("count"),
            pl.col("first_billing_period")
            .str.extract(r"^(\d{4}-(?:0[1-9]|1[0-2]))$")
            .alias("first_period"),
        )
        .join(
            numbered_rows(lines).select(
                "subscriber_id",
                pl.col("account_id").alias("line_account_id"),
                pl.col("cancelled_date").alias("cancelled_text"),
                text_date("cancelled_date").alias("cancelled_date"),
            ),
            on="subscriber_id",
            how="left",
        )
    )
    refuse_rows(
        DEVICE_INSTALLMENTS_FILE,
        rows,
        [
            pl.when(pl.col("agreement_id").is_null()).then(pl.lit("agreement_id is empty")),
            pl.when(
                pl.col("agreement_id").is_duplicated() & pl.col("agreement_id").is_not_null()
            ).then(quoted("agreement_id {} repeats", "agreement_id")),
            pl.when(~pl.col("account_id").is_in(known_accounts).fill_null(False)).then(
                quoted("account_id {} is not in accounts.csv", "account_id")
            ),
            pl.when(pl.col("line_account_id").is_null()).then(
                quoted("subscriber_id {} is not in subscribers.csv", "subscriber_id")
            ),
            pl.when(pl.col("line_account_id") != pl.col("account_id")).then(
                quoted(
                    "subscriber_id {} is on account {}, not {}",
                    "subscriber_id",
                    "line_account_id",
                    "account_id",
                )
            ),
            pl.when(
                pl.col("cancelled_text").is_not_null() & pl.col("cancelled_date").is_null()
            ).then(quoted("the line's cancelled_date {} is not a date", "cancelled_text")),
            pl.when(pl.col("device_name").is_null()).then(pl.lit("device_name is empty")),
            *_cent_amount_checks("device_price_micros", "price"),
            *_cent_amount_checks("down_payment_micros", "down_payment"),
            pl.when(pl.col("price") < pl.col("down_payment")).then(
                pl.lit("device_price_micros is below down_payment_micros")
            ),
            pl.when(pl.col("count").is_null() | (pl.col("count") < 1)).then(
                quoted("installment_count {} is not a whole number >= 1", "installment_count")
            ),
            pl.when(pl.col("first_period").is_null()).then(
                quoted("first_billing_period {} is not YYYY-MM", "first_billing_period")
            ),
        ],
    )
    return rows.select(
        "agreement_id",
        "account_id",
        "subscriber_id",
        "device_name",
        (pl.col("price") - pl.col("down_payment")).alias("financed_micros"),
        pl.col("count").alias("installment_count"),
        (
            pl.col("first_period").str.slice(0, 4).cast(pl.Int64) * 12
            + pl.col("first_period").str.slice(5, 2).cast(pl.Int64)
        ).alias("first_run"),
        "cancelled_date",
    )


def _cent_amount_checks(column: str, amount: str) -> list[pl.Expr]:
    return [
        pl.when(pl.col(amount).is_null()).then(
            quoted(f"{column} {{}} is not a whole number of micros", column)
        ),
        pl.when(pl.col(amount) < 0).then(pl.format(f"{column} {{}} is negative", amount)),
        pl.when(pl.col(amount) % CENT != 0).then(
            pl.format(f"{column} {{}} is not whole cents", amount)
        ),
    ]
