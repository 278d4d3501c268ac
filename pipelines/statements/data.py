"""What a statement shows, read from the billing marts (the warehouse opened read-only).

One statement per invoice: the account and its service address, the invoice's dates, its
charges grouped by service line (plan fees and usage of each subscriber line), a usage
summary per line (calls and minutes, messages, data volume from the rated records), its
taxes and fees, and the account's balance: the totals of its earlier invoices in the
warehouse less the payments recorded against them, plus this invoice. Payments are not
recorded yet (receivables are issue #6's next step), so the balance forward is the earlier
invoices' totals and the payments line says none were recorded.

Money stays in integer micro-units; ``money`` formats it exactly (no rounding at display).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.config import Layout

MICROS = 1_000_000


@dataclass(frozen=True)
class ChargeLine:
    description: str
    quantity: str
    amount_micros: int


@dataclass(frozen=True)
class ServiceLine:
    """One subscriber line's charges on the invoice."""

    subscriber_id: str
    service_type: str
    number: str
    charges: tuple[ChargeLine, ...]

    @property
    def total_micros(self) -> int:
        return sum(charge.amount_micros for charge in self.charges)


@dataclass(frozen=True)
class UsageSummary:
    subscriber_id: str
    calls: int
    minutes: int  # billed seconds / 60, rounded up: what the customer was billed for
    messages: int
    data_megabytes: int  # bytes / 1,048,576 per session, rounded up


@dataclass(frozen=True)
class Statement:
    invoice_id: str
    account_id: str
    account_name: str
    address: str
    billing_period: str
    period_start: date
    period_end: date
    invoice_date: date
    due_date: date
    currency: str
    service_lines: tuple[ServiceLine, ...]
    usage: tuple[UsageSummary, ...]
    taxes: tuple[ChargeLine, ...]
    credits: tuple[ChargeLine, ...]
    charges_micros: int  # every charge but the credits
    credit_micros: int  # 0 or negative
    tax_micros: int
    total_micros: int
    previous_balance_micros: int
    payments_micros: int
    # Credit (negative) and debit notes issued with this bill for earlier invoices.
    corrections: tuple[ChargeLine, ...] = ()

    @property
    def corrections_micros(self) -> int:
        return sum(note.amount_micros for note in self.corrections)

    @property
    def amount_due_micros(self) -> int:
        return (
            self.previous_balance_micros
            - self.payments_micros
            + self.corrections_micros
            + self.total_micros
        )


def statements_dir(layout: Layout, billing_period: str) -> Path:
    """Where the period's statements are written (here, so that naming the folder does not
    load the PDF renderer)."""
    return layout.reports / "statements" / billing_period


def money(micros: int, currency: str = "USD") -> str:
    """Exact amount: ``$1,234.50``, or ``$8.064516`` when the micros do not end in cents."""
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS)
    digits = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{symbol}{whole:,}.{digits}"


