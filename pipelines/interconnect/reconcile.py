"""Interconnect reconciliation: each carrier's invoice against our own rating of the calls
we handed it, and the disputes that follow.

Our view is the period's ``interconnect_legs`` that went out to a carrier and were rated
(leg_direction outbound, rating_status rated; a call in suspense has no deck row, and a
carrier does not bill what it cannot rate either). The carrier's view is the detail rows
of its invoice (``carrier_invoices``). Both are compared per **cell**: carrier x
destination_code (our deck prefix) x traffic_date (the call's local start date), and each
cell gets one class and cause. We also place each leg in the carrier's CDR batch (one of
four 6-hour windows of the local day), which lets an analyst point at the batch at fault.

The rules, in the order they apply (``DifferenceClass``, ``Cause``):

1. Duplicated batch: a detail row repeating another of the same cell exactly (batch_id,
   rate, calls, minutes, amount) bills the same calls twice (the carrier writes one row per
   batch and rate, so a repeat is never legitimate). The copies are set aside and the rest
   of the cell is classified by the rules below; a cell with copies is then ``volume`` /
   ``duplicate_batch`` whatever the rest shows (its detail says what the rest shows).
2. Timing: two adjacent days of a destination whose call and billed-second differences
   offset exactly (-n on one day, +n on the next) and whose amount differences net to no
   more than the two cells' rounding allowance: calls of the last hours of a day billed on
   the next (or the reverse, e.g. a retried call we date by its first attempt). ``timing``
   / ``traffic_date_shift``. Pairs are taken in date order.
3. Volume, when the calls differ: ``extra_traffic`` if we have no record of any call to the
   destination that day: no leg, and no answered call that left our network without a
   carrier's trunk group and that the carrier would rate on the destination
   (``unattributed``); ``missing_traffic`` if the carrier bills none (a missing invoice
   bills none) or fewer than we rated; ``unattributed_traffic`` if it bills more calls than
   we have legs of, but no more than our legs plus the unattributed calls (our records show
   those calls, not which carrier carried them); ``unmatched_carrier_traffic`` if it bills
   more than that (records we lost or could not read). Same calls, other billed seconds:
   ``volume`` / ``duration_mismatch``.
4. Rate: same calls and seconds, but the calls and seconds per rate billed are not ours per
   deck price in force that day: ``rate`` / ``rate_mismatch`` (e.g. a mid-month rate change
   ignored).
5. Amounts. The expected amount is ours with each invoice line (batch x price) rounded to
   the invoice's decimals (the most any amount of the file has) as the agreement rounds:
   equal, the cell is a ``match`` (cause null). Otherwise, a difference from our amount of
   at most one unit of the invoice's last decimal per detail row is ``rounding`` /
   ``invoice_rounding`` (the carrier rounded in a way the agreement does not say); beyond
   that the amounts are not the minutes at the rate: ``rate`` / ``amount_mismatch``.

The difference of a cell is their amount (everything billed, copies included) less ours.

Disputes: cells are grouped per carrier, invoice, destination and (class, cause). A group
of class rate or volume is disputed when the carrier bills more than we rated on its days
by more than the agreement's tolerance on our amount of those days:
max(dispute_tolerance_micros, dispute_tolerance_bp * our amount / 10 000), in integers,
floor. A match is what the agreement says, timing bills the same calls once on another day,
rounding is what the tolerance is there to absorb and unattributed traffic is calls our own
records show we made: none of them is disputed. A
dispute's id is ``<carrier>-<period>-<destination_code>-<cause>``; its evidence is the text
an analyst sends: amounts, the agreement's rate and its version against the rate billed,
the calls and minutes per day (and per batch where they differ), the repeated batches.

``reconcile_period`` reads the invoices, the legs and the rated usage, writes the period's
partitions of the four lake tables (``carrier_invoice_lines``, ``carrier_invoice_rejects``,
``interconnect_reconciliation``, ``interconnect_disputes``) and is idempotent: the same
inputs write the same bytes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, cast

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.interconnect.agreements import TERMINATION, load_carriers, load_deck
from pipelines.interconnect.carrier_invoices import (
    CarrierInvoices,
    CarrierTerms,
    RecordType,
    carrier_terms,
    invoice_file_name,
    money_text,
    read_carrier_invoices,
    rows_by_reason,
    write_carrier_invoices,
)
from pipelines.interconnect.unattributed import UnattributedCalls, read_unattributed_calls
from pipelines.locks import locked_partition
from pipelines.rating.buckets import read_period_table
from pipelines.schema import (
    INTERCONNECT_DISPUTE_SCHEMA,
    INTERCONNECT_RECONCILIATION_SCHEMA,
    LegDirection,
    RatingStatus,
)
from pipelines.tariffs.reference import round_micros

RECONCILIATION_TABLE = "interconnect_reconciliation"
DISPUTES_TABLE = "interconnect_disputes"
#: Hours of a carrier's CDR batch: a traffic date has four, numbered 1 to 4.
BATCH_HOURS = 6


class DifferenceClass(StrEnum):
    MATCH = "match"
    ROUNDING = "rounding"
    RATE = "rate"
    VOLUME = "volume"
    TIMING = "timing"


class Cause(StrEnum):
    """Why a cell differs (the module docstring gives each rule)."""

    DUPLICATE_BATCH = "duplicate_batch"
    TRAFFIC_DATE_SHIFT = "traffic_date_shift"
    EXTRA_TRAFFIC = "extra_traffic"
    MISSING_TRAFFIC = "missing_traffic"
    UNMATCHED_CARRIER_TRAFFIC = "unmatched_carrier_traffic"
    UNATTRIBUTED_TRAFFIC = "unattributed_traffic"
    DURATION_MISMATCH = "duration_mismatch"
    RATE_MISMATCH = "rate_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    INVOICE_ROUNDING = "invoice_rounding"


#: Classes a dispute may be raised on (module docstring).
DISPUTABLE = (DifferenceClass.RATE, DifferenceClass.VOLUME)
#: Causes never disputed although their class is: calls our own records show we made.
NOT_DISPUTABLE = (Cause.UNATTRIBUTED_TRAFFIC,)
OPEN = "open"


@dataclass(frozen=True)
class ReconciliationResult:
    """What ``reconcile_period`` wrote for a period."""

    billing_period: str
    invoices_read: int
    carriers_without_invoice: tuple[str, ...]  # carriers we handed rated calls, no invoice
    lines: int
    rejects: int
    rejects_by_reason: dict[str, int]
    arithmetic_findings: int
    cells: int
    cells_by_class: dict[str, int]
    disputes: int
    disputed_micros: int


@dataclass(frozen=True)
class _Ours:
    """Our rated legs of one cell, batch and deck version."""

    batch_id: str
    price_micros: int
    tariff_version: str
    calls: int
    seconds: int
    amount: int


@dataclass(frozen=True)
class _Theirs:
    """One detail row of the carrier's invoice."""

    line_number: int
    batch_id: str
    rate_micros: int
    calls: int
    seconds: int
    amount: int
    minutes: str
    rate: str
    amount_text: str

    def same_billing(self) -> tuple[str, int, int, int, int]:
        return (self.batch_id, self.rate_micros, self.calls, self.seconds, self.amount)


