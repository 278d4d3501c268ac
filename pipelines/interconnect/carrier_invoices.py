"""Carrier invoices: what each interconnect carrier bills us for terminating our calls.

Each carrier of carriers.csv may send one invoice a month,
``carrier_invoices/<carrier_id>/<carrier_id>_<YYYY-MM>.csv``: UTF-8 CSV with a header row
and the columns of ``INVOICE_COLUMNS`` (any order; extra columns are ignored). Its rows
are ``detail`` (one per traffic date, destination code, CDR batch and rate applied),
``summary`` (one per destination code: the sum of its detail rows) and ``total`` (one:
the sum of the summary amounts). A folder of a carrier not in carriers.csv is not read:
without an agreement there is no currency, rate or tolerance to reconcile it against.

Every row is checked on its own, and a row that fails is kept out of the lines with the
first reason it fails (``InvoiceRejectReason``), its detail and its raw text, so that for
every file the rows read are the rows accepted plus the rows rejected:

- the row must be a CSV record of the header's width, of a known record type, with the
  fields its type needs (a detail row needs its traffic date, destination, batch, calls,
  minutes, rate and amount);
- carrier_id must be the folder's carrier, billing_period the file's period and currency
  the agreement's: an amount in another currency cannot be compared with ours;
- dates are ISO ``YYYY-MM-DD``; calls a whole number >= 0;
- minutes, rate and amount are plain non-negative decimals, parsed with ``Decimal`` and
  converted exactly: the rate and amount must be whole micro-units (anything finer is
  refused, never rounded: rounding it would invent a difference or hide one). The minutes
  are billed seconds / 60, which a carrier writes exactly (1.1 = 66 s) or rounded to its
  minute decimals (1.0167 = 61 s): the billed seconds are minutes * 60 when whole, else
  the one whole number of seconds within one unit of the minutes' last decimal (with two
  or more decimals there is at most one, whichever way the carrier rounds). Minutes no
  whole number of seconds gives (0.005 = 0.3 s) are refused: calls are billed in whole
  seconds, and reconciliation compares seconds exactly;
- a second summary row for a destination, or a second total row, is refused (which one the
  carrier meant is for it to say). A repeated *detail* row is not refused: it is billed,
  and reconciliation reports it as a duplicated batch.

A detail row whose traffic date falls outside the billing period is accepted: it is
traffic the carrier bills, and reconciliation decides whether it is timing or extra
traffic. A whole-file problem (not UTF-8, a header without the invoice's columns) refuses
each of the file's rows with that reason.

Arithmetic: carriers do add up wrong, and their detail rows are still what they bill. A
summary row that is not the sum of its destination's detail rows (calls, billed seconds,
amount), a total row that is not the sum of the summary rows, a destination billed
without a summary row and an invoice without a total row are kept, and the summary or
total row (or the file's summary, when the row itself is missing) carries the finding
``invoice_arithmetic``. Reconciliation matches the detail rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import MICROS_PER_UNIT, Layout
from pipelines.interconnect.agreements import load_carriers
from pipelines.schema import CARRIER_INVOICE_LINE_SCHEMA, CARRIER_INVOICE_REJECT_SCHEMA
from pipelines.tariffs.model import RoundingMethod

INVOICE_COLUMNS = (
    "record_type",
    "invoice_number",
    "carrier_id",
    "billing_period",
    "invoice_date",
    "currency",
    "traffic_date",
    "destination_code",
    "destination_name",
    "batch_id",
    "calls",
    "minutes",
    "rate",
    "amount",
)
LINES_TABLE = "carrier_invoice_lines"
REJECTS_TABLE = "carrier_invoice_rejects"
#: The finding a summary or total row carries when it is not the sum of its rows.
INVOICE_ARITHMETIC = "invoice_arithmetic"


class RecordType(StrEnum):
    DETAIL = "detail"
    SUMMARY = "summary"
    TOTAL = "total"


class InvoiceRejectReason(StrEnum):
    """Why an invoice row was kept out of the lines."""

    INVALID_ENCODING = "invalid_encoding"  # the file is not UTF-8
    UNKNOWN_COLUMN_LAYOUT = "unknown_column_layout"  # the header lacks invoice columns
    MALFORMED_ROW = "malformed_row"  # not a CSV record of the header's width
    UNKNOWN_RECORD_TYPE = "unknown_record_type"
    MISSING_FIELD = "missing_field"
    CARRIER_MISMATCH = "carrier_mismatch"  # carrier_id is not the folder's carrier
    PERIOD_MISMATCH = "period_mismatch"  # billing_period is not the file's period
    CURRENCY_MISMATCH = "currency_mismatch"  # not the agreement's currency
    INVALID_DATE = "invalid_date"
    INVALID_NUMBER = "invalid_number"  # not a whole number or plain decimal >= 0
    INEXACT_DECIMAL = "inexact_decimal"  # rate or amount finer than a micro-unit
    FRACTIONAL_SECONDS = "fractional_seconds"  # minutes that are not whole seconds
    REPEATED_SUMMARY = "repeated_summary"  # a second summary row for a destination
    REPEATED_TOTAL = "repeated_total"  # a second total row


#: Fields each record type must carry (besides record_type).
_REQUIRED = {
    RecordType.DETAIL: (
        "invoice_number",
        "carrier_id",
        "billing_period",
        "invoice_date",
        "currency",
        "traffic_date",
        "destination_code",
        "batch_id",
        "calls",
        "minutes",
        "rate",
        "amount",
    ),
    RecordType.SUMMARY: (
        "invoice_number",
        "carrier_id",
        "billing_period",
        "invoice_date",
        "currency",
        "destination_code",
        "calls",
        "minutes",
        "amount",
    ),
    RecordType.TOTAL: (
        "invoice_number",
        "carrier_id",
        "billing_period",
        "invoice_date",
        "currency",
        "amount",
    ),
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WHOLE = re.compile(r"\d+")
_DECIMAL = re.compile(r"\d+(?:\.(\d+))?")


@dataclass(frozen=True)
class CarrierTerms:
    """What reconciliation needs of a carrier's agreement (carriers.csv)."""

    carrier_id: str
    carrier_name: str
    spid: str  # the carrier's own network ("" when not a US network)
    currency: str
    rounding_method: RoundingMethod
    rounding_decimals: int
    dispute_tolerance_micros: int
    dispute_tolerance_bp: int

    def tolerance_micros(self, our_amount_micros: int) -> int:
        """The larger of the fixed tolerance and the basis points of our amount (floor)."""
        share = self.dispute_tolerance_bp * max(our_amount_micros, 0) // 10_000
        return max(self.dispute_tolerance_micros, share)


