"""Recurring fees, billed in advance and trued up by the day.

A bill run charges each line's monthly fees for its account's next service period (the
advance period, from the bill date to the day before the next one: ``cycles``), as the
line stood at the end of the run's window (the billing period's last day). What happened
in the window is then known, so for each earlier service period that has days in the
window, the run compares what the previous bills charged (the line as known at the end of
the previous window) with what the line actually held by the day; where they differ it
reverses every earlier line of that service period and charges the days again:

- ``advance``: the next service period, whole, or split where the plan's version changes;
- ``reversed``: a fee an earlier bill charged for a service period, credited in full;
- ``adjusted``: the days of that service period the line actually held each offer.

Activation mid-period shows as an ``adjusted`` charge from the activation day plus the
next period in advance; a plan change reverses the old plan's period and charges both
plans by the day; a suspension charges the days up to it; a cancellation credits the days
after it. Proration is daily: fee x days held / days in the service period, each line
rounded to the cent (half away from zero), so a reversal is the exact mirror of the fee it
reverses. A period whose lines are unchanged is not repeated.

A run assumes the runs before it billed by these rules from the same reference data; its
result depends only on the reference data and the period, so a rerun reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from pipelines.billing.charges import CENT
from pipelines.billing.cycles import shift_month
from pipelines.billing.lifecycle import Line, Span
from pipelines.periods import parse_period

ADVANCE = "advance"
REVERSED = "reversed"
ADJUSTED = "adjusted"

RECURRING_SCHEMA = pl.Schema(
    {
        "billing_period": pl.String,
        "subscriber_id": pl.String,
        "account_id": pl.String,
        "plan_id": pl.String,
        "offer_kind": pl.String,  # plan or addon
        "service_type": pl.String,
        "recurring_kind": pl.String,  # advance, reversed or adjusted
        "period_start_date": pl.Date,  # the service period the fee belongs to
        "period_end_date": pl.Date,
        "service_from": pl.Date,  # the days charged (or reversed), both inclusive
        "service_to": pl.Date,
        "active_days": pl.Int32,
        "period_days": pl.Int32,
        "monthly_fee_micros": pl.Int64,
        "charge_micros": pl.Int64,
    }
)


@dataclass(frozen=True)
class FeeVersion:
    effective_from: date
    effective_to: date | None  # inclusive
    fee_micros: int


@dataclass(frozen=True)
class Piece:
    """Days [start, stop) of one offer version within one service period."""

    offer_id: str
    start: date
    stop: date
    fee_micros: int

    def charge(self, period_days: int) -> int:
        days = (self.stop - self.start).days
        return (self.fee_micros * days * 2 + period_days * CENT) // (2 * period_days * CENT) * CENT


def fee_versions(plans: pl.DataFrame) -> dict[str, list[FeeVersion]]:
    """plan_id -> its versions (``plans``: plan_id, effective_from, effective_to, fee)."""
    versions: dict[str, list[FeeVersion]] = {}
    for plan_id, start, end, fee in plans.select(
        "plan_id", "effective_from", "effective_to", "monthly_fee_micros"
    ).iter_rows():
        versions.setdefault(plan_id, []).append(FeeVersion(start, end, fee))
    return versions


def pieces(
    spans: Iterable[Span], start: date, stop: date, versions: dict[str, list[FeeVersion]]
) -> list[Piece]:
    """The spans' days in [start, stop), split where an offer's version changes; days no
    version covers carry no fee and give no piece."""
    result = []
    for span in spans:
        span_start = max(span.start, start)
        span_stop = stop if span.stop is None else min(span.stop, stop)
        for version in versions.get(span.offer_id, []):
            version_stop = (
                None if version.effective_to is None else version.effective_to + timedelta(days=1)
            )
            piece_start = max(span_start, version.effective_from)
            piece_stop = span_stop if version_stop is None else min(span_stop, version_stop)
            if piece_stop > piece_start:
                result.append(Piece(span.offer_id, piece_start, piece_stop, version.fee_micros))
    return sorted(result, key=lambda p: (p.start, p.offer_id))


def recurring_charges(
    lines: Sequence[Line],
    versions: dict[str, list[FeeVersion]],
    addon_versions: dict[str, list[FeeVersion]],
    cycle_days: dict[str, int],
    billing_period: str,
) -> pl.DataFrame:
    """The run's recurring fees (``RECURRING_SCHEMA``) for every line of an account in
    ``cycle_days`` (account_id -> bill cycle day), sorted by subscriber, service day,
    kind and offer."""
    first, last = parse_period(billing_period)
    previous_window_end = first - timedelta(days=1)
    rows: list[tuple[object, ...]] = []
    for line in lines:
        cycle_day = cycle_days.get(line.account_id)
        if cycle_day is None:
            continue
        bill = shift_month(first.replace(day=cycle_day), 1)
        # The service periods with days from the window's first day on: up to two already
        # billed in advance, and the one this bill charges in advance.
        earlier = [(shift_month(bill, -2), shift_month(bill, -1)), (shift_month(bill, -1), bill)]
        for offer_kind, known, offer_versions in (
            ("plan", line.plan_spans, versions),
            ("addon", line.addon_spans, addon_versions),
        ):
            now, before = known(last), known(previous_window_end)
            for start, stop in earlier:
                if stop <= first:
                    continue
                billed = pieces(before, start, stop, offer_versions)
                actual = pieces(now, start, stop, offer_versions)
                if billed != actual:
                    rows += _rows(line, offer_kind, REVERSED, billed, start, stop, -1)
                    rows += _rows(line, offer_kind, ADJUSTED, actual, start, stop, 1)
            advance = pieces(now, bill, shift_month(bill, 1), offer_versions)
            rows += _rows(line, offer_kind, ADVANCE, advance, bill, shift_month(bill, 1), 1)
    order = {ADVANCE: 2, REVERSED: 0, ADJUSTED: 1}
    frame = pl.DataFrame(
        [(billing_period, *row) for row in rows], schema=RECURRING_SCHEMA, orient="row"
    )
    return frame.sort(
        "subscriber_id",
        "period_start_date",
        pl.col("recurring_kind").replace_strict(order, return_dtype=pl.Int8),
        "service_from",
        "offer_kind",
        "plan_id",
    )


def _rows(
    line: Line,
    offer_kind: str,
    kind: str,
    charged: list[Piece],
    start: date,
    stop: date,
    sign: int,
) -> list[tuple[object, ...]]:
    period_days = (stop - start).days
    return [
        (
            line.subscriber_id,
            line.account_id,
            piece.offer_id,
            offer_kind,
            line.service_type,
            kind,
            start,
            stop - timedelta(days=1),
            piece.start,
            piece.stop - timedelta(days=1),
            (piece.stop - piece.start).days,
            period_days,
            piece.fee_micros,
            sign * piece.charge(period_days),
        )
        for piece in charged
    ]