def _sum(rows: list[Any], attribute: str) -> int:
    return sum(getattr(row, attribute) for row in rows)


@dataclass
class _Cell:
    carrier_id: str
    destination_code: str
    traffic_date: date
    destination_name: str | None = None
    ours: list[_Ours] = field(default_factory=list)
    theirs: list[_Theirs] = field(default_factory=list)  # the rows kept: first copies
    duplicates: list[_Theirs] = field(default_factory=list)  # repeated copies set aside
    expected_amount: int = 0
    allowance: int = 0
    unattributed: int = 0  # our calls without a leg the carrier would rate here
    difference_class: DifferenceClass = DifferenceClass.MATCH
    cause: Cause | None = None
    paired: date | None = None
    detail: str = ""

    @property
    def our_calls(self) -> int:
        return _sum(self.ours, "calls")

    @property
    def our_seconds(self) -> int:
        return _sum(self.ours, "seconds")

    @property
    def our_amount(self) -> int:
        return _sum(self.ours, "amount")

    @property
    def kept_calls(self) -> int:
        return _sum(self.theirs, "calls")

    @property
    def kept_seconds(self) -> int:
        return _sum(self.theirs, "seconds")

    @property
    def kept_amount(self) -> int:
        return _sum(self.theirs, "amount")

    @property
    def billed(self) -> list[_Theirs]:
        return sorted(self.theirs + self.duplicates, key=lambda row: row.line_number)

    @property
    def difference(self) -> int:
        return _sum(self.billed, "amount") - self.our_amount

    def kept_differences(self) -> tuple[int, int, int]:
        """(calls, seconds, amount) of the kept rows less ours."""
        return (
            self.kept_calls - self.our_calls,
            self.kept_seconds - self.our_seconds,
            self.kept_amount - self.our_amount,
        )


