"""Records repeated across file dates: the same switch record delivered again days later.

Mediation removes repeats inside one (feed, file_date) partition. A switch that replays its
records after a failover, or an operator who re-exports an hour, can deliver a record again
in a later day's files; those copies are found here, over all file dates at once, so the
answer does not depend on which partition was mediated first.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipelines.mediation.line_buckets import LINE_COLUMNS

#: Columns find_repeats reads from usage.
REPEAT_COLUMNS = (
    "usage_id",
    "feed",
    "switch_id",
    "record_key",
    "file_name",
    "file_date",
    "record_number",
    "event_date",
)


def find_repeats(usage: pl.DataFrame, window_days: int) -> pl.DataFrame:
    """Usage rows that repeat an earlier accepted row, with the row they repeat.

    Rows with the same switch_id, record_key and served line (line_buckets.served_lines:
    a copy carries its record's line, and consolidation reads one line bucket at a time)
    are taken in delivery order (file_date, file_name, record_number). The first is kept;
    a later one is a repeat of the kept row when its file date is at most ``window_days``
    after the kept row's, and otherwise is kept itself (the key was reused) and starts a
    new window. Returns REPEAT_COLUMNS plus repeat_of_usage_id and original_file_date.
    """
    keys = ["switch_id", "record_key", "served_line"]
    candidates = (
        usage.select(*REPEAT_COLUMNS, pl.coalesce(*LINE_COLUMNS).alias("served_line"))
        .filter(pl.len().over(keys) > 1)
        .sort([*keys, "file_date", "file_name", "record_number"])
    )
    repeats = []
    kept: dict[str, Any] = {}
    for row in candidates.iter_rows(named=True):
        same_key = kept and [kept[k] for k in keys] == [row[k] for k in keys]
        if same_key and (row["file_date"] - kept["file_date"]).days <= window_days:
            repeats.append(
                {
                    **{column: row[column] for column in REPEAT_COLUMNS},
                    "repeat_of_usage_id": kept["usage_id"],
                    "original_file_date": kept["file_date"],
                }
            )
        else:
            kept = row
    schema = usage.select(REPEAT_COLUMNS).schema
    schema["repeat_of_usage_id"] = pl.String()
    schema["original_file_date"] = pl.Date()
    return pl.DataFrame(repeats, schema=schema)
