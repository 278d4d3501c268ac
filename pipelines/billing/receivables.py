"""Receivables: what each account owes, what its payments settled, and what follows when it
does not pay (late fees, aging, dunning).

Two optional reference files feed it (absent = none):

- ``opening_balances.csv``: invoices the previous billing system issued that were still
  open when the lake took over; a negative amount is a credit balance;
- ``payments.csv``: what customers paid, each naming the invoice it pays or none.

A row that cannot be trusted is not allocated and is listed with its reason:
``missing_id``, ``unknown_account``, ``bad_amount`` (not whole cents, zero, or a payment
below zero), ``bad_date`` (not YYYY-MM-DD, or due before issued) or ``unknown_method``. A
repeated payment_id or invoice_id refuses the file, naming the ids: which row is real is
the bank's or the old system's to say, and taking either could double or lose money.

``allocate`` replays each account's history in date order (on one day: invoices, then
credit notes, then payments, each by id). A payment goes first to the open invoice it
names, then to the open invoices oldest due date first (then invoice_id); what is left is
the account's unapplied credit, which pays the next invoices as they are issued. A credit
note (a negative invoice) is applied like a payment received on its invoice date. The
replay never looks ahead, so the allocations up to any day are those an allocation as of
that day makes: dunning reads an invoice's history from them. Every account is replayed
at once: its events sorted in one frame, the replay a kernel over each account's segment
(``kernels.billing_api.allocate``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import polars as pl

from kernels import billing_api
from kernels.billing_api import CREDIT_NOTE_EVENT, ISSUE_EVENT, PAYMENT_EVENT
from pipelines.billing.charges import CENT, conform
from pipelines.billing.policy import BillingPolicy
from pipelines.config import MICROS_PER_UNIT, Layout
from pipelines.reference import read_reference

OPENING_BALANCES_FILE = "opening_balances.csv"
PAYMENTS_FILE = "payments.csv"
PAYMENT_METHODS = ("card", "ach", "check", "cash")

#: The files' columns, in order.
OPENING_BALANCE_COLUMNS = ("account_id", "invoice_id", "invoice_date", "due_date", "amount_micros")
PAYMENT_COLUMNS = (
    "payment_id",
    "account_id",
    "received_date",
    "amount_micros",
    "method",
    "invoice_id",
)

#: What ``allocate`` settles: the lake's invoices and the opening balances.
INVOICE_SCHEMA = pl.Schema(
    {
        "invoice_id": pl.String,
        "account_id": pl.String,
        "invoice_date": pl.Date,
        "due_date": pl.Date,
        "amount_micros": pl.Int64,  # negative: a credit note
    }
)
PAYMENT_SCHEMA = pl.Schema(
    {
        "payment_id": pl.String,
        "account_id": pl.String,
        "received_date": pl.Date,
        "amount_micros": pl.Int64,
        "method": pl.String,
        "invoice_id": pl.String,  # the invoice the customer named, else null
    }
)
#: A rejected row as the file had it, with why it was not allocated.
REJECTED_OPENING_BALANCE_SCHEMA = pl.Schema(
    dict.fromkeys((*OPENING_BALANCE_COLUMNS, "reject_reason"), pl.String)
)
REJECTED_PAYMENT_SCHEMA = pl.Schema(dict.fromkeys((*PAYMENT_COLUMNS, "reject_reason"), pl.String))

PAYMENT = "payment"
CREDIT_NOTE = "credit_note"
ALLOCATION_SCHEMA = pl.Schema(
    {
        "payment_id": pl.String,  # the payment, or the credit note's invoice_id
        "allocation_source": pl.String,  # payment or credit_note
        "invoice_id": pl.String,
        "account_id": pl.String,
        "applied_date": pl.Date,
        "allocated_micros": pl.Int64,
    }
)
BALANCE_SCHEMA = pl.Schema(
    {
        "invoice_id": pl.String,
        "account_id": pl.String,
        "invoice_date": pl.Date,
        "due_date": pl.Date,
        "amount_micros": pl.Int64,
        # amount = paid + open; a credit note is settled (paid) on its invoice date.
        "paid_micros": pl.Int64,
        "open_micros": pl.Int64,
        "paid_date": pl.Date,  # the day it became fully paid, else null
    }
)
CREDIT_SCHEMA = pl.Schema({"account_id": pl.String, "unapplied_credit_micros": pl.Int64})
AGING_SCHEMA = pl.Schema(
    {
        "account_id": pl.String,
        "as_of_date": pl.Date,
        "current_micros": pl.Int64,  # not yet due
        "past_due_1_30_micros": pl.Int64,
        "past_due_31_60_micros": pl.Int64,
        "past_due_61_90_micros": pl.Int64,
        "past_due_over_90_micros": pl.Int64,
        "total_open_micros": pl.Int64,
        "unapplied_credit_micros": pl.Int64,
        "net_balance_micros": pl.Int64,  # total open less unapplied credit
    }
)

TRIGGERED = "triggered"
SCHEDULED = "scheduled"
CANCELLED_PAID = "cancelled_paid"
DUNNING_SCHEMA = pl.Schema(
    {
        "account_id": pl.String,
        "invoice_id": pl.String,
        "stage": pl.String,
        "trigger_date": pl.Date,
        # Open at the end of the trigger date; of a scheduled stage, open as of the run.
        "open_micros_at_trigger": pl.Int64,
        "dunning_status": pl.String,  # triggered, scheduled or cancelled_paid
    }
)


class Receivables(NamedTuple):
    allocations: pl.DataFrame  # ALLOCATION_SCHEMA
    balances: pl.DataFrame  # BALANCE_SCHEMA
    credits: pl.DataFrame  # CREDIT_SCHEMA


def _date(column: str) -> pl.Expr:
    return pl.col(column).str.to_date("%Y-%m-%d", strict=False)


_AMOUNT = pl.col("amount_micros").cast(pl.Int64, strict=False)


def read_opening_balances(layout: Layout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The opening balances (``INVOICE_SCHEMA``) and the rejected rows
    (``REJECTED_OPENING_BALANCE_SCHEMA``)."""
    return _read_checked(
        layout,
        OPENING_BALANCES_FILE,
        "invoice_id",
        INVOICE_SCHEMA,
        REJECTED_OPENING_BALANCE_SCHEMA,
        [
            ("bad_amount", _AMOUNT.is_null() | (_AMOUNT == 0) | (_AMOUNT % CENT != 0)),
            (
                "bad_date",
                _date("invoice_date").is_null()
                | _date("due_date").is_null()
                | (_date("due_date") < _date("invoice_date")),
            ),
        ],
    )


