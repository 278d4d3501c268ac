"""Column helpers of the volume reference: identifiers, dates as day numbers, CSV writing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate.tables import REFERENCE_COLUMNS

EPOCH = date(1970, 1, 1)
#: A missing date (a line never cancelled, a plan never changed) in a day-number column:
#: before every real date, so ``max`` with it keeps the other date.
NO_DATE = -1


def day_number(day: date) -> int:
    """Days since 1970-01-01, polars' Date representation."""
    return (day - EPOCH).days


def dates(days: np.ndarray, name: str) -> pl.Series:
    """Day numbers as a Date column, NO_DATE as null."""
    values = pl.Series(name, days, dtype=pl.Int64)
    return (
        pl.select(pl.when(values == NO_DATE).then(None).otherwise(values).cast(pl.Date))
        .to_series()
        .alias(name)
    )


def id_width(count: int) -> int:
    """Digits of the generator's identifiers (``SUB000001``): six, or as many as ``count``
    needs, the same on every row so identifiers sort in number order."""
    return max(6, len(str(count)))


def identifiers(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """``prefix`` + each number (below 10**width) zero-padded to ``width`` digits."""
    # A leading 1 pads the digits; dropping it is cheaper than zfill on millions of rows.
    text = (pl.Series(numbers, dtype=pl.Int64) + 10**width).cast(pl.String).str.slice(1)
    return pl.select(pl.lit(prefix) + text).to_series()


def pick(labels: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """The label of each code (an index into ``labels``)."""
    return pl.Series(labels, dtype=pl.String).gather(pl.Series(codes, dtype=pl.Int64))


def write_reference_frame(directory: Path, name: str, frame: pl.DataFrame) -> int:
    """Write one reference file with its documented header (``tables.REFERENCE_COLUMNS``),
    as ``tables.write_reference_csv`` writes rows: comma, ``\\n``, quotes only where needed,
    null as empty, dates ISO. Returns the row count."""
    columns = REFERENCE_COLUMNS[name]
    if set(frame.columns) != set(columns):
        raise ValueError(f"{name}: columns {sorted(frame.columns)} differ from {columns}")
    frame.select(columns).write_csv(
        directory / name,
        line_terminator="\n",
        null_value="",
        quote_style="necessary",
        date_format="%Y-%m-%d",
    )
    return frame.height
