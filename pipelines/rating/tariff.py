"""Reference CSVs -> the typed frames and flat tables that rating reads.

Parsing and checking happen here, before any usage is read, so a bad reference file fails
the rating stage with the file's name instead of mis-rating a month of records.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

import polars as pl

from pipelines.config import Layout
from pipelines.reference import read_reference as _read_text
from pipelines.tariffs.model import SECONDS_PER_DAY

SERVICES = ("voice", "sms", "data")
#: The day_type values of time_bands.csv.
DAY_TYPES = ("weekday", "weekend", "holiday")


def read_reference(layout: Layout, name: str) -> pl.DataFrame:
    """A reference CSV as text with every blank field as "" (the helpers below test for "").

    Whether a CSV reader hands a blank field over as null or as "" varies by polars
    version and option; rating gives both the same meaning.
    """
    return _read_text(layout, name).with_columns(pl.all().fill_null(""))


def _date(column: str) -> pl.Expr:
    """ISO date text -> Date; empty text is null (an open end), anything else malformed fails."""
    text = pl.col(column)
    return (
        pl.when(text == "")
        .then(None)
        .otherwise(text)
        .str.to_date("%Y-%m-%d", strict=True)
        .alias(column)
    )


def _int(column: str, empty_as: int | None = None) -> pl.Expr:
    text = pl.col(column)
    if empty_as is not None:
        text = pl.when(text == "").then(pl.lit(str(empty_as))).otherwise(text)
    return text.cast(pl.Int64, strict=True).alias(column)


def _require_values(frame: pl.DataFrame, file: str, column: str, allowed: Iterable[str]) -> None:
    values = sorted(allowed)
    bad = frame.filter(~pl.col(column).is_in(values))
    if bad.height:
        raise ValueError(f"{file}: {column} {bad[column][0]!r} is not one of {values}")


def load_subscribers(layout: Layout) -> pl.DataFrame:
    """subscribers.csv typed: dates as Date, empty msisdn and cancelled_date as null."""
    frame = read_reference(layout, "subscribers.csv")
    return frame.select(
        "subscriber_id",
        "account_id",
        "service_type",
        pl.when(pl.col("msisdn") == "").then(None).otherwise(pl.col("msisdn")).alias("msisdn"),
        "plan_id",
        _date("activated_date").alias("activated_date"),
        _date("cancelled_date").alias("cancelled_date"),
    )


def load_plans(layout: Layout) -> pl.DataFrame:
    """plans.csv typed; a plan may have several versions, effective_from to effective_to.

    effective_to is the version's last day (inclusive, as the marts read it); empty is open.
    An empty included_* is no allowance (0). Versions of one plan must not overlap, or the
    plan at an event time would be ambiguous.
    """
    frame = read_reference(layout, "plans.csv")
    plans = frame.select(
        "plan_id",
        "service_type",
        _int("monthly_fee_micros"),
        _int("included_voice_seconds", empty_as=0),
        _int("included_sms", empty_as=0),
        _int("included_data_bytes", empty_as=0),
        "rate_deck_id",
        _date("effective_from"),
        _date("effective_to"),
    ).sort("plan_id", "effective_from")
    if plans["effective_from"].null_count():
        raise ValueError("plans.csv: every version needs an effective_from")
    overlap = plans.filter(
        (pl.col("plan_id") == pl.col("plan_id").shift(-1))
        & (
            pl.col("effective_to").is_null()
            | (pl.col("effective_to") >= pl.col("effective_from").shift(-1))
        )
    )
    if overlap.height:
        raise ValueError(f"plans.csv: versions of plan {overlap['plan_id'][0]} overlap")
    return plans


def _clock_seconds(text: str) -> int:
    hours, minutes = text.split(":")
    seconds = int(hours) * 3600 + int(minutes) * 60
    if not (0 <= int(minutes) < 60 and 0 <= seconds <= SECONDS_PER_DAY):
        raise ValueError(f"time_bands.csv: {text!r} is not a time of day")
    return seconds


def load_time_bands(layout: Layout) -> tuple[str, ...]:
    """The band names of time_bands.csv, sorted, once its rows are checked.

    Every second of every day type must be covered, and where bands overlap the highest
    weight must name one band: either gap or tie would make a record's band a guess.
    """
    frame = read_reference(layout, "time_bands.csv")
    _require_values(frame, "time_bands.csv", "day_type", DAY_TYPES)
    rows = [
        (
            row["day_type"],
            _clock_seconds(row["start_time"]),
            _clock_seconds(row["end_time"]),
            int(row["weight"]),
            row["time_band"],
        )
        for row in frame.iter_rows(named=True)
    ]
    for kind in DAY_TYPES:
        of_kind = [r for r in rows if r[0] == kind]
        cuts = sorted({0, SECONDS_PER_DAY, *(r[1] for r in of_kind), *(r[2] for r in of_kind)})
        for a, b in pairwise(cuts):
            covering = [r for r in of_kind if r[1] <= a and b <= r[2]]
            if not covering:
                raise ValueError(f"time_bands.csv: no {kind} band covers second {a} of the day")
            top = max(r[3] for r in covering)
            if len({r[4] for r in covering if r[3] == top}) > 1:
                raise ValueError(f"time_bands.csv: {kind} bands tie at second {a} of the day")
    return tuple(sorted(frame["time_band"].unique()))
