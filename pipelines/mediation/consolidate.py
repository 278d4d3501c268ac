"""The consolidation stage: a feed's mediated usage of one billing period made billable.

Runs after every (feed, file_date) partition of the period is mediated, once per feed and
period, over all file dates at once (so the result does not depend on which partition was
mediated first or last):

1. repeats: records delivered again within the dedup window in a later day's files
   (``usage_repeats``, see repeats.py);
2. correlation: partial records joined into sessions, complete, incomplete or held
   (``sessions``, see sessions.py), and the legs of a call collapsed into the call
   (written to ``sessions`` as well, always complete, see calls.py).

A row with a session_key is a partial record when it has a partial_sequence, else a call
leg. ``billable_usage`` is what rating reads: the period's usage without repeats, partials
and legs, plus the complete and incomplete sessions and the calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import DEDUP_WINDOW_DAYS, PARTIAL_TIMEOUT_HOURS, Layout
from pipelines.locks import locked_partition
from pipelines.mediation.calls import collapse_legs
from pipelines.mediation.repeats import find_repeats
from pipelines.mediation.sessions import correlate
from pipelines.periods import parse_period
from pipelines.schema import (
    SESSION_SCHEMA,
    USAGE_REPEAT_SCHEMA,
    USAGE_SCHEMA,
    CorrelationStatus,
)

#: How far around the period partials are read: sessions that began before it (and so
#: belong to the period before) and the later partials of sessions that began in it.
SESSION_REACH = timedelta(days=7)


@dataclass
class ConsolidationResult:
    """What one consolidation of (feed, period) wrote."""

    feed: str
    billing_period: str
    records: int = 0
    repeats: int = 0
    partials: int = 0
    sessions_by_status: dict[str, int] = field(default_factory=dict)
    partials_held: int = 0


@locked_partition("consolidate", "feed", "billing_period")
def consolidate_period(
    layout: Layout,
    feed: str,
    billing_period: str,
    window_days: int = DEDUP_WINDOW_DAYS,
    timeout: timedelta = timedelta(hours=PARTIAL_TIMEOUT_HOURS),
) -> ConsolidationResult:
    """Write the ``usage_repeats`` and ``sessions`` partitions of (feed, billing_period).

    A rerun on the same lake writes byte-identical partitions. The time-out is measured on
    the feed's own clock (the latest ended_at of its usage read here), not the wall clock,
    so a rerun next year decides as this one did.
    """
    first, last = parse_period(billing_period)
    usage = _usage(layout, feed, first - SESSION_REACH, last + SESSION_REACH)
    repeats = find_repeats(usage, window_days)
    in_period = pl.col("event_date").is_between(first, last)
    period_repeats = repeats.filter(in_period).with_columns(
        pl.lit(billing_period).alias("billing_period")
    )
    correlated = usage.filter(
        pl.col("session_key").is_not_null() & ~pl.col("usage_id").is_in(repeats["usage_id"])
    )
    partials = correlated.filter(pl.col("partial_sequence").is_not_null())
    legs = correlated.filter(pl.col("partial_sequence").is_null())
    watermark = usage["ended_at"].max()
    found = [SESSION_SCHEMA.empty_table()]
    if partials.height:
        found.append(_arrow(correlate(partials, watermark, timeout), SESSION_SCHEMA))  # type: ignore[arg-type]
    if legs.height:
        found.append(_arrow(collapse_legs(legs), SESSION_SCHEMA))
    sessions = pl.from_arrow(pa.concat_tables(found))
    assert isinstance(sessions, pl.DataFrame)
    sessions = sessions.filter(pl.col("billing_period") == billing_period)
    partition = {"feed": feed, "billing_period": billing_period}
    lake.write_partition(
        layout, "usage_repeats", partition, _arrow(period_repeats, USAGE_REPEAT_SCHEMA)
    )
    lake.write_partition(layout, "sessions", partition, _arrow(sessions, SESSION_SCHEMA))
    status = sessions["correlation_status"]
    return ConsolidationResult(
        feed=feed,
        billing_period=billing_period,
        records=usage.filter(in_period).height,
        repeats=period_repeats.height,
        partials=int(sessions["partials"].sum() or 0),
        sessions_by_status={s.value: int((status == s.value).sum()) for s in CorrelationStatus},
        partials_held=int(
            sessions.filter(pl.col("correlation_status") == CorrelationStatus.HELD)[
                "partials"
            ].sum()
            or 0
        ),
    )


def billable_usage(layout: Layout, billing_period: str) -> pl.DataFrame:
    """The period's usage as rating must see it: every feed's usage rows of the period's
    event dates, less repeats and partial records, plus complete and incomplete sessions.

    Raises ValueError when a feed has usage in the period but was not consolidated for it:
    rating it would bill repeats and partials.
    """
    first, last = parse_period(billing_period)
    usage = _usage(layout, None, first, last)
    repeats = lake.read_table(layout, "usage_repeats", {"billing_period": billing_period})
    sessions = lake.read_table(layout, "sessions", {"billing_period": billing_period})
    consolidated = {
        values["feed"]
        for values in lake.partitions(layout, "sessions", {"billing_period": billing_period})
    }
    missing = sorted(set(usage["feed"].unique().to_list()) - consolidated)
    if missing:
        raise ValueError(
            f"feed(s) {', '.join(missing)} have usage in {billing_period} but were not "
            "consolidated: run consolidation (telcolake mediate) first"
        )
    standalone = usage.filter(
        pl.col("session_key").is_null()
        & ~pl.col("usage_id").is_in(pl.Series(repeats["usage_id"].to_pylist(), dtype=pl.String))
    )
    billed_sessions = pl.from_arrow(sessions.select(USAGE_SCHEMA.names))
    assert isinstance(billed_sessions, pl.DataFrame)
    status = pl.Series(sessions["correlation_status"].to_pylist(), dtype=pl.String)
    billed_sessions = billed_sessions.filter(status != CorrelationStatus.HELD)
    return pl.concat([standalone, billed_sessions])


def _usage(layout: Layout, feed: str | None, first: date, last: date) -> pl.DataFrame:
    """Usage rows of the event dates first..last (every file date), of one feed or all."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    where = {"feed": feed} if feed else {}
    tables = [
        lake.read_table(layout, "usage", {**where, "event_date": d.isoformat()}) for d in days
    ]
    usage = pl.from_arrow(pa.concat_tables(tables))
    assert isinstance(usage, pl.DataFrame)
    return usage


def _arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    return frame.select(schema.names).to_arrow().cast(schema)