def load_statements(
    duckdb_path: Path, billing_period: str, account_ids: list[str] | None = None
) -> list[Statement]:
    """The statements of the period's invoices (of ``account_ids`` only, if given)."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        invoices = _rows(
            con,
            """
            select
                fct_invoices.invoice_id, fct_invoices.account_id, dim_accounts.account_name,
                concat_ws(', ', dim_accounts.city, dim_accounts.state || ' '
                    || dim_accounts.postal_code) as address,
                fct_invoices.billing_period, fct_invoices.usage_from as period_start_date,
                fct_invoices.usage_to as period_end_date, fct_invoices.invoice_date,
                fct_invoices.due_date,
                coalesce(dim_accounts.currency, 'USD') as currency,
                fct_invoices.subtotal_micros - fct_invoices.credit_micros as charges_micros,
                fct_invoices.credit_micros, fct_invoices.tax_micros,
                fct_invoices.total_micros,
                -- The balance the previous bill left, before the payments received since.
                fct_invoices.previous_balance_micros + fct_invoices.payments_micros
                    as previous_balance_micros,
                fct_invoices.payments_micros
            from fct_invoices
            left join dim_accounts on fct_invoices.account_id = dim_accounts.account_id
            where fct_invoices.billing_period = $period
            order by fct_invoices.invoice_id
            """,
            billing_period,
        )
        lines = _rows(
            con,
            """
            select
                fct_invoice_lines.invoice_id, fct_invoice_lines.subscriber_id,
                fct_invoice_lines.line_type, fct_invoice_lines.description,
                fct_invoice_lines.quantity, fct_invoice_lines.quantity_unit,
                fct_invoice_lines.amount_micros, dim_subscribers.service_type,
                coalesce(dim_subscribers.msisdn, dim_subscribers.subscriber_id) as number
            from fct_invoice_lines
            left join dim_subscribers
                on fct_invoice_lines.subscriber_id = dim_subscribers.subscriber_id
            where fct_invoice_lines.billing_period = $period
            order by fct_invoice_lines.invoice_id, fct_invoice_lines.subscriber_id,
                fct_invoice_lines.line_type, fct_invoice_lines.invoice_line_id
            """,
            billing_period,
        )
        notes = _rows(
            con,
            """
            select invoice_id, note_id, note_type, corrected_invoice_id, amount_micros
            from fct_credit_notes
            where billing_period = $period
            order by note_id
            """,
            billing_period,
        )
        usage = _rows(
            con,
            """
            select
                account_id, subscriber_id,
                count(*) filter (where service = 'voice') as calls,
                coalesce(sum((billable_units + 59) // 60)
                    filter (where service = 'voice'), 0) as minutes,
                count(*) filter (where service in ('sms', 'mms')) as messages,
                coalesce(sum((data_volume_bytes + 1048575) // 1048576)
                    filter (where service = 'data'), 0) as data_megabytes
            from fct_rated_usage
            where billing_period = $period and rating_status in ('rated', 'zero_rated')
            group by account_id, subscriber_id
            order by account_id, subscriber_id
            """,
            billing_period,
        )
    wanted = set(account_ids) if account_ids else None
    return [
        _statement(invoice, lines, usage, notes)
        for invoice in invoices
        if wanted is None or invoice["account_id"] in wanted
    ]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, period: str) -> list[dict]:
    cursor = con.execute(sql, {"period": period})
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _quantity(line: dict) -> str:
    if line["quantity"] is None or line["quantity_unit"] == "base_micros":
        return ""
    unit = line["quantity_unit"]
    # "1 line", "1 call": the units are plural nouns.
    if line["quantity"] == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{line['quantity']:,} {unit}"


def _statement(invoice: dict, lines: list[dict], usage: list[dict], notes: list[dict]) -> Statement:
    own = [line for line in lines if line["invoice_id"] == invoice["invoice_id"]]
    by_subscriber: dict[str, list[dict]] = {}
    for line in own:
        if line["line_type"] not in ("tax", "credit"):
            # Charges on the account as a whole (a late fee) form a line of their own.
            by_subscriber.setdefault(line["subscriber_id"] or "account", []).append(line)
    service_lines = tuple(
        ServiceLine(
            subscriber_id=subscriber,
            service_type=charges[0]["service_type"] or "account",
            number=charges[0]["number"] or subscriber,
            charges=tuple(
                ChargeLine(c["description"], _quantity(c), c["amount_micros"]) for c in charges
            ),
        )
        for subscriber, charges in by_subscriber.items()
    )
    return Statement(
        invoice_id=invoice["invoice_id"],
        account_id=invoice["account_id"],
        account_name=invoice["account_name"] or invoice["account_id"],
        address=invoice["address"] or "",
        billing_period=invoice["billing_period"],
        period_start=invoice["period_start_date"],
        period_end=invoice["period_end_date"],
        invoice_date=invoice["invoice_date"],
        due_date=invoice["due_date"],
        currency=invoice["currency"],
        service_lines=service_lines,
        usage=tuple(
            UsageSummary(
                row["subscriber_id"],
                row["calls"],
                row["minutes"],
                row["messages"],
                row["data_megabytes"],
            )
            for row in usage
            if row["account_id"] == invoice["account_id"]
        ),
        taxes=tuple(
            ChargeLine(line["description"], _quantity(line), line["amount_micros"])
            for line in own
            if line["line_type"] == "tax"
        ),
        credits=tuple(
            ChargeLine(line["description"], _quantity(line), line["amount_micros"])
            for line in own
            if line["line_type"] == "credit"
        ),
        charges_micros=invoice["charges_micros"],
        credit_micros=invoice["credit_micros"],
        tax_micros=invoice["tax_micros"],
        total_micros=invoice["total_micros"],
        previous_balance_micros=invoice["previous_balance_micros"],
        payments_micros=invoice["payments_micros"],
        corrections=tuple(
            ChargeLine(
                f"{note['note_type'].replace('_', ' ').capitalize()} {note['note_id']} "
                f"correcting {note['corrected_invoice_id']}",
                "",
                note["amount_micros"],
            )
            for note in notes
            if note["invoice_id"] == invoice["invoice_id"]
        ),
    )
