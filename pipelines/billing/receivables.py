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
that day makes: dunning reads an invoice's history from them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import polars as pl

from pipelines.billing.charges import CENT, CHARGE_SCHEMA, conform
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


@dataclass
class _Credit:
    """What is left of a payment or credit note once every open invoice was paid."""

    source_id: str
    kind: str
    micros: int


@dataclass
class _Account:
    """One account's replay: its open invoices and its unapplied credit."""

    account_id: str
    due: dict[str, date]  # invoice_id -> due date, of every invoice
    open: dict[str, int] = field(default_factory=dict)  # invoice_id -> open micros (> 0)
    credit: list[_Credit] = field(default_factory=list)  # oldest first
    allocations: list[tuple[object, ...]] = field(default_factory=list)

    def issue(self, invoice_id: str, amount: int, day: date) -> None:
        if amount > 0:
            self.open[invoice_id] = amount
        while self.credit and self.open:
            oldest = self.credit[0]
            oldest.micros = self._settle(oldest.source_id, oldest.kind, oldest.micros, day, None)
            if oldest.micros == 0:
                self.credit.pop(0)

    def receive(self, source_id: str, kind: str, amount: int, day: date, named: str | None) -> None:
        left = self._settle(source_id, kind, amount, day, named)
        if left:
            self.credit.append(_Credit(source_id, kind, left))

    def _settle(self, source_id: str, kind: str, amount: int, day: date, named: str | None) -> int:
        """Pay open invoices from ``amount``, the named one first; returns what is left."""
        order = sorted(self.open, key=lambda invoice_id: (self.due[invoice_id], invoice_id))
        if named in self.open:
            order.remove(named)
            order.insert(0, named)
        for invoice_id in order:
            if amount == 0:
                break
            applied = min(amount, self.open[invoice_id])
            amount -= applied
            self.open[invoice_id] -= applied
            if self.open[invoice_id] == 0:
                del self.open[invoice_id]
            self.allocations.append((source_id, kind, invoice_id, self.account_id, day, applied))
        return amount


# An event's rank orders one day: invoices, then credit notes, then payments.
_ISSUE, _CREDIT_NOTE, _PAYMENT = 0, 1, 2


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
    due = dict(invoices.select("invoice_id", "due_date").iter_rows())
    accounts: dict[str, _Account] = {}
    for account_id, day, rank, source_id, amount, named in sorted(
        _events(invoices, payments), key=lambda event: event[:4]
    ):
        account = accounts.setdefault(account_id, _Account(account_id, due))
        if rank == _ISSUE:
            account.issue(source_id, amount, day)
        else:
            kind = PAYMENT if rank == _PAYMENT else CREDIT_NOTE
            account.receive(source_id, kind, amount, day, named)
    allocations = pl.DataFrame(
        [row for account in accounts.values() for row in account.allocations],
        schema=ALLOCATION_SCHEMA,
        orient="row",
    )
    credits = pl.DataFrame(
        [
            (account_id, sum(credit.micros for credit in account.credit))
            for account_id, account in sorted(accounts.items())
        ],
        schema=CREDIT_SCHEMA,
        orient="row",
    )
    return Receivables(allocations, _balances(invoices, allocations), credits)


def _events(
    invoices: pl.DataFrame, payments: pl.DataFrame
) -> Iterator[tuple[str, date, int, str, int, str | None]]:
    """(account, day, rank, id, amount, the invoice a payment names) of every event."""
    for invoice_id, account_id, invoice_date, amount in invoices.select(
        "invoice_id", "account_id", "invoice_date", "amount_micros"
    ).iter_rows():
        rank = _ISSUE if amount >= 0 else _CREDIT_NOTE
        yield account_id, invoice_date, rank, invoice_id, abs(amount), None
    for payment_id, account_id, received, amount, named in payments.select(
        "payment_id", "account_id", "received_date", "amount_micros", "invoice_id"
    ).iter_rows():
        yield account_id, received, _PAYMENT, payment_id, amount, named


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
    rows = []
    for account_id, bill_date, past_due_micros in past_due.iter_rows():
        share = _percent_of(past_due_micros, policy.late_fee_percent_ppm)
        if share > policy.late_fee_fixed_micros:
            amount = share
            basis = f"{_percent(policy.late_fee_percent_ppm)} of {_dollars(past_due_micros)}"
        else:
            amount, basis = policy.late_fee_fixed_micros, _dollars(past_due_micros)
        description = f"Late payment fee ({basis} past due on {bill_date.isoformat()})"
        rows.append(("late_fee", account_id, account_id, "late_fee", description, amount))
    return conform(
        pl.DataFrame(
            rows,
            schema={
                name: CHARGE_SCHEMA[name]
                for name in (
                    "charge_source",
                    "charge_key",
                    "account_id",
                    "category",
                    "description",
                    "amount_micros",
                )
            },
            orient="row",
        )
    )


def _percent_of(micros: int, ppm: int) -> int:
    """``ppm`` parts per million of ``micros`` (>= 0), half up to the cent in one step:
    rounding to the micro first could tip a half cent."""
    scale = MICROS_PER_UNIT * CENT
    return (micros * ppm + scale // 2) // scale * CENT


def _percent(ppm: int) -> str:
    return f"{Decimal(ppm) / 10_000:f}%"


def _dollars(micros: int) -> str:
    whole, fraction = divmod(micros, MICROS_PER_UNIT)
    return f"${whole:,}.{fraction // CENT:02d}"


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