@dataclass(frozen=True)
class Reconciliation:
    cells: pa.Table  # INTERCONNECT_RECONCILIATION_SCHEMA
    disputes: pa.Table  # INTERCONNECT_DISPUTE_SCHEMA


def batch_id(carrier_id: str, traffic_date: date, batch: int) -> str:
    """The carrier's CDR batch: ``<carrier_id>-<YYYYMMDD>-<1..4>``."""
    return f"{carrier_id}-{traffic_date:%Y%m%d}-{batch}"


def our_rated_view(legs: pa.Table) -> pl.DataFrame:
    """Rated outbound legs (``INTERCONNECT_LEG_SCHEMA``) per carrier_id, destination_code,
    traffic_date, batch and deck version: calls, billable_seconds, amount_micros (the sum of
    each call's rounded amount), price_micros, tariff_version, destination_name."""
    local_hour = pl.col("started_at").dt.convert_time_zone(OPERATOR_TIMEZONE).dt.hour()
    frame = cast(pl.DataFrame, pl.from_arrow(legs))
    return (
        frame.filter(
            (pl.col("leg_direction") == LegDirection.OUTBOUND.value)
            & (pl.col("rating_status") == RatingStatus.RATED.value)
        )
        .with_columns((local_hour // BATCH_HOURS + 1).alias("batch"))
        .group_by(
            "carrier_id",
            pl.col("destination_prefix").alias("destination_code"),
            pl.col("event_date").alias("traffic_date"),
            "batch",
            "price_micros",
            "tariff_version",
        )
        .agg(
            pl.len().cast(pl.Int64).alias("calls"),
            pl.col("billable_seconds").sum().alias("billable_seconds"),
            pl.col("amount_micros").sum().alias("amount_micros"),
            pl.col("destination_name").min().alias("destination_name"),
        )
        .sort("carrier_id", "destination_code", "traffic_date", "batch", "price_micros")
    )


def _cells(view: pl.DataFrame, lines: pa.Table) -> dict[tuple[str, str, date], _Cell]:
    cells: dict[tuple[str, str, date], _Cell] = {}

    def cell(carrier_id: str, code: str, day: date, name: str | None) -> _Cell:
        key = (carrier_id, code, day)
        if key not in cells:
            cells[key] = _Cell(carrier_id, code, day)
        cells[key].destination_name = cells[key].destination_name or name
        return cells[key]

    for row in view.iter_rows(named=True):
        cell(
            row["carrier_id"], row["destination_code"], row["traffic_date"], row["destination_name"]
        ).ours.append(
            _Ours(
                batch_id(row["carrier_id"], row["traffic_date"], row["batch"]),
                row["price_micros"],
                row["tariff_version"],
                row["calls"],
                row["billable_seconds"],
                row["amount_micros"],
            )
        )
    for row in lines.to_pylist():
        if row["record_type"] != RecordType.DETAIL:
            continue
        target = cell(
            row["carrier_id"], row["destination_code"], row["traffic_date"], row["destination_name"]
        )
        billed = _Theirs(
            row["line_number"],
            row["batch_id"],
            row["rate_micros"],
            row["calls"],
            row["billable_seconds"],
            row["amount_micros"],
            row["minutes"],
            row["rate"],
            row["amount"],
        )
        if any(kept.same_billing() == billed.same_billing() for kept in target.theirs):
            target.duplicates.append(billed)
        else:
            target.theirs.append(billed)
    return dict(sorted(cells.items()))


def invoice_decimals(lines: pa.Table, carrier_id: str) -> int:
    """The decimals of the carrier's invoice amounts: the most any of its rows writes (a
    row may drop trailing zeros); 6 (a micro-unit) without rows."""
    decimals = [
        row["amount_decimals"]
        for row in lines.select(["carrier_id", "amount_decimals"]).to_pylist()
        if row["carrier_id"] == carrier_id
    ]
    return min(max(decimals), 6) if decimals else 6


def _expected_amount(cell: _Cell, decimals: int, terms: CarrierTerms) -> int:
    """Ours with each invoice line (batch x price) rounded to the invoice's decimals the
    agreement's way: what a correct invoice bills for the cell."""
    lines: Counter[tuple[str, int]] = Counter()
    for ours in cell.ours:
        lines[(ours.batch_id, ours.price_micros)] += ours.amount
    return sum(
        round_micros(Fraction(amount), decimals, terms.rounding_method) for amount in lines.values()
    )


def _pair_timing(cells: dict[tuple[str, str, date], _Cell]) -> None:
    """Pair adjacent days whose calls and seconds offset and whose money nets to ~0."""
    for (carrier_id, code, day), cell in cells.items():
        following = cells.get((carrier_id, code, day + timedelta(days=1)))
        if following is None or cell.paired or following.paired:
            continue
        calls, seconds, amount = cell.kept_differences()
        next_calls, next_seconds, next_amount = following.kept_differences()
        if (
            calls != 0
            and calls + next_calls == 0
            and seconds + next_seconds == 0
            and abs(amount + next_amount) <= cell.allowance + following.allowance
        ):
            cell.paired, following.paired = following.traffic_date, cell.traffic_date


def _minutes(seconds: int) -> str:
    """Seconds as minutes, exact when they have at most 4 decimals, else to 4 decimals."""
    exact = Decimal(seconds) / 60
    shown = exact.quantize(Decimal("0.0001"))
    text = f"{shown.normalize():f}" if shown == exact else f"~{shown:f}"
    return f"{text} min"


def _calls(count: int, *, signed: bool = False) -> str:
    number = f"{count:+d}" if signed else str(count)
    return f"{number} call" if abs(count) == 1 else f"{number} calls"


def _by_rate(rows: list[_Ours] | list[_Theirs]) -> dict[int, tuple[int, int]]:
    """Calls and seconds per price or rate (micros per 60 s)."""
    totals: dict[int, tuple[int, int]] = {}
    for row in rows:
        price = row.price_micros if isinstance(row, _Ours) else row.rate_micros
        calls, seconds = totals.get(price, (0, 0))
        totals[price] = (calls + row.calls, seconds + row.seconds)
    return dict(sorted(totals.items()))


def _rates_text(by_rate: dict[int, tuple[int, int]]) -> str:
    return ", ".join(
        f"{_calls(calls)}, {seconds} s at {money_text(price)}/min"
        for price, (calls, seconds) in by_rate.items()
    )


def _classify(cell: _Cell) -> None:
    calls, seconds, amount = cell.kept_differences()
    ours = f"{_calls(cell.our_calls)}, {cell.our_seconds} s, {money_text(cell.our_amount)}"
    theirs = f"{_calls(cell.kept_calls)}, {cell.kept_seconds} s, {money_text(cell.kept_amount)}"
    if cell.paired is not None:
        cell.difference_class, cell.cause = DifferenceClass.TIMING, Cause.TRAFFIC_DATE_SHIFT
        sign = "+" if amount > 0 else ""
        cell.detail = (
            f"{_calls(calls, signed=True)}, {seconds:+d} s, {sign}{money_text(amount)} against our "
            f"records here, offset on {cell.paired.isoformat()}: billed on an adjacent day"
        )
    elif calls != 0:
        cell.difference_class = DifferenceClass.VOLUME
        if cell.our_calls == 0 and not cell.unattributed:
            cell.cause = Cause.EXTRA_TRAFFIC
            cell.detail = f"billed {theirs}; we have no record of any call to it that day"
        elif cell.kept_calls == 0:
            cell.cause = Cause.MISSING_TRAFFIC
            cell.detail = f"not billed; we rated {ours}"
        elif calls > 0:
            # Calls our records show without a trunk group may be the carrier's: only the
            # excess beyond them is traffic we have no record of.
            cell.cause = (
                Cause.UNATTRIBUTED_TRAFFIC
                if calls <= cell.unattributed
                else Cause.UNMATCHED_CARRIER_TRAFFIC
            )
            cell.detail = f"billed {theirs}; we have legs of {ours}"
            if cell.unattributed:
                cell.detail += (
                    f", and {_calls(cell.unattributed)} to it that day without a carrier's "
                    "trunk group"
                )
        else:
            cell.cause = Cause.MISSING_TRAFFIC
            cell.detail = f"billed {theirs}; we rated {ours}"
    elif seconds != 0:
        cell.difference_class, cell.cause = DifferenceClass.VOLUME, Cause.DURATION_MISMATCH
        cell.detail = (
            f"billed {cell.kept_seconds} s on the same {_calls(cell.kept_calls)}; "
            f"we rate {cell.our_seconds} s"
        )
    elif _by_rate(cell.theirs) != _by_rate(cell.ours):
        cell.difference_class, cell.cause = DifferenceClass.RATE, Cause.RATE_MISMATCH
        cell.detail = (
            f"billed {_rates_text(_by_rate(cell.theirs))}; the agreement's rate: "
            f"{_rates_text(_by_rate(cell.ours))} ({', '.join(_versions(cell))})"
        )
    elif cell.kept_amount == cell.expected_amount:
        cell.difference_class, cell.cause = DifferenceClass.MATCH, None
        cell.detail = "billed as rated"
        if amount:
            cell.detail += " (line amounts rounded to the invoice's decimals the agreement's way)"
    elif abs(amount) <= cell.allowance:
        cell.difference_class, cell.cause = DifferenceClass.ROUNDING, Cause.INVOICE_ROUNDING
        cell.detail = (
            f"billed {money_text(cell.kept_amount)}, rated {money_text(cell.our_amount)} (expected "
            f"{money_text(cell.expected_amount)}): within the rounding of {len(cell.theirs)} "
            f"row(s) to the invoice's decimals ({money_text(cell.allowance)})"
        )
    else:
        cell.difference_class, cell.cause = DifferenceClass.RATE, Cause.AMOUNT_MISMATCH
        cell.detail = (
            f"billed {money_text(cell.kept_amount)} for {_rates_text(_by_rate(cell.theirs))}; "
            f"at those rates it is {money_text(cell.expected_amount)}"
        )
    if cell.duplicates:
        repeated = sorted({row.batch_id for row in cell.duplicates})
        rest = cell.cause.value if cell.cause else cell.difference_class.value
        cell.detail = (
            f"batch(es) {', '.join(repeated)} billed more than once "
            f"({money_text(_sum(cell.duplicates, 'amount'))} in repeated rows); "
            f"without them: {rest}: {cell.detail}"
        )
        cell.difference_class, cell.cause = DifferenceClass.VOLUME, Cause.DUPLICATE_BATCH


def _versions(cell: _Cell) -> list[str]:
    return sorted({ours.tariff_version for ours in cell.ours})


def _cell_row(cell: _Cell, period: str, invoice: str | None, currency: str) -> dict[str, Any]:
    return {
        "billing_period": period,
        "carrier_id": cell.carrier_id,
        "invoice_number": invoice,
        "destination_code": cell.destination_code,
        "destination_name": cell.destination_name,
        "traffic_date": cell.traffic_date,
        "currency": currency,
        "our_calls": cell.our_calls,
        "our_billable_seconds": cell.our_seconds,
        "our_amount_micros": cell.our_amount,
        "our_prices_micros": sorted({ours.price_micros for ours in cell.ours}),
        "their_lines": len(cell.billed),
        "their_calls": _sum(cell.billed, "calls"),
        "their_billable_seconds": _sum(cell.billed, "seconds"),
        "their_amount_micros": _sum(cell.billed, "amount"),
        "their_rates_micros": sorted({row.rate_micros for row in cell.billed}),
        "duplicate_batches": sorted({row.batch_id for row in cell.duplicates}),
        "duplicate_amount_micros": _sum(cell.duplicates, "amount"),
        "expected_amount_micros": cell.expected_amount,
        "rounding_allowance_micros": cell.allowance,
        "difference_micros": cell.difference,
        "difference_class": cell.difference_class.value,
        "cause": cell.cause.value if cell.cause else None,
        "paired_traffic_date": cell.paired,
        "detail": cell.detail,
    }


@dataclass(frozen=True)
class _DeckVersion:
    tariff_version: str
    price_micros: int
    effective_from: date
    effective_to: date | None

    def span(self) -> str:
        until = self.effective_to.isoformat() if self.effective_to else "open"
        return f"{self.effective_from.isoformat()} to {until}"


def _termination_versions(deck: pl.DataFrame) -> dict[tuple[str, str], list[_DeckVersion]]:
    versions: dict[tuple[str, str], list[_DeckVersion]] = defaultdict(list)
    for row in deck.filter(pl.col("direction") == TERMINATION).iter_rows(named=True):
        versions[(row["carrier_id"], row["prefix"])].append(
            _DeckVersion(
                row["tariff_version"],
                row["price_micros"],
                row["effective_from"],
                row["effective_to"],
            )
        )
    return {key: sorted(rows, key=lambda v: v.effective_from) for key, rows in versions.items()}


def _in_force(versions: list[_DeckVersion], day: date) -> _DeckVersion | None:
    for version in versions:
        if version.effective_from <= day and (
            version.effective_to is None or day <= version.effective_to
        ):
            return version
    return None


def _day_evidence(cell: _Cell, versions: list[_DeckVersion]) -> list[str]:
    """What an analyst states about one day of a disputed group."""
    day = cell.traffic_date.isoformat()
    billed = cell.billed
    lines = [
        f"{day}: billed {_calls(_sum(billed, 'calls'))}, {_minutes(_sum(billed, 'seconds'))}, "
        f"{money_text(_sum(billed, 'amount'))} in {len(billed)} row(s) "
        f"(invoice lines {', '.join(str(row.line_number) for row in billed) or 'none'}); "
        f"our records: {_calls(cell.our_calls)}, {_minutes(cell.our_seconds)}, "
        f"{money_text(cell.our_amount)}."
    ]
    if cell.cause is Cause.RATE_MISMATCH or cell.cause is Cause.AMOUNT_MISMATCH:
        in_force = _in_force(versions, cell.traffic_date)
        if in_force is not None:
            lines.append(
                f"  The agreement's rate in force on {day} is {money_text(in_force.price_micros)}"
                f"/min (deck version {in_force.tariff_version}, effective {in_force.span()})."
            )
        for rate in sorted({row.rate_micros for row in cell.theirs}):
            calls = sum(row.calls for row in cell.theirs if row.rate_micros == rate)
            known = [v for v in versions if v.price_micros == rate and v is not in_force]
            origin = f" (the rate of deck version effective {known[-1].span()})" if known else ""
            lines.append(f"  Billed {_calls(calls)} at {money_text(rate)}/min{origin}.")
    if cell.duplicates:
        first_rows = {row.same_billing(): row.line_number for row in cell.theirs}
        for row in cell.duplicates:
            lines.append(
                f"  Batch {row.batch_id} is billed again on line {row.line_number} "
                f"(first on line {first_rows[row.same_billing()]}): {_calls(row.calls)}, "
                f"{row.minutes} min at {row.rate}/min, {row.amount_text}."
            )
    if cell.cause in (
        Cause.EXTRA_TRAFFIC,
        Cause.UNMATCHED_CARRIER_TRAFFIC,
        Cause.UNATTRIBUTED_TRAFFIC,
        Cause.DURATION_MISMATCH,
    ):
        lines.extend(_batch_evidence(cell))
    if cell.unattributed:
        lines.append(
            f"  Our switches recorded {_calls(cell.unattributed)} to this destination on {day} "
            "that name no carrier's trunk group: we cannot confirm which carrier carried them."
        )
    return lines


def _batch_evidence(cell: _Cell) -> list[str]:
    """The batches whose calls or seconds differ, theirs against ours."""
    theirs: dict[str, tuple[int, int]] = {}
    ours: dict[str, tuple[int, int]] = {}
    for rows, into in ((cell.theirs, theirs), (cell.ours, ours)):
        for row in rows:
            calls, seconds = into.get(row.batch_id, (0, 0))
            into[row.batch_id] = (calls + row.calls, seconds + row.seconds)
    lines = []
    for batch in sorted(set(theirs) | set(ours)):
        (billed_calls, billed_seconds), (our_calls, our_seconds) = (
            theirs.get(batch, (0, 0)),
            ours.get(batch, (0, 0)),
        )
        if (billed_calls, billed_seconds) != (our_calls, our_seconds):
            lines.append(
                f"  Batch {batch}: billed {_calls(billed_calls)}, {billed_seconds} s; "
                f"our records {_calls(our_calls)}, {our_seconds} s."
            )
    return lines


_WHAT = {
    Cause.DUPLICATE_BATCH: "CDR batches billed more than once",
    Cause.EXTRA_TRAFFIC: "traffic billed on days we handed you no calls to this destination",
    Cause.UNMATCHED_CARRIER_TRAFFIC: "more calls billed than our switch records show",
    Cause.MISSING_TRAFFIC: "fewer calls billed than our switch records show",
    Cause.DURATION_MISMATCH: "more minutes billed than the agreement's increments give",
    Cause.RATE_MISMATCH: "a rate billed other than the agreement's rate in force",
    Cause.AMOUNT_MISMATCH: "amounts that are not the billed minutes at the billed rate",
}


def _disputes(
    cells: list[_Cell],
    period: str,
    invoices: dict[str, str],
    terms: dict[str, CarrierTerms],
    versions: dict[tuple[str, str], list[_DeckVersion]],
) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, DifferenceClass, Cause], list[_Cell]] = defaultdict(list)
    for cell in cells:
        if (
            cell.difference_class in DISPUTABLE
            and cell.cause is not None
            and cell.cause not in NOT_DISPUTABLE
        ):
            key = (cell.carrier_id, cell.destination_code, cell.difference_class, cell.cause)
            groups[key].append(cell)
    disputes = []
    for (carrier_id, code, difference_class, cause), group in sorted(groups.items()):
        agreement = terms[carrier_id]
        ours = _sum(group, "our_amount")
        theirs = sum(_sum(cell.billed, "amount") for cell in group)
        tolerance = agreement.tolerance_micros(ours)
        if theirs - ours <= tolerance:
            continue
        invoice = invoices.get(carrier_id)
        name = next((cell.destination_name for cell in group if cell.destination_name), None)
        currency = agreement.currency
        evidence = [
            f"{agreement.carrier_name} ({carrier_id}), invoice {invoice} for {period}, "
            f"destination {code}{f' ({name})' if name else ''}: {_WHAT[cause]}.",
            f"Billed {money_text(theirs)} {currency}; "
            f"our rated amount {money_text(ours)} {currency}; "
            f"disputed {money_text(theirs - ours)} {currency} (the agreement's tolerance is "
            f"{money_text(tolerance)} {currency}).",
        ]
        for cell in group:
            evidence.extend(_day_evidence(cell, versions.get((carrier_id, code), [])))
        disputes.append(
            {
                "dispute_id": f"{carrier_id}-{period}-{code}-{cause.value}",
                "carrier_id": carrier_id,
                "billing_period": period,
                "invoice_number": invoice,
                "destination_code": code,
                "destination_name": name,
                "currency": currency,
                "difference_class": difference_class.value,
                "cause": cause.value,
                "traffic_dates": [cell.traffic_date for cell in group],
                "our_amount_micros": ours,
                "their_amount_micros": theirs,
                "disputed_amount_micros": theirs - ours,
                "tolerance_micros": tolerance,
                "evidence": "\n".join(evidence),
                "status": OPEN,
            }
        )
    return disputes


