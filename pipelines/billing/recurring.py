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

Every line is billed at once, as columns: the spans each line held (``lifecycle``) are cut
into pieces per service period and offer version by joins, and only the lines whose spans
changed in the window are compared period by period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from pipelines.billing.charges import CENT
from pipelines.billing.cycles import shift_month
from pipelines.billing.lifecycle import Line, LineBook
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

#: The service periods of a run, per bill cycle day: the two already billed in advance
#: that can have days in the window, and the one this bill charges in advance.
_EARLIER, _LATER, _ADVANCE_PERIOD = 0, 1, 2
#: How the rows of one service period are listed: reversals, true-ups, then the advance.
_KIND_ORDER = {REVERSED: 0, ADJUSTED: 1, ADVANCE: 2}
#: Offer kinds by code, in the order a line's rows are listed.
_OFFER_KINDS = ("plan", "addon")
_PLAN, _ADDON = 0, 1


@dataclass(frozen=True)
class FeeVersion:
    effective_from: date
    effective_to: date | None  # inclusive
    fee_micros: int


def fee_versions(plans: pl.DataFrame) -> dict[str, list[FeeVersion]]:
    """plan_id -> its versions (``plans``: plan_id, effective_from, effective_to, fee)."""
    versions: dict[str, list[FeeVersion]] = {}
    for plan_id, start, end, fee in plans.select(
        "plan_id", "effective_from", "effective_to", "monthly_fee_micros"
    ).iter_rows():
        versions.setdefault(plan_id, []).append(FeeVersion(start, end, fee))
    return versions


def recurring_charges(
    lines: LineBook | Sequence[Line],
    versions: dict[str, list[FeeVersion]],
    addon_versions: dict[str, list[FeeVersion]],
    cycle_days: dict[str, int],
    billing_period: str,
) -> pl.DataFrame:
    """The run's recurring fees (``RECURRING_SCHEMA``) for every line of an account in
    ``cycle_days`` (account_id -> bill cycle day), sorted by subscriber, service day,
    kind and offer. ``lines``: ``lifecycle.load_lines``, or lines given one by one."""
    book = lines if isinstance(lines, LineBook) else LineBook.of(lines)
    first, last = parse_period(billing_period)
    cycles = pl.DataFrame(
        {"account_id": list(cycle_days), "cycle_day": list(cycle_days.values())},
        schema={"account_id": pl.String, "cycle_day": pl.Int64},
    )
    billed = (
        book.lines.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("line"))
        .join(cycles, on="account_id", how="inner", maintain_order="left")
        .select("line", "subscriber_id", "account_id", "service_type", "cycle_day")
    )
    periods = billed.select("line", "cycle_day").join(
        _service_periods(first, set(cycle_days.values())), on="cycle_day"
    )
    fees = pl.concat([_versions(_PLAN, versions), _versions(_ADDON, addon_versions)])
    now = _spans(book, last)
    before = _spans(book, first - timedelta(days=1))
    # A line whose spans the window did not change bills its earlier periods as before.
    changed = _differing(before, now, ["line", "offer_kind"], ["offer_id", "start", "stop"])
    earlier = periods.filter(pl.col("period") != _ADVANCE_PERIOD)
    billed_pieces = _pieces(before.join(changed, on=["line", "offer_kind"]), earlier, fees)
    actual = _pieces(now.join(changed, on=["line", "offer_kind"]), earlier, fees)
    group = ["line", "offer_kind", "period"]
    trued_up = _differing(billed_pieces, actual, group, ["offer_id", "start", "stop", "fee"])
    advance = _pieces(now, periods.filter(pl.col("period") == _ADVANCE_PERIOD), fees)
    rows = pl.concat(
        [
            _rows(billed_pieces.join(trued_up, on=group), REVERSED, -1),
            _rows(actual.join(trued_up, on=group), ADJUSTED, 1),
            _rows(advance, ADVANCE, 1),
        ]
    ).sort("line", "offer_kind", "period", "kind_order", "piece")
    return (
        rows.join(billed.drop("cycle_day"), on="line", how="left", maintain_order="left")
        .select(
            pl.lit(billing_period).alias("billing_period"),
            "subscriber_id",
            "account_id",
            pl.col("offer_id").alias("plan_id"),
            pl.col("offer_kind").replace_strict(dict(enumerate(_OFFER_KINDS))),
            "service_type",
            "recurring_kind",
            pl.col("period_start").alias("period_start_date"),
            (pl.col("period_stop") - pl.duration(days=1)).alias("period_end_date"),
            pl.col("start").alias("service_from"),
            (pl.col("stop") - pl.duration(days=1)).alias("service_to"),
            "active_days",
            "period_days",
            pl.col("fee").alias("monthly_fee_micros"),
            "charge_micros",
            "kind_order",
        )
        .sort(
            "subscriber_id",
            "period_start_date",
            "kind_order",
            "service_from",
            "offer_kind",
            "plan_id",
            maintain_order=True,
        )
        .drop("kind_order")
        .cast(RECURRING_SCHEMA)
    )


