"""What each line held, and when, as the operator knew it at a given day.

The CRM's completed service orders (crm_orders.csv) are the line's history:

- ``activation``: the line starts on the completed date with the order's plan;
- ``plan_change``: the order's plan applies from the completed date;
- ``suspension``: no service from the completed date (no monthly fee);
- ``resumption``: service again from the completed date;
- ``cancellation``: the line ends on the completed date (exclusive, as subscribers.csv's
  cancelled_date, which ends it too when it is earlier).

Knowledge is dated: ``plan_spans(known_through=d)`` uses only the orders completed by
``d`` and the activation and cancellation dates on or before it, so the bill run can say
what the previous bill charged (the state known at its window's end) and what this one
must. A line without an activation order starts on its activated_date on the plan
subscribers.csv names. Orders dated after the line ended change nothing. An add-on is
held on the days it was on the line while the line was in service.

Every line is replayed at once: ``load_lines`` gathers the lines, their orders and add-ons
as columns (a ``LineBook``), and the replay of each line's orders is a kernel
(``kernels.billing_api``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from kernels import billing_api

ORDER_TYPES = ("activation", "plan_change", "suspension", "resumption", "cancellation")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

LINE_SCHEMA = pl.Schema(
    {
        "subscriber_id": pl.String,
        "account_id": pl.String,
        "service_type": pl.String,
        "plan_id": pl.String,
        "activated_date": pl.Date,
        "cancelled_date": pl.Date,
    }
)
#: A line's completed order; ``line`` is the line's row in ``LineBook.lines``.
ORDER_SCHEMA = pl.Schema(
    {
        "line": pl.Int64,
        "completed_date": pl.Date,
        "order_id": pl.String,
        "order_type": pl.String,
        "plan_id": pl.String,
    }
)
ADDON_SCHEMA = pl.Schema(
    {
        "line": pl.Int64,
        "offer_id": pl.String,
        "added_date": pl.Date,
        "removed_date": pl.Date,  # exclusive; null: still on the line
    }
)
#: An offer billed on the days [start, stop) (stop null: still held); ``seq`` orders a
#: line's spans as the rules produce them.
SPAN_SCHEMA = pl.Schema(
    {
        "line": pl.Int64,
        "offer_id": pl.String,
        "start": pl.Date,
        "stop": pl.Date,
        "seq": pl.Int64,
    }
)


@dataclass(frozen=True)
class Order:
    completed: date
    order_id: str
    order_type: str
    plan_id: str


@dataclass(frozen=True)
class Line:
    """One line as a value, for building a ``LineBook`` by hand (tests, scripts)."""

    subscriber_id: str
    account_id: str
    service_type: str
    plan_id: str
    activated: date | None
    cancelled: date | None
    orders: tuple[Order, ...]  # in (completed, order_id) order
    addons: tuple[tuple[str, date, date | None], ...]  # offer_id, added, removed (exclusive)


@dataclass(frozen=True)
class LineBook:
    """Every line with its history, as columns: ``lines`` (``LINE_SCHEMA``, row i is line
    i), ``orders`` (``ORDER_SCHEMA``, by line, then completed date and order_id) and
    ``addons`` (``ADDON_SCHEMA``, by line, then added date and offer_id)."""

    lines: pl.DataFrame
    orders: pl.DataFrame
    addons: pl.DataFrame

    @classmethod
    def of(cls, lines: Sequence[Line]) -> LineBook:
        """The book of ``lines``, each line's orders and add-ons in the order it gives."""
        return cls(
            pl.DataFrame(
                [
                    (
                        line.subscriber_id,
                        line.account_id,
                        line.service_type,
                        line.plan_id,
                        line.activated,
                        line.cancelled,
                    )
                    for line in lines
                ],
                schema=LINE_SCHEMA,
                orient="row",
            ),
            pl.DataFrame(
                [
                    (index, o.completed, o.order_id, o.order_type, o.plan_id)
                    for index, line in enumerate(lines)
                    for o in line.orders
                ],
                schema=ORDER_SCHEMA,
                orient="row",
            ),
            pl.DataFrame(
                [(index, *addon) for index, line in enumerate(lines) for addon in line.addons],
                schema=ADDON_SCHEMA,
                orient="row",
            ),
        )

    def plan_spans(self, known_through: date) -> pl.DataFrame:
        """Each line's plan while in service, as known at the end of ``known_through``
        (``SPAN_SCHEMA``, offer_id the plan), by line and in time order."""
        plans = (
            pl.concat([self.lines["plan_id"].fill_null(""), self.orders["plan_id"]]).unique().sort()
        )
        codes = pl.Enum(plans)

        def days(column: pl.Series) -> np.ndarray:
            return column.cast(pl.Int64).fill_null(billing_api.OPEN_DAY).to_numpy().astype(np.int64)

        def plan_codes(column: pl.Series) -> np.ndarray:
            return column.fill_null("").cast(codes).to_physical().cast(pl.Int64).to_numpy()

        counts = np.bincount(self.orders["line"].to_numpy(), minlength=self.lines.height)
        offsets = np.zeros(self.lines.height + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        spans = billing_api.plan_spans(
            offsets,
            days(self.lines["activated_date"]),
            days(self.lines["cancelled_date"]),
            plan_codes(self.lines["plan_id"]),
            days(self.orders["completed_date"]),
            self.orders["order_type"]
            .replace_strict({kind: code for code, kind in enumerate(ORDER_TYPES)})
            .cast(pl.Int64)
            .to_numpy(),
            plan_codes(self.orders["plan_id"]),
            known_through.toordinal() - _EPOCH_ORDINAL,
        )
        return pl.DataFrame(
            {
                "line": spans.line,
                "offer_id": plans.gather(spans.plan),
                "start": spans.start,
                "stop": spans.stop,
                "seq": np.arange(spans.line.size, dtype=np.int64),
            }
        ).select(
            "line",
            "offer_id",
            pl.col("start").cast(pl.Int32).cast(pl.Date),
            pl.when(pl.col("stop") != billing_api.OPEN_DAY)
            .then(pl.col("stop"))
            .cast(pl.Int32)
            .cast(pl.Date),
            "seq",
        )

    def addon_spans(self, known_through: date, plan_spans: pl.DataFrame) -> pl.DataFrame:
        """Each add-on on the days it was held while the line was in service, as known at
        the end of ``known_through`` (``SPAN_SCHEMA``), by line, add-on and service span;
        ``plan_spans``: ``self.plan_spans(known_through)``."""
        until = pl.when(pl.col("removed_date") <= known_through).then(pl.col("removed_date"))
        return (
            self.addons.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("addon"))
            .filter(pl.col("added_date") <= known_through)
            .with_columns(until.alias("until"))
            .join(
                plan_spans.select("line", "start", "stop", pl.col("seq").alias("span")), on="line"
            )
            .with_columns(
                pl.max_horizontal("start", "added_date").alias("start"),
                pl.min_horizontal("stop", "until").alias("stop"),
            )
            .filter(pl.col("stop").is_null() | (pl.col("stop") > pl.col("start")))
            .sort("line", "addon", "span")
            .select(
                "line",
                "offer_id",
                "start",
                "stop",
                pl.int_range(pl.len(), dtype=pl.Int64).alias("seq"),
            )
        )