def reconcile(
    billing_period: str,
    terms: dict[str, CarrierTerms],
    invoices: CarrierInvoices,
    legs: pa.Table,
    deck: pl.DataFrame,
    unattributed: pl.DataFrame,
) -> Reconciliation:
    """Cells and disputes of the period (the module docstring gives the rules).

    ``legs``: the period's ``interconnect_legs``; ``deck``: ``agreements.load_deck`` (the
    evidence's deck versions; the prefixes unattributed calls are placed under);
    ``unattributed``: ``unattributed.unattributed_calls``.
    """
    cells = _cells(our_rated_view(legs), invoices.lines)
    unknown = sorted({carrier_id for carrier_id, _, _ in cells} - set(terms))
    if unknown:
        raise ValueError(f"carrier(s) {', '.join(unknown)} of the legs are not in carriers.csv")
    invoice_numbers = {file.carrier_id: ", ".join(file.invoice_numbers) for file in invoices.files}
    decimals = {carrier_id: invoice_decimals(invoices.lines, carrier_id) for carrier_id in terms}
    unplaced = UnattributedCalls(
        unattributed, deck, {carrier_id: agreement.spid for carrier_id, agreement in terms.items()}
    )
    for cell in cells.values():
        if cell.kept_calls > cell.our_calls:
            cell.unattributed = unplaced.count(
                cell.carrier_id, cell.destination_code, cell.traffic_date
            )
        carrier_decimals = decimals[cell.carrier_id]
        cell.expected_amount = _expected_amount(cell, carrier_decimals, terms[cell.carrier_id])
        cell.allowance = len(cell.theirs) * 10 ** (6 - carrier_decimals)
    _pair_timing(cells)
    for cell in cells.values():
        _classify(cell)
        if f"{cell.traffic_date:%Y-%m}" != billing_period:
            cell.detail += f"; the traffic date is outside the billing period {billing_period}"
        if cell.carrier_id in invoices.carriers_without_invoice:
            cell.detail += (
                f"; the carrier sent no invoice "
                f"({invoice_file_name(cell.carrier_id, billing_period)})"
            )
    rows = [
        _cell_row(
            cell,
            billing_period,
            invoice_numbers.get(cell.carrier_id),
            terms[cell.carrier_id].currency,
        )
        for cell in cells.values()
    ]
    disputes = _disputes(
        list(cells.values()),
        billing_period,
        invoice_numbers,
        terms,
        _termination_versions(deck),
    )
    return Reconciliation(
        cells=pa.Table.from_pylist(rows, schema=INTERCONNECT_RECONCILIATION_SCHEMA),
        disputes=pa.Table.from_pylist(disputes, schema=INTERCONNECT_DISPUTE_SCHEMA),
    )


