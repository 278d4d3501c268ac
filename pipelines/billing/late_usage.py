"""Late usage: usage of an earlier, already rated period that changed after its rating.

A switch file can arrive after the period its records happened in was rated and billed (a
failover replay, a file stuck on an SFTP server, a roaming partner's TAP file sent weeks
later), and the next period's data can complete or time out a session that period held.
Mediation files such records under their own event date, in the earlier period, and
consolidation joins them to its sessions; the rule here bills them, the way billing
systems bill delayed usage: rated at its event time, on the next bill.

- The period is **closed** (its invoices are issued): an audited re-rating of the period
  (``rerate_period``, reason "late usage ..."), so the issued invoice stays as sent and the
  bill run of the current period issues a debit note (or a credit note, when a late repeat
  withdrew a record) for the difference (docs/billing.md, Corrections).
- The period is **open** (its invoices are drafts): it is rated and taxed again, and its
  draft invoices include the late usage.

A period is acted on by what the lake holds, not by what one run changed, so a run killed
anywhere and run again finishes the work, and a run with nothing late changes nothing. It
is stale when, after its feeds are consolidated again:

1. its billable usage differs from the usage columns of its rated records, or
2. its records rated ``rated`` differ (usage_id, charge) from those its billed charges
   link (``billed_charge_usage``): it was rated again but not taxed, or
3. a re-rating of it was interrupted (its current version is kept already).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from pipelines import lake
from pipelines.config import Layout
from pipelines.locks import partition_lock
from pipelines.mediation.consolidate import billable_usage, consolidate_period
from pipelines.mediation.line_buckets import LINE_BUCKETS
from pipelines.mediation.line_spill import LineBucketSpill
from pipelines.mediation.stage import (
    DEFAULT_EVENT_WINDOW_PAST,
    EVENT_WINDOW_PAST,
    landing_partitions,
)
from pipelines.periods import mediation_dates, parse_period
from pipelines.rating import rerate
from pipelines.rating.buckets import read_period_table
from pipelines.rating.stage import rate_period
from pipelines.schema import USAGE_SCHEMA, PeriodState, RatingStatus
from pipelines.taxes.stage import tax_period

#: Who the audit row of a late-usage re-rating names.
RERATED_BY = "telcolake late-usage rule"

RERATED = "rerated"  # closed period: audited re-rating, a note on the next bill
RATED_AGAIN = "rated_again"  # open period: rated and taxed again, drafts replaced
UP_TO_DATE = "up_to_date"


@dataclass(frozen=True)
class LatePeriod:
    """One earlier period the rule looked at, and what it did."""

    billing_period: str
    period_state: str
    records_added: int  # billable now, not rated
    records_removed: int  # rated, no longer billable (e.g. a late repeat)
    records_changed: int  # rated with other usage values (e.g. a session completed late)
    action: str


@dataclass(frozen=True)
class LateUsageResult:
    """What the rule did in the run of ``billing_period``, per earlier period."""

    billing_period: str
    periods: list[LatePeriod] = field(default_factory=list)


def reachable_periods(billing_period: str) -> list[str]:
    """The periods before ``billing_period`` that its files can hold usage of: back from
    its first mediation date by the longest event window (TAP's 35 days), in order."""
    longest = max([DEFAULT_EVENT_WINDOW_PAST, *EVENT_WINDOW_PAST.values()])
    earliest = min(mediation_dates(billing_period)) - longest
    first, _ = parse_period(billing_period)
    periods, day = [], earliest.replace(day=1)
    while day < first:
        periods.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return periods


def bill_late_usage(layout: Layout, billing_period: str) -> LateUsageResult:
    """Bring every rated period before ``billing_period`` that late usage reached up to
    date (module docstring), before ``billing_period`` itself is rated and billed: rating
    it reads the earlier period's allowance rollover, and its bill run issues the notes."""
    feeds = sorted({feed for feed, _ in landing_partitions(layout)})
    periods = []
    for period in reachable_periods(billing_period):
        state = rerate.read_period(layout, period)
        if state is None:  # never rated: its own run bills everything it holds
            continue
        for feed in feeds:
            consolidate_period(layout, feed, period)
        added, removed, changed = _usage_difference(layout, period)
        stale = added or removed or changed or not _taxed_as_rated(layout, period)
        closed = state["period_state"] == PeriodState.CLOSED.value
        action = UP_TO_DATE
        if closed and (stale or _rerate_interrupted(layout, period, state["rating_version"])):
            rerate.rerate_period(
                layout,
                period,
                reason=(
                    f"late usage: {added} records added, {removed} removed and {changed} "
                    f"changed after the period was rated (found by the {billing_period} run)"
                ),
                by=RERATED_BY,
            )
            action = RERATED
        elif not closed and stale:
            rate_period(layout, period)
            tax_period(layout, period)
            action = RATED_AGAIN
        periods.append(LatePeriod(period, state["period_state"], added, removed, changed, action))
    return LateUsageResult(billing_period, periods)


def _usage_difference(layout: Layout, billing_period: str) -> tuple[int, int, int]:
    """Records billable and not rated, rated and not billable, and rated with other usage
    values, of the period's current rating.

    Compared a line bucket at a time: the rated records (partitioned by rating bucket) are
    first set aside by line bucket in a spill under the data root's scratch area, then
    each line bucket's rated records are compared with its billable usage.
    """
    columns = USAGE_SCHEMA.names
    scratch = layout.root / "scratch" / "late_usage" / billing_period
    added = removed = changed = 0
    # Runs of two later periods may look at this one at once: one spill at a time.
    with (
        partition_lock(layout, "late_usage", f"billing_period={billing_period}"),
        LineBucketSpill(scratch, USAGE_SCHEMA) as rated_by_line,
    ):
        where = {"billing_period": billing_period}
        for values in lake.partitions(layout, "rated_usage", where):
            rated_by_line.append(lake.read_partitions(layout, "rated_usage", [values], columns))
        rated_by_line.close()
        for line_bucket in range(LINE_BUCKETS):
            billable = billable_usage(layout, billing_period, line_bucket)
            rated = pl.from_arrow(rated_by_line.read(line_bucket))
            assert isinstance(rated, pl.DataFrame)
            bucket_added, bucket_removed, bucket_changed = _difference(billable, rated, columns)
            added += bucket_added
            removed += bucket_removed
            changed += bucket_changed
    return added, removed, changed


def _difference(
    billable: pl.DataFrame, rated: pl.DataFrame, columns: list[str]
) -> tuple[int, int, int]:
    """Records of ``billable`` not in ``rated``, of ``rated`` not in ``billable``, and in
    both with other values of ``columns``."""
    added = billable.join(rated, on="usage_id", how="anti").height
    removed = rated.join(billable, on="usage_id", how="anti").height
    # Rows of the records in both, in the same order, compared whole (nulls equal).
    now, then = (
        frame.join(other.select("usage_id"), on="usage_id", how="semi")
        .sort("usage_id")
        .select(pl.struct(columns).alias("row"))
        .to_series()
        for frame, other in ((billable, rated), (rated, billable))
    )
    return added, removed, int(now.ne_missing(then).sum())


def _taxed_as_rated(layout: Layout, billing_period: str) -> bool:
    """Whether the billed charges link exactly the records rating charged (usage_id and
    charge): false after a rating the tax stage has not followed."""
    key = ["usage_id", "charge_micros"]
    rated = pl.from_arrow(
        read_period_table(
            layout, "rated_usage", billing_period, ["usage_id", "charge_micros", "rating_status"]
        )
    )
    linked = pl.from_arrow(read_period_table(layout, "billed_charge_usage", billing_period))
    assert isinstance(rated, pl.DataFrame) and isinstance(linked, pl.DataFrame)
    charged = rated.filter(pl.col("rating_status") == RatingStatus.RATED.value).select(key)
    billed = linked.filter(pl.col("link_source") == "rated_usage").select(key)
    return charged.sort(key).equals(billed.sort(key))


def _rerate_interrupted(layout: Layout, billing_period: str, version: int) -> bool:
    """Whether a re-rating kept the current version and did not finish (rerate.py keeps
    ``rating_periods`` last, and moves the period to the next version last)."""
    kept = lake.read_partition(
        layout,
        "rating_periods_versions",
        {"billing_period": billing_period, "rating_version": version},
    )
    return kept.num_rows > 0