def load_lines(subscribers: pl.DataFrame, orders: pl.DataFrame) -> LineBook:
    """``subscribers``: typed as ``pipelines.rating.retail.load_lines`` returns them (addons
    list included); ``orders``: crm_orders.csv as text. Lines sorted by subscriber_id.

    An order of a type not in ``ORDER_TYPES``, or a completed order without a valid date,
    refuses the run naming it: billing around it would be a guess.
    """
    completed = _completed_orders(orders)
    lines = subscribers.sort("subscriber_id", maintain_order=True)
    book_lines = lines.select(
        "subscriber_id",
        "account_id",
        "service_type",
        "plan_id",
        pl.col("activated_date").cast(pl.Date),
        pl.col("cancelled_date").cast(pl.Date),
    )
    numbered = book_lines.select("subscriber_id").with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("line")
    )
    book_orders = (
        completed.join(numbered, on="subscriber_id", how="inner")
        .sort("line", "completed_date", "order_id", "file_row", maintain_order=True)
        .select(list(ORDER_SCHEMA))
    )
    if "addons" in lines.columns:
        addons = (
            lines.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("line"), "addons")
            .explode("addons")
            .filter(pl.col("addons").is_not_null())
            .unnest("addons")
            .sort("line", "added_date", "offer_id", maintain_order=True)
            .select(list(ADDON_SCHEMA))
        )
    else:
        addons = pl.DataFrame(schema=ADDON_SCHEMA)
    return LineBook(book_lines, book_orders.cast(ORDER_SCHEMA), addons.cast(ADDON_SCHEMA))


