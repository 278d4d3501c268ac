"""Partial-record correlation: the partials of one long session joined into one usage row.

A PGW cuts a long data session into partial records (TS 32.298 recordSequenceNumber 1, 2,
..., causeForRecClosing timeLimit, volumeLimit, ...; the last one closes with a
session-ending cause); an MSC likewise cuts a long call (sequenceNumber, causeForTerm
partialRecord until the last). Billing each partial on its own rounds each one up
separately, and billing a session whose last partial has not arrived yet bills it short. So
partials are joined by session key: a session with partials 1..n whose last ended the
session is complete; one with a gap or without its last partial is held until the feed's
data has moved ``timeout`` past its latest partial, then sent on as incomplete (billed on
what arrived, flagged). Nothing is billed twice: the session row replaces its partials in
rating, and its usage_id does not change when a late partial completes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from pipelines.config import OPERATOR_TIMEZONE
from pipelines.schema import USAGE_SCHEMA, CorrelationStatus

_SUMMED = ("duration_seconds", "uplink_bytes", "downlink_bytes", "data_volume_bytes")


def correlate(partials: pl.DataFrame, watermark: datetime, timeout: timedelta) -> pl.DataFrame:
    """One row per session of ``partials`` (usage rows with a session_key).

    Columns: the usage columns (values of the first partial present, sums of the volumes
    and durations, start of the first and end of the last partial, release cause of the
    last), billing_period (operator-local month of the start), correlation_status,
    partials, missing_partials (sequence numbers absent below the highest present) and
    partial_usage_ids in sequence order.
    """
    keys = ["switch_id", "session_key"]
    ordered = partials.sort([*keys, "partial_sequence", "file_date", "record_number"])
    first = [pl.col(c).first() for c in USAGE_SCHEMA.names if c not in (*_SUMMED, *keys)]
    sessions = ordered.group_by(keys, maintain_order=True).agg(
        *first,
        *(pl.col(c).sum() for c in _SUMMED),
        pl.col("started_at").min().alias("session_started_at"),
        pl.col("ended_at").max().alias("session_ended_at"),
        pl.col("release_cause").last().alias("last_release_cause"),
        pl.col("is_last_partial").last().fill_null(False).alias("has_last_partial"),
        pl.col("partial_sequence").max().alias("highest_sequence"),
        pl.len().cast(pl.Int32).alias("partials"),
        pl.col("partial_sequence").n_unique().alias("distinct_sequences"),
        pl.col("usage_id").alias("partial_usage_ids"),
    )
    contiguous = (pl.col("distinct_sequences") == pl.col("partials")) & (
        pl.col("highest_sequence") == pl.col("partials")
    )
    timed_out = pl.col("session_ended_at") + timeout <= watermark
    local_start = pl.col("session_started_at").dt.convert_time_zone(OPERATOR_TIMEZONE)
    return sessions.with_columns(
        ("session:" + pl.col("switch_id") + ":" + pl.col("session_key")).alias("usage_id"),
        pl.col("session_key").alias("record_key"),
        pl.col("session_started_at").alias("started_at"),
        pl.col("session_ended_at").alias("ended_at"),
        pl.col("last_release_cause").alias("release_cause"),
        pl.lit(None, dtype=pl.Int32).alias("partial_sequence"),
        pl.col("has_last_partial").alias("is_last_partial"),
        local_start.dt.date().alias("event_date"),
        local_start.dt.strftime("%Y-%m").alias("billing_period"),
        pl.when(contiguous & pl.col("has_last_partial"))
        .then(pl.lit(CorrelationStatus.COMPLETE.value))
        .when(timed_out)
        .then(pl.lit(CorrelationStatus.INCOMPLETE.value))
        .otherwise(pl.lit(CorrelationStatus.HELD.value))
        .alias("correlation_status"),
        (pl.col("highest_sequence") - pl.col("distinct_sequences"))
        .clip(lower_bound=0)
        .cast(pl.Int32)
        .alias("missing_partials"),
    )
