"""The reference recurring fees: the bill run's per-line rules, one line at a time.

Slow and plain on purpose: each line's orders replayed in a loop, each service period's
pieces built and compared as lists. ``pipelines.billing.lifecycle`` and
``pipelines.billing.recurring`` compute the same for every line at once (a kernel and
joins) and are tested against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from pipelines.billing.charges import CENT
from pipelines.billing.cycles import shift_month
from pipelines.billing.lifecycle import ORDER_TYPES, Line, Order
from pipelines.billing.recurring import (
    ADJUSTED,
    ADVANCE,
    RECURRING_SCHEMA,
    REVERSED,
    FeeVersion,
)
from pipelines.periods import parse_period


@dataclass(frozen=True)
class Span:
    """An offer billed on the days [start, stop); stop None: still held."""

    offer_id: str
    start: date
    stop: date | None


@dataclass(frozen=True)
class Piece:
    """Days [start, stop) of one offer version within one service period."""

    offer_id: str
    start: date
    stop: date
    fee_micros: int

    def charge(self, period_days: int) -> int:
        days = (self.stop - self.start).days
        return (self.fee_micros * days * 2 + period_days * CENT) // (2 * period_days * CENT) * CENT


def plan_spans(line: Line, known_through: date) -> list[Span]:
    """The line's plan while in service, as known at the end of ``known_through``."""
    if line.activated is None or line.activated > known_through:
        return []
    orders = [o for o in line.orders if o.completed <= known_through]
    activation = [o for o in orders if o.order_type == "activation"]
    plan = activation[0].plan_id if activation else line.plan_id
    stop = line.cancelled if line.cancelled and line.cancelled <= known_through else None
    for order in orders:
        if order.order_type == "cancellation" and (stop is None or order.completed < stop):
            stop = order.completed
    spans: list[Span] = []
    since, in_service = line.activated, True
    for order in orders:
        if order.completed < line.activated or (stop is not None and order.completed >= stop):
            continue
        if order.order_type == "plan_change" and order.plan_id != plan:
            if in_service and order.completed > since:
                spans.append(Span(plan, since, order.completed))
            plan, since = order.plan_id, order.completed
        elif order.order_type == "suspension" and in_service:
            if order.completed > since:
                spans.append(Span(plan, since, order.completed))
            in_service = False
        elif order.order_type == "resumption" and not in_service:
            since, in_service = order.completed, True
    if in_service and (stop is None or stop > since):
        spans.append(Span(plan, since, stop))
    return spans


def addon_spans(line: Line, known_through: date) -> list[Span]:
    """Each add-on on the days it was held while the line was in service."""
    service = plan_spans(line, known_through)
    spans = []
    for offer_id, added, removed in line.addons:
        if added > known_through:
            continue
        until = removed if removed is not None and removed <= known_through else None
        for span in service:
            start = max(span.start, added)
            stop = _earlier(span.stop, until)
            if stop is None or stop > start:
                spans.append(Span(offer_id, start, stop))
    return spans