def carrier_terms(carriers: pl.DataFrame) -> dict[str, CarrierTerms]:
    """``agreements.load_carriers``' rows keyed by carrier_id."""
    return {
        row["carrier_id"]: CarrierTerms(
            carrier_id=row["carrier_id"],
            carrier_name=row["carrier_name"],
            spid=row["spid"],
            currency=row["currency"],
            rounding_method=RoundingMethod(row["rounding_method"]),
            rounding_decimals=row["rounding_decimals"],
            dispute_tolerance_micros=row["dispute_tolerance_micros"],
            dispute_tolerance_bp=row["dispute_tolerance_bp"],
        )
        for row in carriers.iter_rows(named=True)
    }


def read_carrier_terms(layout: Layout) -> dict[str, CarrierTerms]:
    """carriers.csv as checked by the agreements, keyed by carrier_id."""
    return carrier_terms(load_carriers(layout))


@dataclass(frozen=True)
class InvoiceFile:
    """One invoice file read: its counts (records_in = accepted + rejected) and findings."""

    file_name: str
    carrier_id: str
    invoice_numbers: tuple[str, ...]
    records_in: int
    accepted: int
    rejected: int
    arithmetic_findings: tuple[str, ...]


@dataclass(frozen=True)
class CarrierInvoices:
    """A period's invoices: accepted rows (``CARRIER_INVOICE_LINE_SCHEMA``), refused rows
    (``CARRIER_INVOICE_REJECT_SCHEMA``), each file read, and the carriers that sent none."""

    lines: pa.Table
    rejects: pa.Table
    files: tuple[InvoiceFile, ...]
    carriers_without_invoice: tuple[str, ...]


def invoice_file_name(carrier_id: str, billing_period: str) -> str:
    """The invoice's path under ``Layout.carrier_invoices``, as the lake records it."""
    return f"{carrier_id}/{carrier_id}_{billing_period}.csv"


