"""The previous billing system's open invoices and the month's payments against them
(opening_balances.csv, payments.csv).

Every account created before the month has the old system's invoice of that month, issued
on its cycle day ($25-$250), and about one in twenty also still owes the invoice of the
month before, so dunning reaches its later stages (at least one such account once there
are ten). Over the month about 80% of the accounts pay in full by the due date, 7% pay
part of it by then, 5% pay in full after it (or, when the month ends first, after the
month, so not in the file) and 8% do not pay; one payer in full rounds up to the next
$50, leaving a credit. An account in arrears names this month's invoice when it pays, so
its older debt stays open; other payments name their invoice 60% of the time. Payment ids
follow the order the payments were received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from pipelines.billing.charges import CENT
from pipelines.billing.cycles import shift_month
from pipelines.billing.receivables import PAYMENT_METHODS
from pipelines.periods import parse_period

OLDER_DEBT_SHARE = 0.05
#: Paid in full by the due date, partly, in full after it, not at all.
BEHAVIOURS = ("on_time", "partial", "late", "none")
BEHAVIOUR_SHARES = (0.80, 0.07, 0.05, 0.08)
METHOD_SHARES = (0.55, 0.25, 0.15, 0.05)  # card, ach, check, cash
#: Payments naming the invoice they pay (a portal payment or a check with its stub).
NAMED_SHARE = 0.6
#: The overpayer rounds up to a multiple of this.
ROUND_UP_MICROS = 50_000_000


def opening_balance_rows(
    rng: np.random.Generator,
    accounts: list[tuple[str, date, int]],
    month: str,
    payment_terms_days: int,
) -> list[dict[str, object]]:
    """opening_balances.csv rows for ``accounts`` (account_id, created_date, cycle day)
    whose old-system invoices of ``month`` (``YYYY-MM``) are open."""
    first, _ = parse_period(month)
    eligible = sorted(account for account in accounts if account[1] < first)
    amounts = rng.integers(2_500, 25_001, size=(len(eligible), 2)) * CENT
    in_arrears = rng.random(len(eligible)) < OLDER_DEBT_SHARE
    could_owe = [
        shift_month(first.replace(day=cycle_day), -1) > created
        for _, created, cycle_day in eligible
    ]
    in_arrears &= could_owe
    if len(eligible) >= 10 and not in_arrears.any() and any(could_owe):
        candidates = np.flatnonzero(could_owe)
        in_arrears[candidates[rng.integers(len(candidates))]] = True
    rows: list[dict[str, object]] = []
    for (account_id, _, cycle_day), (amount, older), owes in zip(
        eligible, amounts.tolist(), in_arrears.tolist(), strict=True
    ):
        issued = first.replace(day=cycle_day)
        bills = [(shift_month(issued, -1), older)] if owes else []
        for invoice_date, micros in [*bills, (issued, amount)]:
            rows.append(
                {
                    "account_id": account_id,
                    "invoice_id": f"OLD-{invoice_date:%Y%m}-{account_id}",
                    "invoice_date": invoice_date.isoformat(),
                    "due_date": (invoice_date + timedelta(days=payment_terms_days)).isoformat(),
                    "amount_micros": micros,
                }
            )
    return rows


@dataclass
class _Payment:
    received: date
    account_id: str
    amount_micros: int
    invoice_id: str | None  # the invoice the customer named


def payment_rows(
    rng: np.random.Generator, opening_rows: list[dict[str, object]], month: str
) -> list[dict[str, object]]:
    """payments.csv rows: what the accounts of ``opening_rows`` paid in ``month`` against
    their invoices of that month."""
    first, last = parse_period(month)
    dated = [(date.fromisoformat(str(row["invoice_date"])), row) for row in opening_rows]
    invoices = sorted(
        ((str(row["account_id"]), row) for issued, row in dated if issued >= first),
        key=lambda item: item[0],
    )
    in_arrears = {row["account_id"] for issued, row in dated if issued < first}
    behaviours = rng.choice(len(BEHAVIOURS), size=len(invoices), p=BEHAVIOUR_SHARES)
    payments: list[_Payment] = []
    paid_in_full = []
    for (account_id, row), behaviour in zip(invoices, behaviours.tolist(), strict=True):
        issued = date.fromisoformat(str(row["invoice_date"]))
        due = date.fromisoformat(str(row["due_date"]))
        amount = int(str(row["amount_micros"]))
        kind = BEHAVIOURS[behaviour]
        if kind == "none" or (kind == "late" and due >= last):
            continue
        if kind == "late":
            received = _day_between(rng, due + timedelta(days=1), last)
        else:
            received = _day_between(rng, issued, min(due, last))
        if kind == "partial":
            amount = amount * int(rng.integers(20, 81)) // 100 // CENT * CENT
        elif account_id not in in_arrears:
            paid_in_full.append(len(payments))
        named = account_id in in_arrears or rng.random() < NAMED_SHARE
        invoice_id = str(row["invoice_id"]) if named else None
        payments.append(_Payment(received, account_id, amount, invoice_id))
    if paid_in_full:
        overpaid = payments[paid_in_full[int(rng.integers(len(paid_in_full)))]]
        overpaid.amount_micros = (overpaid.amount_micros // ROUND_UP_MICROS + 1) * ROUND_UP_MICROS
    methods = rng.choice(len(PAYMENT_METHODS), size=len(payments), p=METHOD_SHARES)
    ordered = sorted(payments, key=lambda payment: (payment.received, payment.account_id))
    return [
        {
            "payment_id": f"PAY-{month.replace('-', '')}-{number:05d}",
            "account_id": payment.account_id,
            "received_date": payment.received.isoformat(),
            "amount_micros": payment.amount_micros,
            "method": PAYMENT_METHODS[method],
            "invoice_id": payment.invoice_id,
        }
        for number, (payment, method) in enumerate(
            zip(ordered, methods.tolist(), strict=True), start=1
        )
    ]


def _day_between(rng: np.random.Generator, first: date, last: date) -> date:
    return first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))