#: Problems listed in the error; finding the rest would not change the fix.
_LISTED_PROBLEMS = 10


def _completed_orders(orders: pl.DataFrame) -> pl.DataFrame:
    """The completed orders with their dates (subscriber_id, completed_date, order_id,
    order_type, plan_id, file_row), checked: the problems refuse the run."""
    text = pl.col("completed_date").cast(pl.String)
    completed = (
        orders.filter(pl.col("order_status") == "completed")
        .with_row_index("file_row")
        .with_columns(
            pl.col("plan_id").fill_null(""),
            # The common YYYY-MM-DD is parsed here; anything else as Python reads ISO dates.
            pl.when(text.str.contains(r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"))
            .then(text.str.to_date("%Y-%m-%d", strict=False))
            .alias("parsed"),
            text.str.contains(r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$").fill_null(False).alias("iso"),
        )
    )
    other = completed.filter(~pl.col("iso") & pl.col("order_type").is_in(ORDER_TYPES))
    if other.height:
        completed = completed.update(
            other.select(
                "file_row",
                pl.Series("parsed", [_iso_date(t) for t in other["completed_date"]], pl.Date),
            ),
            on="file_row",
        )
    problems = [
        f"{order_id}: unknown order_type {order_type!r}"
        if order_type not in ORDER_TYPES
        else f"{order_id}: completed_date {completed_date!r}"
        for order_id, order_type, completed_date in completed.filter(
            ~pl.col("order_type").is_in(ORDER_TYPES).fill_null(False) | pl.col("parsed").is_null()
        )
        .head(_LISTED_PROBLEMS)
        .select("order_id", "order_type", "completed_date")
        .iter_rows()
    ]
    valid = completed.filter(
        pl.col("order_type").is_in(ORDER_TYPES).fill_null(False) & pl.col("parsed").is_not_null()
    ).select(
        "subscriber_id",
        pl.col("parsed").alias("completed_date"),
        "order_id",
        "order_type",
        "plan_id",
        "file_row",
    )
    unknown_plan = (
        valid.group_by("subscriber_id")
        .agg(
            (pl.col("order_type") == "plan_change").any().alias("changed"),
            (pl.col("order_type") == "activation").any().alias("activated"),
        )
        .filter(pl.col("changed") & ~pl.col("activated"))
        .sort("subscriber_id")
        .head(_LISTED_PROBLEMS)
    )
    problems += [
        f"{subscriber_id} changed plan but has no activation order: the plan it changed "
        "from is unknown"
        for subscriber_id in unknown_plan["subscriber_id"]
    ]
    if problems:
        raise ValueError("crm_orders.csv: " + "; ".join(problems[:_LISTED_PROBLEMS]))
    return valid


def _iso_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None