def read_payments(layout: Layout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The payments (``PAYMENT_SCHEMA``) and the rejected rows (``REJECTED_PAYMENT_SCHEMA``)."""
    return _read_checked(
        layout,
        PAYMENTS_FILE,
        "payment_id",
        PAYMENT_SCHEMA,
        REJECTED_PAYMENT_SCHEMA,
        [
            ("bad_amount", _AMOUNT.is_null() | (_AMOUNT <= 0) | (_AMOUNT % CENT != 0)),
            ("bad_date", _date("received_date").is_null()),
            ("unknown_method", ~pl.col("method").is_in(PAYMENT_METHODS).fill_null(False)),
        ],
    )


def _read_checked(
    layout: Layout,
    name: str,
    id_column: str,
    schema: pl.Schema,
    rejected_schema: pl.Schema,
    checks: list[tuple[str, pl.Expr]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows passing every check, typed (``schema``), and the others as the file had them
    with the first failed check as reject_reason (``rejected_schema``)."""
    path = layout.reference / name
    if not path.is_file():
        return pl.DataFrame(schema=schema), pl.DataFrame(schema=rejected_schema)
    rows = pl.read_csv(path, infer_schema=False, empty_string_is_null=True)
    missing = [column for column in schema if column not in rows.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")
    repeated = sorted(set(rows.filter(pl.col(id_column).is_duplicated())[id_column].drop_nulls()))
    if repeated:
        raise ValueError(
            f"{name}: {id_column} {', '.join(repeated)} repeats: which row is real is for the "
            "source to say, so none is allocated"
        )
    known = read_reference(layout, "accounts.csv")["account_id"].implode()
    checks = [
        ("missing_id", pl.col(id_column).is_null()),
        ("unknown_account", ~pl.col("account_id").is_in(known).fill_null(False)),
        *checks,
    ]
    reason = pl.lit(None, dtype=pl.String)
    for label, failed in reversed(checks):
        reason = pl.when(failed).then(pl.lit(label)).otherwise(reason)
    checked = rows.with_columns(reason.alias("reject_reason"))
    accepted = checked.filter(pl.col("reject_reason").is_null()).select(
        [
            _date(column) if dtype == pl.Date else pl.col(column).cast(dtype)
            for column, dtype in schema.items()
        ]
    )
    rejected = checked.filter(pl.col("reject_reason").is_not_null()).select(*rejected_schema)
    return accepted.sort(id_column), rejected.sort(id_column)


def allocate(invoices: pl.DataFrame, payments: pl.DataFrame, as_of: date) -> Receivables:
    """Settle ``invoices`` (``INVOICE_SCHEMA``) with ``payments`` (``PAYMENT_SCHEMA``) as of
    the end of ``as_of``: invoices issued and payments received later are left out.

    An invoice_id or payment_id that repeats refuses the run: the same money twice.
    """
    invoices = invoices.select(*INVOICE_SCHEMA).filter(pl.col("invoice_date") <= as_of)
    payments = payments.filter(pl.col("received_date") <= as_of)
    for frame, column in ((invoices, "invoice_id"), (payments, "payment_id")):
        repeated = sorted(set(frame.filter(pl.col(column).is_duplicated())[column]))
        if repeated:
            raise ValueError(f"{column} {', '.join(repeated)} repeats in the receivables")
    events = _events(invoices, payments)
    accounts = events.group_by("account_id", maintain_order=True).len()
    account_offsets = _offsets(accounts["len"])
    # Each account's invoices in the order a payment settles them: due date, then id.
    settle_order = (
        events.filter(pl.col("kind") == ISSUE_EVENT)
        .sort("account_id", "due_date", "source_id")
        .select("event", "account_id")
    )
    settled_accounts = accounts.select("account_id").join(
        settle_order.group_by("account_id").len(),
        on="account_id",
        how="left",
        maintain_order="left",
    )
    replay = billing_api.allocate(
        account_offsets,
        events["kind"].to_numpy(),
        events["amount_micros"].to_numpy(),
        events["named_event"].to_numpy(),
        _offsets(settled_accounts["len"].fill_null(0)),
        settle_order["event"].to_numpy(),
    )
    source = events[replay.source]
    allocations = pl.DataFrame(
        {
            "payment_id": source["source_id"],
            "allocation_source": source["kind"].replace_strict(
                {CREDIT_NOTE_EVENT: CREDIT_NOTE, PAYMENT_EVENT: PAYMENT}, return_dtype=pl.String
            ),
            "invoice_id": events["source_id"].gather(replay.invoice),
            "account_id": source["account_id"],
            "applied_date": events["day"].gather(replay.at),
            "allocated_micros": replay.micros,
        },
        schema=ALLOCATION_SCHEMA,
    )
    credits = pl.DataFrame(
        {"account_id": accounts["account_id"], "unapplied_credit_micros": replay.unapplied},
        schema=CREDIT_SCHEMA,
    )
    return Receivables(allocations, _balances(invoices, allocations), credits)


def _offsets(counts: pl.Series) -> np.ndarray:
    offsets = np.zeros(counts.len() + 1, np.int64)
    np.cumsum(counts.to_numpy(), out=offsets[1:])
    return offsets


def _events(invoices: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """Every invoice, credit note and payment as an event, in replay order: by account,
    day, kind (invoices, then credit notes, then payments) and id; ``event`` numbers
    them, ``named_event`` is the event of the invoice a payment names in its account
    (else -1)."""
    events = pl.concat(
        [
            invoices.select(
                "account_id",
                pl.col("invoice_date").alias("day"),
                pl.when(pl.col("amount_micros") >= 0)
                .then(ISSUE_EVENT)
                .otherwise(CREDIT_NOTE_EVENT)
                .cast(pl.Int64)
                .alias("kind"),
                pl.col("invoice_id").alias("source_id"),
                pl.col("amount_micros").abs(),
                pl.lit(None, pl.String).alias("named"),
                "due_date",
            ),
            payments.select(
                "account_id",
                pl.col("received_date").alias("day"),
                pl.lit(PAYMENT_EVENT, pl.Int64).alias("kind"),
                pl.col("payment_id").alias("source_id"),
                "amount_micros",
                pl.col("invoice_id").alias("named"),
                pl.lit(None, pl.Date).alias("due_date"),
            ),
        ]
    ).sort("account_id", "day", "kind", "source_id")
    events = events.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("event"))
    issued = events.filter(pl.col("kind") == ISSUE_EVENT).select(
        "account_id", pl.col("source_id").alias("named"), pl.col("event").alias("named_event")
    )
    return events.join(
        issued, on=["account_id", "named"], how="left", maintain_order="left"
    ).with_columns(pl.col("named_event").fill_null(-1))


def _balances(invoices: pl.DataFrame, allocations: pl.DataFrame) -> pl.DataFrame:
    paid = allocations.group_by("invoice_id").agg(
        pl.col("allocated_micros").sum().alias("paid_micros"),
        pl.col("applied_date").max().alias("last_applied_date"),
    )
    return (
        invoices.join(paid, on="invoice_id", how="left")
        .with_columns(
            # A credit note is settled when issued: its amount became credit.
            pl.when(pl.col("amount_micros") < 0)
            .then(pl.col("amount_micros"))
            .otherwise(pl.col("paid_micros").fill_null(0))
            .alias("paid_micros")
        )
        .with_columns((pl.col("amount_micros") - pl.col("paid_micros")).alias("open_micros"))
        .with_columns(
            pl.when(pl.col("open_micros") == 0)
            .then(pl.coalesce("last_applied_date", "invoice_date"))
            .alias("paid_date")
        )
        .select(*BALANCE_SCHEMA)
        .cast(BALANCE_SCHEMA)
        .sort("account_id", "invoice_date", "invoice_id")
    )


def balances_before_bill_date(
    invoices: pl.DataFrame, payments: pl.DataFrame, cycles: pl.DataFrame
) -> pl.DataFrame:
    """The invoice balances (``BALANCE_SCHEMA``) of each account in ``cycles``
    (``CYCLE_SCHEMA``) with what it had paid before its bill date: what its late fee is
    assessed on. Accounts the run does not bill are left out."""
    bill_dates = cycles.select("account_id", "bill_date")
    if bill_dates.is_empty():
        return pl.DataFrame(schema=BALANCE_SCHEMA)

    def before_bill_date(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        return frame.join(bill_dates, on="account_id").filter(pl.col(column) < pl.col("bill_date"))

    last_day = bill_dates.select(pl.col("bill_date").max()).item() - timedelta(days=1)
    return allocate(
        before_bill_date(invoices, "invoice_date"),
        before_bill_date(payments, "received_date"),
        last_day,
    ).balances


def late_fee_charges(
    balances: pl.DataFrame, cycles: pl.DataFrame, policy: BillingPolicy
) -> pl.DataFrame:
    """One late fee (``CHARGE_SCHEMA``) per account whose past-due balance (open on invoices
    due before its bill date) is at least the policy's minimum: the greater of the fixed fee
    and the policy's percentage of that balance, rounded to the cent.

    ``balances``: ``balances_before_bill_date``; ``cycles``: ``cycles.account_cycles``.
    """
    past_due = (
        balances.join(cycles.select("account_id", "bill_date"), on="account_id")
        .filter(pl.col("due_date") < pl.col("bill_date"))
        .group_by("account_id", "bill_date")
        .agg(pl.col("open_micros").sum().alias("past_due_micros"))
        .filter(
            (pl.col("past_due_micros") > 0)
            & (pl.col("past_due_micros") >= policy.late_fee_minimum_overdue_micros)
        )
        .sort("account_id")
    )
    ppm = policy.late_fee_percent_ppm
    share = _percent_of(pl.col("past_due_micros"), ppm)
    dollars = _dollars(pl.col("past_due_micros"))
    above_fixed = share > policy.late_fee_fixed_micros
    return conform(
        past_due.select(
            pl.lit("late_fee").alias("charge_source"),
            pl.col("account_id").alias("charge_key"),
            "account_id",
            pl.lit("late_fee").alias("category"),
            pl.concat_str(
                pl.lit("Late payment fee ("),
                pl.when(above_fixed).then(f"{_percent(ppm)} of " + dollars).otherwise(dollars),
                pl.lit(" past due on "),
                pl.col("bill_date").cast(pl.String),
                pl.lit(")"),
            ).alias("description"),
            pl.when(above_fixed)
            .then(share)
            .otherwise(policy.late_fee_fixed_micros)
            .alias("amount_micros"),
        )
    )


def _percent_of(micros: pl.Expr, ppm: int) -> pl.Expr:
    """``ppm`` parts per million of ``micros`` (>= 0), half up to the cent in one step:
    rounding to the micro first could tip a half cent. Split at the rounding scale so the
    products stay within int64 for any balance."""
    scale = MICROS_PER_UNIT * CENT
    return (micros // scale * ppm + (micros % scale * ppm + scale // 2) // scale) * CENT


def _percent(ppm: int) -> str:
    return f"{Decimal(ppm) / 10_000:f}%"


def _dollars(micros: pl.Expr) -> pl.Expr:
    """``micros`` (>= 0) as dollars with thousands separators: $1,234.50."""
    whole = (micros // MICROS_PER_UNIT).cast(pl.String)
    # Commas every three digits from the right: on the reversed digits, after each group.
    grouped = whole.str.reverse().str.replace_all(r"(\d{3})", "${1},").str.strip_chars_end(",")
    cents = (micros % MICROS_PER_UNIT // CENT).cast(pl.String).str.zfill(2)
    return pl.concat_str(pl.lit("$"), grouped.str.reverse(), pl.lit("."), cents)


def aging(balances: pl.DataFrame, credits: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Each account's open amounts by days past due (``as_of`` less the due date) on
    ``as_of`` (``AGING_SCHEMA``): current (not yet due), 1-30, 31-60, 61-90 and over 90.

    ``balances`` and ``credits``: ``allocate``'s as of the same day.
    """
    days = (pl.lit(as_of) - pl.col("due_date")).dt.total_days()
    open_micros = pl.col("open_micros")
    by_account = balances.group_by("account_id").agg(
        open_micros.filter(days <= 0).sum().alias("current_micros"),
        open_micros.filter(days.is_between(1, 30)).sum().alias("past_due_1_30_micros"),
        open_micros.filter(days.is_between(31, 60)).sum().alias("past_due_31_60_micros"),
        open_micros.filter(days.is_between(61, 90)).sum().alias("past_due_61_90_micros"),
        open_micros.filter(days > 90).sum().alias("past_due_over_90_micros"),
        open_micros.sum().alias("total_open_micros"),
    )
    return (
        by_account.join(credits, on="account_id", how="full", coalesce=True)
        .with_columns(pl.col(pl.Int64).fill_null(0), pl.lit(as_of).alias("as_of_date"))
        .with_columns(
            (pl.col("total_open_micros") - pl.col("unapplied_credit_micros")).alias(
                "net_balance_micros"
            )
        )
        .select(*AGING_SCHEMA)
        .cast(AGING_SCHEMA)
        .sort("account_id")
    )


def dunning(
    balances: pl.DataFrame, allocations: pl.DataFrame, policy: BillingPolicy, as_of: date
) -> pl.DataFrame:
    """Every dunning stage of every invoice left open past its due date (``DUNNING_SCHEMA``).

    An invoice is dunned when at the end of its due date at least the policy's dunning
    minimum of it was open. Each stage triggers ``days_past_due`` after the due date. A
    stage whose invoice was paid, or paid down below the minimum, by the end of its trigger
    date (by ``as_of`` if that is earlier) is ``cancelled_paid``; else it is ``triggered``
    if its trigger date is on or before ``as_of``, ``scheduled`` if after.

    ``balances`` and ``allocations``: ``allocate``'s as of ``as_of``.
    """
    threshold = max(policy.dunning_minimum_overdue_micros, 1)
    stages = pl.DataFrame(
        [(stage.stage, stage.days_past_due) for stage in policy.dunning_stages],
        schema={"stage": pl.String, "days_past_due": pl.Int64},
        orient="row",
    )
    overdue = _open_at_end_of(
        balances.filter((pl.col("amount_micros") > 0) & (pl.col("due_date") < as_of)).select(
            "account_id", "invoice_id", "due_date", "amount_micros"
        ),
        pl.col("due_date"),
        allocations,
    ).filter(pl.col("open_then_micros") >= threshold)
    staged = (
        overdue.drop("open_then_micros")
        .join(stages, how="cross")
        .with_columns(
            (pl.col("due_date") + pl.duration(days=pl.col("days_past_due"))).alias("trigger_date")
        )
    )
    return (
        _open_at_end_of(staged, pl.min_horizontal("trigger_date", pl.lit(as_of)), allocations)
        .with_columns(
            pl.col("open_then_micros").alias("open_micros_at_trigger"),
            pl.when(pl.col("open_then_micros") < threshold)
            .then(pl.lit(CANCELLED_PAID))
            .when(pl.col("trigger_date") <= as_of)
            .then(pl.lit(TRIGGERED))
            .otherwise(pl.lit(SCHEDULED))
            .alias("dunning_status"),
        )
        .select(*DUNNING_SCHEMA)
        .cast(DUNNING_SCHEMA)
        .sort("account_id", "invoice_id", "trigger_date")
    )


def _open_at_end_of(frame: pl.DataFrame, day: pl.Expr, allocations: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (invoice_id, amount_micros, ...) with ``open_then_micros``: what was open of
    each row's invoice at the end of ``day``, an expression over ``frame``."""
    rows = frame.with_row_index("row")
    paid = (
        rows.join(
            allocations.select("invoice_id", "applied_date", "allocated_micros"),
            on="invoice_id",
            how="left",
        )
        .group_by("row")
        .agg(
            pl.when(pl.col("applied_date") <= day)
            .then(pl.col("allocated_micros"))
            .otherwise(0)
            .sum()
            .alias("paid_then_micros")
        )
    )
    return (
        rows.join(paid, on="row")
        .sort("row")
        .with_columns(
            (pl.col("amount_micros") - pl.col("paid_then_micros")).alias("open_then_micros")
        )
        .drop("row", "paid_then_micros")
    )
