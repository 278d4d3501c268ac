"""The consolidation stage: a feed's mediated usage of one billing period made billable.

Runs after every (feed, file_date) partition of the period is mediated, once per feed and
period, over all file dates at once (so the result does not depend on which partition was
mediated first or last), one line bucket at a time (a record's repeats, a session's
partials and a call's legs share its served line, so its bucket; docs/scale.md):

1. repeats: records delivered again within the dedup window in a later day's files
   (``usage_repeats``, see repeats.py);
2. correlation: partial records joined into sessions, complete, incomplete or held
   (``sessions``, see sessions.py), and the legs of a call collapsed into the call
   (written to ``sessions`` as well, always complete, see calls.py).

A row with a session_key is a partial record when it has a partial_sequence, else a call
leg. ``billable_usage`` is what rating reads, a line bucket at a time: the period's usage
without repeats, partials and legs, plus the complete and incomplete sessions and the
calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import lake
from pipelines.config import DEDUP_WINDOW_DAYS, PARTIAL_TIMEOUT_HOURS, Layout
from pipelines.locks import locked_partition
from pipelines.mediation.calls import collapse_legs
from pipelines.mediation.line_buckets import LINE_BUCKETS
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
    """Write the ``usage_repeats`` and ``sessions`` partitions of (feed, billing_period),
    one per line bucket.

    A line bucket holds whole served lines, and a record's repeats, a session's partials
    and a call's legs carry its line: each bucket is consolidated alone, reading that
    bucket's usage only (docs/scale.md). A rerun on the same lake writes byte-identical
    partitions. The time-out is measured on the feed's own clock (the latest ended_at of
    its usage read here, in every bucket), not the wall clock, so a rerun next year decides
    as this one did.
    """
    first, last = parse_period(billing_period)
    window = _usage_partitions(layout, feed, first - SESSION_REACH, last + SESSION_REACH)
    watermark = _watermark(layout, window)
    result = ConsolidationResult(feed=feed, billing_period=billing_period)
    statuses: Counter[str] = Counter()
    for bucket in range(LINE_BUCKETS):
        usage = _read_usage(layout, window.get(bucket, []))
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
        found = [SESSION_SCHEMA.empty_table()]
        if partials.height:
            found.append(_arrow(correlate(partials, watermark, timeout), SESSION_SCHEMA))  # type: ignore[arg-type]
        if legs.height:
            found.append(_arrow(collapse_legs(legs), SESSION_SCHEMA))
        sessions = pl.from_arrow(pa.concat_tables(found))
        assert isinstance(sessions, pl.DataFrame)
        sessions = sessions.filter(pl.col("billing_period") == billing_period)
        partition = {"feed": feed, "billing_period": billing_period, "line_bucket": bucket}
        lake.write_partition(
            layout, "usage_repeats", partition, _arrow(period_repeats, USAGE_REPEAT_SCHEMA)
        )
        lake.write_partition(layout, "sessions", partition, _arrow(sessions, SESSION_SCHEMA))
        held = pl.col("correlation_status") == CorrelationStatus.HELD
        result.records += usage.filter(in_period).height
        result.repeats += period_repeats.height
        result.partials += int(sessions["partials"].sum() or 0)
        result.partials_held += int(sessions.filter(held)["partials"].sum() or 0)
        statuses.update(sessions["correlation_status"].to_list())
    result.sessions_by_status = {s.value: statuses[s.value] for s in CorrelationStatus}
    return result


def billable_usage(
    layout: Layout,
    billing_period: str,
    line_bucket: int,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One line bucket of the period's usage as rating must see it: every feed's usage rows
    of the period's event dates in the bucket, less repeats and partial records, plus
    complete and incomplete sessions; only ``columns`` of them when given (the others are
    not read).

    Raises ValueError when a feed has usage in the period but was not consolidated for it:
    rating it would bill repeats and partials.
    """
    first, last = parse_period(billing_period)
    parts = _usage_partitions(layout, None, first, last).get(line_bucket, [])
    where = {"billing_period": billing_period, "line_bucket": line_bucket}
    consolidated = {values["feed"] for values in lake.partitions(layout, "sessions", where)}
    missing = sorted({values["feed"] for values in parts} - consolidated)
    if missing:
        raise ValueError(
            f"feed(s) {', '.join(missing)} have usage in {billing_period} but were not "
            "consolidated: run consolidation (telcolake mediate) first"
        )
    chosen = list(USAGE_SCHEMA.names if columns is None else columns)
    usage = _read_usage(layout, parts, list(dict.fromkeys([*chosen, "usage_id", "session_key"])))
    repeats = lake.read_table(layout, "usage_repeats", where, ["usage_id"])
    sessions = lake.read_table(layout, "sessions", where, [*chosen, "correlation_status"])
    standalone = usage.filter(
        pl.col("session_key").is_null()
        & ~pl.col("usage_id").is_in(pl.Series(repeats["usage_id"].to_pylist(), dtype=pl.String))
    ).select(chosen)
    billed_sessions = pl.from_arrow(sessions.select(chosen))
    assert isinstance(billed_sessions, pl.DataFrame)
    status = pl.Series(sessions["correlation_status"].to_pylist(), dtype=pl.String)
    billed_sessions = billed_sessions.filter(status != CorrelationStatus.HELD)
    return pl.concat([standalone, billed_sessions])


def _usage_partitions(
    layout: Layout, feed: str | None, first: date, last: date
) -> dict[int, list[dict[str, str]]]:
    """The usage partitions of the event dates first..last (every file date), of one feed
    or all, per line bucket, each bucket's in event date and file date order. One listing
    of the lake, not one per day and bucket."""
    found: dict[int, list[dict[str, str]]] = {}
    for values in lake.partitions(layout, "usage", {"feed": feed} if feed else {}):
        if first <= date.fromisoformat(values["event_date"]) <= last:
            found.setdefault(int(values["line_bucket"]), []).append(values)
    for parts in found.values():
        parts.sort(key=lambda values: (values["event_date"], values["file_date"], values["feed"]))
    return found


def _watermark(layout: Layout, window: dict[int, list[dict[str, str]]]) -> datetime | None:
    """The latest ended_at of the usage partitions ``window`` (every bucket): the feed's
    clock. Read from the ended_at column alone, one bucket at a time."""
    latest = None
    for parts in window.values():
        ended_at = lake.read_partitions(layout, "usage", parts, ["ended_at"])["ended_at"]
        bucket_latest = pc.max(ended_at).as_py()
        if bucket_latest is not None and (latest is None or bucket_latest > latest):
            latest = bucket_latest
    return latest


def _read_usage(
    layout: Layout, parts: list[dict[str, str]], columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """The rows of the usage partitions ``parts`` (or their ``columns``), in order."""
    usage = pl.from_arrow(lake.read_partitions(layout, "usage", parts, columns))
    assert isinstance(usage, pl.DataFrame)
    return usage


def _arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    return frame.select(schema.names).to_arrow().cast(schema)