@locked_partition("interconnect", "billing_period")
def reconcile_period(layout: Layout, billing_period: str) -> ReconciliationResult:
    """Read the period's carrier invoices, interconnect legs and rated usage (for the
    unattributed calls; with subscribers.csv, carriers.csv and the decks); replace the
    period's partitions of the invoice lines, rejects, reconciliation and disputes; return
    what was written."""
    carriers = load_carriers(layout)
    terms = carrier_terms(carriers)
    invoices = read_carrier_invoices(layout, billing_period, terms)
    legs = read_period_table(layout, "interconnect_legs", billing_period)
    result = reconcile(
        billing_period,
        terms,
        invoices,
        legs,
        load_deck(layout, carriers),
        read_unattributed_calls(layout, billing_period, legs),
    )
    write_carrier_invoices(layout, billing_period, invoices)
    where = {"billing_period": billing_period}
    lake.write_partition(layout, RECONCILIATION_TABLE, where, result.cells)
    lake.write_partition(layout, DISPUTES_TABLE, where, result.disputes)
    rated = {
        row["carrier_id"]
        for row in result.cells.select(["carrier_id", "our_calls"]).to_pylist()
        if row["our_calls"] > 0
    }
    classes = Counter(result.cells.column("difference_class").to_pylist())
    return ReconciliationResult(
        billing_period=billing_period,
        invoices_read=len(invoices.files),
        carriers_without_invoice=tuple(
            carrier_id for carrier_id in invoices.carriers_without_invoice if carrier_id in rated
        ),
        lines=invoices.lines.num_rows,
        rejects=invoices.rejects.num_rows,
        rejects_by_reason=rows_by_reason(invoices.rejects),
        arithmetic_findings=sum(len(file.arithmetic_findings) for file in invoices.files),
        cells=result.cells.num_rows,
        cells_by_class=dict(sorted(classes.items())),
        disputes=result.disputes.num_rows,
        disputed_micros=sum(result.disputes.column("disputed_amount_micros").to_pylist()),
    )