def _service_periods(first: date, cycle_days: set[int]) -> pl.DataFrame:
    """Per cycle day, the service periods [period_start, period_stop) with days from the
    window's first day on."""
    rows = []
    for cycle_day in sorted(cycle_days):
        bill = shift_month(first.replace(day=cycle_day), 1)
        bounds = [shift_month(bill, months) for months in (-2, -1, 0, 1)]
        for period in (_EARLIER, _LATER, _ADVANCE_PERIOD):
            start, stop = bounds[period], bounds[period + 1]
            if period == _ADVANCE_PERIOD or stop > first:
                rows.append((cycle_day, period, start, stop))
    return pl.DataFrame(
        rows,
        schema={
            "cycle_day": pl.Int64,
            "period": pl.Int64,
            "period_start": pl.Date,
            "period_stop": pl.Date,
        },
        orient="row",
    )


def _versions(offer_kind: int, versions: dict[str, list[FeeVersion]]) -> pl.DataFrame:
    """The offers' versions: days [effective_from, version_stop) at fee, numbered in the
    order they are listed."""
    return pl.DataFrame(
        [
            (
                offer_kind,
                offer_id,
                number,
                v.effective_from,
                v.effective_to,
                v.fee_micros,
            )
            for offer_id, listed in versions.items()
            for number, v in enumerate(listed)
        ],
        schema={
            "offer_kind": pl.Int64,
            "offer_id": pl.String,
            "version": pl.Int64,
            "effective_from": pl.Date,
            "effective_to": pl.Date,
            "fee": pl.Int64,
        },
        orient="row",
    ).with_columns((pl.col("effective_to") + pl.duration(days=1)).alias("version_stop"))


def _spans(book: LineBook, known_through: date) -> pl.DataFrame:
    """Each line's plan and add-on spans as known through ``known_through``, by line, offer
    kind and span order (``lifecycle.SPAN_SCHEMA`` with offer_kind)."""
    plans = book.plan_spans(known_through)
    addons = book.addon_spans(known_through, plans)
    return pl.concat(
        [
            frame.with_columns(pl.lit(kind, pl.Int64).alias("offer_kind"))
            for kind, frame in enumerate((plans, addons))
        ]
    ).sort("line", "offer_kind", "seq")


def _pieces(spans: pl.DataFrame, periods: pl.DataFrame, fees: pl.DataFrame) -> pl.DataFrame:
    """The spans' days in each of their line's ``periods``, split where an offer's version
    changes; days no version covers carry no fee and give no piece. By line, offer kind,
    period, then as the rules list a period's pieces: by start and offer, in span and
    version order (``piece``)."""
    return (
        spans.join(periods, on="line")
        .join(fees, on=["offer_kind", "offer_id"])
        .with_columns(
            pl.max_horizontal("start", "period_start", "effective_from").alias("start"),
            pl.min_horizontal("stop", "period_stop", "version_stop").alias("stop"),
        )
        .filter(pl.col("stop") > pl.col("start"))
        .sort("line", "offer_kind", "period", "start", "offer_id", "seq", "version")
        .select(
            "line",
            "offer_kind",
            "period",
            "period_start",
            "period_stop",
            "offer_id",
            "start",
            "stop",
            "fee",
            pl.int_range(pl.len(), dtype=pl.Int64).alias("piece"),
        )
    )


def _differing(
    left: pl.DataFrame, right: pl.DataFrame, keys: list[str], fields: list[str]
) -> pl.DataFrame:
    """The ``keys`` whose rows (``fields``, in frame order) differ between the frames, both
    sorted by ``keys``."""

    def ranked(frame: pl.DataFrame) -> pl.DataFrame:
        # The frames come sorted by keys: a row's rank is its distance from its group's first.
        first = pl.any_horizontal(pl.col(key).ne_missing(pl.col(key).shift(1)) for key in keys)
        row = pl.int_range(pl.len(), dtype=pl.Int64)
        rank = row - pl.when(first).then(row).forward_fill()
        return frame.select(*keys, *fields, rank.alias("rank"))

    paired = ranked(left).join(ranked(right), on=[*keys, "rank"], how="full", coalesce=True)
    mismatch = pl.any_horizontal(pl.col(f).ne_missing(pl.col(f + "_right")) for f in fields)
    return paired.filter(mismatch).select(keys).unique()


def _rows(pieces: pl.DataFrame, kind: str, sign: int) -> pl.DataFrame:
    """The fee rows of ``pieces``: each prorated by the day, rounded to the cent half away
    from zero, so a reversal is the exact mirror of the fee it reverses."""
    days = (pl.col("stop") - pl.col("start")).dt.total_days()
    period_days = (pl.col("period_stop") - pl.col("period_start")).dt.total_days()
    charge = (pl.col("fee") * days * 2 + period_days * CENT) // (2 * period_days * CENT) * CENT
    return pieces.with_columns(
        pl.lit(kind).alias("recurring_kind"),
        pl.lit(_KIND_ORDER[kind], pl.Int64).alias("kind_order"),
        days.alias("active_days"),
        period_days.alias("period_days"),
        (sign * charge).alias("charge_micros"),
    )
