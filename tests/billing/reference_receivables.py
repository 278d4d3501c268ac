"""The reference receivables: each account's history replayed event by event, and its
late fee worked out one account at a time.

Slow and plain on purpose: dicts of open invoices sorted again at every payment, a list of
credits, one event at a time in Python. ``pipelines.billing.receivables.allocate`` computes
the same for every account at once (a sorted frame and a kernel over account segments)
and is tested against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import polars as pl

from pipelines.billing.charges import CENT, CHARGE_SCHEMA, conform
from pipelines.billing.policy import BillingPolicy
from pipelines.billing.receivables import (
    ALLOCATION_SCHEMA,
    CREDIT_NOTE,
    CREDIT_SCHEMA,
    INVOICE_SCHEMA,
    PAYMENT,
)
from pipelines.config import MICROS_PER_UNIT


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


def allocate(
    invoices: pl.DataFrame, payments: pl.DataFrame, as_of: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The allocations (``ALLOCATION_SCHEMA``) and unapplied credits (``CREDIT_SCHEMA``)
    of ``invoices`` and ``payments`` as of the end of ``as_of``."""
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
    return allocations, credits


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


def late_fee_charges(past_due: pl.DataFrame, policy: BillingPolicy) -> pl.DataFrame:
    """One late fee (``CHARGE_SCHEMA``) per row of ``past_due`` (account_id, bill_date,
    past_due_micros > 0 and at least the policy's minimum, sorted by account)."""
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
    columns = ("charge_source", "charge_key", "account_id", "category", "description")
    return conform(
        pl.DataFrame(
            rows,
            schema={name: CHARGE_SCHEMA[name] for name in (*columns, "amount_micros")},
            orient="row",
        )
    )


def _percent_of(micros: int, ppm: int) -> int:
    scale = MICROS_PER_UNIT * CENT
    return (micros * ppm + scale // 2) // scale * CENT


def _percent(ppm: int) -> str:
    return f"{Decimal(ppm) / 10_000:f}%"


def _dollars(micros: int) -> str:
    whole, fraction = divmod(micros, MICROS_PER_UNIT)
    return f"${whole:,}.{fraction // CENT:02d}"