def _earlier(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def pieces(
    spans: Iterable[Span], start: date, stop: date, versions: dict[str, list[FeeVersion]]
) -> list[Piece]:
    """The spans' days in [start, stop), split where an offer's version changes."""
    result = []
    for span in spans:
        span_start = max(span.start, start)
        span_stop = stop if span.stop is None else min(span.stop, stop)
        for version in versions.get(span.offer_id, []):
            version_stop = (
                None if version.effective_to is None else version.effective_to + timedelta(days=1)
            )
            piece_start = max(span_start, version.effective_from)
            piece_stop = span_stop if version_stop is None else min(span_stop, version_stop)
            if piece_stop > piece_start:
                result.append(Piece(span.offer_id, piece_start, piece_stop, version.fee_micros))
    return sorted(result, key=lambda p: (p.start, p.offer_id))


def recurring_charges(
    lines: Sequence[Line],
    versions: dict[str, list[FeeVersion]],
    addon_versions: dict[str, list[FeeVersion]],
    cycle_days: dict[str, int],
    billing_period: str,
) -> pl.DataFrame:
    """The run's recurring fees (``RECURRING_SCHEMA``), line by line."""
    first, last = parse_period(billing_period)
    previous_window_end = first - timedelta(days=1)
    rows: list[tuple[object, ...]] = []
    for line in lines:
        cycle_day = cycle_days.get(line.account_id)
        if cycle_day is None:
            continue
        bill = shift_month(first.replace(day=cycle_day), 1)
        earlier = [(shift_month(bill, -2), shift_month(bill, -1)), (shift_month(bill, -1), bill)]
        for offer_kind, known, offer_versions in (
            ("plan", plan_spans, versions),
            ("addon", addon_spans, addon_versions),
        ):
            now, before = known(line, last), known(line, previous_window_end)
            for start, stop in earlier:
                if stop <= first:
                    continue
                billed = pieces(before, start, stop, offer_versions)
                actual = pieces(now, start, stop, offer_versions)
                if billed != actual:
                    rows += _rows(line, offer_kind, REVERSED, billed, start, stop, -1)
                    rows += _rows(line, offer_kind, ADJUSTED, actual, start, stop, 1)
            advance = pieces(now, bill, shift_month(bill, 1), offer_versions)
            rows += _rows(line, offer_kind, ADVANCE, advance, bill, shift_month(bill, 1), 1)
    order = {ADVANCE: 2, REVERSED: 0, ADJUSTED: 1}
    frame = pl.DataFrame(
        [(billing_period, *row) for row in rows], schema=RECURRING_SCHEMA, orient="row"
    )
    # Stable, so rows equal on every key stay in the order the lines list them.
    return frame.sort(
        "subscriber_id",
        "period_start_date",
        pl.col("recurring_kind").replace_strict(order, return_dtype=pl.Int8),
        "service_from",
        "offer_kind",
        "plan_id",
        maintain_order=True,
    )


def _rows(
    line: Line,
    offer_kind: str,
    kind: str,
    charged: list[Piece],
    start: date,
    stop: date,
    sign: int,
) -> list[tuple[object, ...]]:
    period_days = (stop - start).days
    return [
        (
            line.subscriber_id,
            line.account_id,
            piece.offer_id,
            offer_kind,
            line.service_type,
            kind,
            start,
            stop - timedelta(days=1),
            piece.start,
            piece.stop - timedelta(days=1),
            (piece.stop - piece.start).days,
            period_days,
            piece.fee_micros,
            sign * piece.charge(period_days),
        )
        for piece in charged
    ]


def load_lines(subscribers: pl.DataFrame, orders: pl.DataFrame) -> list[Line]:
    """The lines of ``subscribers`` (typed, addons list optional) with their completed
    ``orders`` (crm_orders.csv as text), sorted by subscriber_id; problems refuse."""
    by_line: dict[str, list[Order]] = defaultdict(list)
    problems = []
    for row in orders.filter(pl.col("order_status") == "completed").iter_rows(named=True):
        if row["order_type"] not in ORDER_TYPES:
            problems.append(f"{row['order_id']}: unknown order_type {row['order_type']!r}")
            continue
        try:
            completed = date.fromisoformat(row["completed_date"] or "")
        except ValueError:
            problems.append(f"{row['order_id']}: completed_date {row['completed_date']!r}")
            continue
        by_line[row["subscriber_id"]].append(
            Order(completed, row["order_id"], row["order_type"], row["plan_id"] or "")
        )
    for subscriber_id, line_orders in sorted(by_line.items()):
        kinds = {order.order_type for order in line_orders}
        if "plan_change" in kinds and "activation" not in kinds:
            problems.append(
                f"{subscriber_id} changed plan but has no activation order: the plan it "
                "changed from is unknown"
            )
    if problems:
        raise ValueError("crm_orders.csv: " + "; ".join(problems[:10]))
    has_addons = "addons" in subscribers.columns
    lines = []
    for row in subscribers.sort("subscriber_id", maintain_order=True).iter_rows(named=True):
        addons = row["addons"] if has_addons else []
        lines.append(
            Line(
                subscriber_id=row["subscriber_id"],
                account_id=row["account_id"],
                service_type=row["service_type"],
                plan_id=row["plan_id"],
                activated=row["activated_date"],
                cancelled=row["cancelled_date"],
                orders=tuple(
                    sorted(
                        by_line.get(row["subscriber_id"], []),
                        key=lambda o: (o.completed, o.order_id),
                    )
                ),
                addons=tuple(
                    (a["offer_id"], a["added_date"], a["removed_date"])
                    for a in sorted(addons, key=lambda a: (a["added_date"], a["offer_id"]))
                ),
            )
        )
    return lines
