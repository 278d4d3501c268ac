"""Call-leg collapsing: the CDRs of one Asterisk call joined into one usage row per party.

Asterisk 12+ writes a CDR per leg of a call: a dial that forks to several phones, a
failover retry on another trunk, a transfer, a chain through Local channels. The legs
share the call's linkedid. Billing each leg bills the caller once per attempt, and a Local
channel chain, whose legs overlap in time, twice for the same seconds. So legs are
collapsed per call (linkedid), per party (served number and direction: in a consultation
transfer the transferring party's own call is a different call of the same linkedid):

- the call starts at its first leg's start and ends at its last leg's end;
- it is answered when a leg was, at the first answer, and its billable time is the time
  some leg was connected: the union of the legs' [answer, answer + billsec] spans, so
  sequential legs (a transfer) add up and overlapping legs (a Local chain) count once;
- the dialled number is the first leg's (what the caller dialled); the trunk groups and the
  release cause are the first answered leg's (where the call was carried: the first such
  leg naming a trunk group, as a Local channel names none), or the last leg's when no leg
  answered (how the attempt finally ended).

Legs arrive in the files of the hour their call ended, so a call cut by a file rotation is
joined here, after every file of the period is mediated, not in the parser. A call has no
marker for its last leg: it is complete when consolidated, and a leg delivered later
re-forms it under the same usage_id, so rating replaces its charge rather than adding one.
"""

from __future__ import annotations

import polars as pl

from pipelines.config import OPERATOR_TIMEZONE
from pipelines.schema import USAGE_SCHEMA, CorrelationStatus

#: What makes legs one call of one party.
CALL_KEYS = ("switch_id", "session_key", "direction", "served_msisdn")
_VOLUMES = ("uplink_bytes", "downlink_bytes", "data_volume_bytes")
#: Columns the call takes from its first answered leg that has them (a Local channel leg
#: names no trunk group), or from its last leg when none answered.
_CARRIED = ("outgoing_trunk_group", "incoming_trunk_group", "release_cause")
_COMPUTED = (
    *CALL_KEYS,
    *_VOLUMES,
    *_CARRIED,
    "started_at",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "is_answered",
)


def collapse_legs(legs: pl.DataFrame) -> pl.DataFrame:
    """One row per call and party of ``legs`` (usage rows with a session_key and no
    partial_sequence), with the columns ``sessions.correlate`` gives a session: status
    complete, ``partials`` the number of legs, ``partial_usage_ids`` in leg order."""
    keys = list(CALL_KEYS)
    ordered = legs.sort([*keys, "started_at", "file_date", "record_number"])
    answered = pl.col("is_answered")
    carried = [
        pl.when(answered.any())
        .then(pl.col(c).filter(answered).drop_nulls().first())
        .otherwise(pl.col(c).last())
        .alias(c)
        for c in _CARRIED
    ]
    first = [pl.col(c).first() for c in USAGE_SCHEMA.names if c not in _COMPUTED]
    calls = ordered.group_by(keys, maintain_order=True).agg(
        *first,
        *carried,
        *(pl.col(c).sum() for c in _VOLUMES),
        pl.col("started_at").min(),
        pl.when(answered.any())
        .then(pl.col("answered_at").filter(answered).min())
        .otherwise(pl.col("answered_at").first())
        .alias("answered_at"),
        pl.col("ended_at").max(),
        answered.any().alias("is_answered"),
        pl.len().cast(pl.Int32).alias("partials"),
        pl.col("usage_id").alias("partial_usage_ids"),
    )
    call_key = pl.concat_str(
        [pl.col("session_key"), pl.col("direction"), pl.col("served_msisdn")], separator="/"
    )
    local_start = pl.col("started_at").dt.convert_time_zone(OPERATOR_TIMEZONE)
    return calls.join(_connected_seconds(legs, keys), on=keys, how="left").with_columns(
        pl.col("duration_seconds").fill_null(0),
        ("call:" + pl.col("switch_id") + ":" + call_key).alias("usage_id"),
        call_key.alias("record_key"),
        local_start.dt.date().alias("event_date"),
        local_start.dt.strftime("%Y-%m").alias("billing_period"),
        pl.lit(CorrelationStatus.COMPLETE.value).alias("correlation_status"),
        pl.lit(0, dtype=pl.Int32).alias("missing_partials"),
    )


def _connected_seconds(legs: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per call (``keys``) with a leg that has an answer time, the seconds of the union of
    its legs' connected spans [answered_at, answered_at + duration_seconds]
    (``duration_seconds``): each span, in order of answer, counts only past the latest end
    of the spans before it."""
    start = pl.col("answered_at")
    end = start + pl.duration(seconds=pl.col("duration_seconds"))
    covered_until = pl.col("end").cum_max().shift(1).over(keys)
    fresh = pl.col("end") - pl.max_horizontal(start, covered_until.fill_null(start))
    return (
        legs.filter(start.is_not_null())
        .select(*keys, start, end.alias("end"))
        .sort([*keys, "answered_at"])
        .with_columns(fresh.dt.total_seconds().clip(lower_bound=0).alias("connected"))
        .group_by(keys)
        .agg(pl.col("connected").sum().cast(pl.Int64).alias("duration_seconds"))
    )