class _Refused(Exception):
    def __init__(self, reason: InvoiceRejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _date(fields: dict[str, str], column: str) -> date | None:
    text = fields[column]
    if not text:
        return None
    if not _ISO_DATE.fullmatch(text):
        raise _Refused(InvoiceRejectReason.INVALID_DATE, f"{column} {text!r} is not YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Refused(
            InvoiceRejectReason.INVALID_DATE, f"{column} {text!r} is not a calendar date"
        ) from None


def _bigint(column: str, value: int) -> int:
    """``value``, refused when it does not fit the lake's BIGINT column (a number no carrier
    bills; int() would also refuse the text of one of 4,301 digits and more)."""
    if not -(2**63) <= value < 2**63:
        raise _Refused(InvoiceRejectReason.INVALID_NUMBER, f"{column} is beyond a 64-bit integer")
    return value


def _whole(fields: dict[str, str], column: str) -> int | None:
    text = fields[column]
    if not text:
        return None
    if not _WHOLE.fullmatch(text):
        raise _Refused(
            InvoiceRejectReason.INVALID_NUMBER, f"{column} {text!r} is not a whole number >= 0"
        )
    if len(text.lstrip("0")) > 19:
        raise _Refused(InvoiceRejectReason.INVALID_NUMBER, f"{column} has {len(text)} digits")
    return _bigint(column, int(text))


def _decimal(fields: dict[str, str], column: str) -> Decimal | None:
    text = fields[column]
    if not text:
        return None
    if not _DECIMAL.fullmatch(text):
        raise _Refused(
            InvoiceRejectReason.INVALID_NUMBER, f"{column} {text!r} is not a plain decimal >= 0"
        )
    return Decimal(text)


def _micros(fields: dict[str, str], column: str) -> int | None:
    value = _decimal(fields, column)
    if value is None:
        return None
    scaled = value.scaleb(6)  # exact: moves the exponent, no rounding
    if scaled != scaled.to_integral_value():
        raise _Refused(
            InvoiceRejectReason.INEXACT_DECIMAL,
            f"{column} {fields[column]!r} is finer than a micro-unit of the currency",
        )
    return _bigint(column, int(scaled))


def _seconds(fields: dict[str, str]) -> int | None:
    """The whole seconds the billed minutes stand for (module docstring)."""
    value = _decimal(fields, "minutes")
    if value is None:
        return None
    exact = value * 60
    if exact == exact.to_integral_value():
        return _bigint("minutes", int(exact))
    # Within one unit of the minutes' last decimal (in seconds) of the text: for two or
    # more decimals at most one whole second is, whichever way the carrier rounded.
    unit = Decimal(60).scaleb(-len(fields["minutes"].partition(".")[2]))
    near = [
        whole
        for whole in (exact.to_integral_value(ROUND_FLOOR), exact.to_integral_value(ROUND_CEILING))
        if abs(whole - exact) < unit
    ]
    if len(near) != 1:
        raise _Refused(
            InvoiceRejectReason.FRACTIONAL_SECONDS,
            f"minutes {fields['minutes']!r} is {exact} seconds, and no one whole number of "
            "seconds rounds to it",
        )
    return _bigint("minutes", int(near[0]))


def _line(
    fields: dict[str, str], carrier_id: str, billing_period: str, currency: str
) -> dict[str, Any]:
    """The row's line (``CARRIER_INVOICE_LINE_SCHEMA`` without file columns), or _Refused."""
    text = fields["record_type"]
    if text not in RecordType.__members__.values():
        raise _Refused(InvoiceRejectReason.UNKNOWN_RECORD_TYPE, f"record_type {text!r}")
    record_type = RecordType(text)
    missing = [column for column in _REQUIRED[record_type] if not fields[column]]
    if missing:
        raise _Refused(
            InvoiceRejectReason.MISSING_FIELD, f"{record_type} row without {', '.join(missing)}"
        )
    if fields["carrier_id"] != carrier_id:
        raise _Refused(
            InvoiceRejectReason.CARRIER_MISMATCH,
            f"carrier_id {fields['carrier_id']!r} in the invoice folder of {carrier_id}",
        )
    if fields["billing_period"] != billing_period:
        raise _Refused(
            InvoiceRejectReason.PERIOD_MISMATCH,
            f"billing_period {fields['billing_period']!r} in the invoice of {billing_period}",
        )
    if fields["currency"] != currency:
        raise _Refused(
            InvoiceRejectReason.CURRENCY_MISMATCH,
            f"currency {fields['currency']!r}; the agreement's is {currency}",
        )
    detail = record_type is RecordType.DETAIL
    line = {
        "record_type": record_type.value,
        "invoice_number": fields["invoice_number"],
        "invoice_date": _date(fields, "invoice_date"),
        "currency": fields["currency"],
        "traffic_date": _date(fields, "traffic_date") if detail else None,
        "destination_code": fields["destination_code"] or None,
        "destination_name": fields["destination_name"] or None,
        "batch_id": fields["batch_id"] if detail else None,
        "calls": _whole(fields, "calls"),
        "minutes": fields["minutes"] or None,
        "billable_seconds": _seconds(fields),
        "rate": fields["rate"] if detail else None,
        "rate_micros": _micros(fields, "rate") if detail else None,
        "amount": fields["amount"],
        "amount_micros": _micros(fields, "amount"),
        "amount_decimals": len(fields["amount"].partition(".")[2]),
        "finding": None,
        "finding_detail": None,
    }
    if record_type is RecordType.TOTAL:
        line["destination_code"] = None
    return line


def _records(text: str) -> list[tuple[int, str, list[str] | None, str]]:
    """(first physical line, raw text, fields or None, CSV error) of each non-blank record."""
    physical = list(io.StringIO(text, newline=""))
    reader = csv.reader(iter(physical), strict=True)
    records = []
    while True:
        start = reader.line_num
        try:
            fields: list[str] | None = next(reader)
            error = ""
        except StopIteration:
            break
        except csv.Error as failure:
            fields, error = None, str(failure)
        raw = "".join(physical[start : reader.line_num]).rstrip("\r\n")
        if fields == []:
            continue  # a blank line is no record
        records.append((start + 1, raw, fields, error))
    return records


def parse_invoice(
    content: bytes, carrier_id: str, billing_period: str, currency: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An invoice file's accepted lines and rejected rows, both with ``line_number`` and in
    file order; lines carry their arithmetic findings. The module docstring gives the rules.
    """
    lines: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []

    def refuse(number: int, reason: InvoiceRejectReason, detail: str, raw: str) -> None:
        rejects.append(
            {
                "line_number": number,
                "reason_code": reason.value,
                "reason_detail": detail,
                "raw_text": raw,
            }
        )

    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as failure:
        # Split where the CSV reader would (str.splitlines also splits at form feeds and
        # other controls, which would number the rows past the file's lines).
        undecoded = re.split(r"\r\n|\r|\n", content.decode("utf-8", errors="replace"))
        for number, raw in enumerate(undecoded[1:], start=2):
            if raw.strip():
                refuse(number, InvoiceRejectReason.INVALID_ENCODING, str(failure), raw)
        return lines, rejects
    records = _records(text)
    if not records:
        return lines, rejects
    _, _, header, _ = records[0]
    header = [name.strip() for name in header or []]
    absent = [column for column in INVOICE_COLUMNS if column not in header]
    for number, raw, fields, error in records[1:]:
        if absent:
            refuse(
                number,
                InvoiceRejectReason.UNKNOWN_COLUMN_LAYOUT,
                f"the header lacks {', '.join(absent)}",
                raw,
            )
        elif fields is None or len(fields) != len(header):
            width = f"{len(fields)} fields, the header has {len(header)}" if fields else error
            refuse(number, InvoiceRejectReason.MALFORMED_ROW, width, raw)
        else:
            named = {name: value.strip() for name, value in zip(header, fields, strict=True)}
            try:
                line = _line(named, carrier_id, billing_period, currency)
            except _Refused as refused:
                refuse(number, refused.reason, refused.detail, raw)
            else:
                lines.append({"line_number": number, "raw_text": raw, **line})
    lines = _refuse_repeated_summaries(lines, refuse)
    rejects.sort(key=lambda row: row["line_number"])
    return [{k: v for k, v in line.items() if k != "raw_text"} for line in lines], rejects


_Refuse = Callable[[int, InvoiceRejectReason, str, str], None]


def _refuse_repeated_summaries(
    lines: list[dict[str, Any]], refuse: _Refuse
) -> list[dict[str, Any]]:
    """Keep the first summary row of each destination and the first total row."""
    seen: set[tuple[str, str | None]] = set()
    kept = []
    for line in lines:
        key = (line["record_type"], line["destination_code"])
        if line["record_type"] != RecordType.DETAIL and key in seen:
            if line["record_type"] == RecordType.TOTAL:
                reason, detail = InvoiceRejectReason.REPEATED_TOTAL, "a second total row"
            else:
                reason = InvoiceRejectReason.REPEATED_SUMMARY
                detail = f"a second summary row for destination {line['destination_code']}"
            refuse(line["line_number"], reason, detail, line["raw_text"])
            continue
        seen.add(key)
        kept.append(line)
    return kept


def _sums(rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    return (
        sum(row["calls"] or 0 for row in rows),
        sum(row["billable_seconds"] or 0 for row in rows),
        sum(row["amount_micros"] for row in rows),
    )


def money_text(micros: int) -> str:
    """Currency units, at least two decimals and no more than needed (no floats)."""
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_UNIT)
    return f"{sign}{whole:,}.{f'{fraction:06d}'.rstrip('0').ljust(2, '0')}"


def check_arithmetic(lines: list[dict[str, Any]]) -> list[str]:
    """Mark summary and total rows that are not the sum of their rows (``finding``) and
    return every arithmetic finding of the invoice, in file order."""
    findings: list[str] = []

    def mark(line: dict[str, Any], what: str) -> None:
        line["finding"] = INVOICE_ARITHMETIC
        line["finding_detail"] = what
        findings.append(f"line {line['line_number']}: {what}")

    details: dict[str, list[dict[str, Any]]] = defaultdict(list)
    summaries: dict[str, dict[str, Any]] = {}
    totals = []
    for line in lines:
        if line["record_type"] == RecordType.DETAIL:
            details[line["destination_code"]].append(line)
        elif line["record_type"] == RecordType.SUMMARY:
            summaries[line["destination_code"]] = line
        else:
            totals.append(line)
    for code, summary in summaries.items():
        calls, seconds, amount = _sums(details.get(code, []))
        stated = (summary["calls"], summary["billable_seconds"], summary["amount_micros"])
        if stated != (calls, seconds, amount):
            mark(
                summary,
                f"summary of {code} states {stated[0]} calls, {stated[1]} s, "
                f"{money_text(stated[2])}; its detail rows add up to {calls} calls, {seconds} s, "
                f"{money_text(amount)}",
            )
    for code in sorted(set(details) - set(summaries)):
        findings.append(f"destination {code} is billed in detail rows without a summary row")
    for total in totals:
        calls, seconds, amount = _sums(list(summaries.values()))
        wrong = [f"amount {money_text(total['amount_micros'])} (summaries: {money_text(amount)})"]
        wrong = wrong if total["amount_micros"] != amount else []
        if total["calls"] is not None and total["calls"] != calls:
            wrong.append(f"calls {total['calls']} (summaries: {calls})")
        if total["billable_seconds"] is not None and total["billable_seconds"] != seconds:
            wrong.append(f"{total['billable_seconds']} s (summaries: {seconds} s)")
        if wrong:
            mark(total, "total row states " + ", ".join(wrong))
    if not totals:
        findings.append("the invoice has no total row")
    return findings


def read_invoice_file(
    layout: Layout, terms: CarrierTerms, billing_period: str
) -> tuple[InvoiceFile, list[dict[str, Any]], list[dict[str, Any]]] | None:
    """The carrier's invoice for the period (None when there is no file): its summary and
    its lines and rejects as lake rows."""
    file_name = invoice_file_name(terms.carrier_id, billing_period)
    path: Path = layout.carrier_invoices / file_name
    if not path.is_file():
        return None
    lines, rejects = parse_invoice(
        path.read_bytes(), terms.carrier_id, billing_period, terms.currency
    )
    findings = check_arithmetic(lines)
    placed = {"billing_period": billing_period, "carrier_id": terms.carrier_id}
    placed["file_name"] = file_name
    summary = InvoiceFile(
        file_name=file_name,
        carrier_id=terms.carrier_id,
        invoice_numbers=tuple(sorted({line["invoice_number"] for line in lines})),
        records_in=len(lines) + len(rejects),
        accepted=len(lines),
        rejected=len(rejects),
        arithmetic_findings=tuple(findings),
    )
    return summary, [{**placed, **line} for line in lines], [{**placed, **r} for r in rejects]


def read_carrier_invoices(
    layout: Layout, billing_period: str, terms: dict[str, CarrierTerms]
) -> CarrierInvoices:
    """Every carrier's invoice of the period, read and checked (not written)."""
    files, lines, rejects, without = [], [], [], []
    for carrier_id in sorted(terms):
        read = read_invoice_file(layout, terms[carrier_id], billing_period)
        if read is None:
            without.append(carrier_id)
            continue
        summary, file_lines, file_rejects = read
        files.append(summary)
        lines.extend(file_lines)
        rejects.extend(file_rejects)
    return CarrierInvoices(
        lines=pa.Table.from_pylist(lines, schema=CARRIER_INVOICE_LINE_SCHEMA),
        rejects=pa.Table.from_pylist(rejects, schema=CARRIER_INVOICE_REJECT_SCHEMA),
        files=tuple(files),
        carriers_without_invoice=tuple(without),
    )


def write_carrier_invoices(layout: Layout, billing_period: str, invoices: CarrierInvoices) -> None:
    """Replace the period's partitions of the lines and rejects tables."""
    where = {"billing_period": billing_period}
    lake.write_partition(layout, LINES_TABLE, where, invoices.lines)
    lake.write_partition(layout, REJECTS_TABLE, where, invoices.rejects)


def rows_by_reason(rejects: pa.Table) -> dict[str, int]:
    """Rejected rows per reason code, for a stage summary."""
    return dict(sorted(Counter(rejects.column("reason_code").to_pylist()).items()))
