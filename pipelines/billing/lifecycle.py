"""What each line held, and when, as the operator knew it at a given day.

The CRM's completed service orders (crm_orders.csv) are the line's history:

- ``activation``: the line starts on the completed date with the order's plan;
- ``plan_change``: the order's plan applies from the completed date;
- ``suspension``: no service from the completed date (no monthly fee);
- ``resumption``: service again from the completed date;
- ``cancellation``: the line ends on the completed date (exclusive, as subscribers.csv's
  cancelled_date, which ends it too when it is earlier).

Knowledge is dated: ``spans(known_through=d)`` uses only the orders completed by ``d`` and
the activation and cancellation dates on or before it, so the bill run can say what the
previous bill charged (the state known at its window's end) and what this one must. A line
without an activation order starts on its activated_date on the plan subscribers.csv names.
Orders dated after the line ended change nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import polars as pl

ORDER_TYPES = ("activation", "plan_change", "suspension", "resumption", "cancellation")


@dataclass(frozen=True)
class Span:
    """An offer billed on the days [start, stop); stop None: still held."""

    offer_id: str
    start: date
    stop: date | None


@dataclass(frozen=True)
class Order:
    completed: date
    order_id: str
    order_type: str
    plan_id: str


@dataclass(frozen=True)
class Line:
    subscriber_id: str
    account_id: str
    service_type: str
    plan_id: str
    activated: date | None
    cancelled: date | None
    orders: tuple[Order, ...]
    addons: tuple[tuple[str, date, date | None], ...]  # offer_id, added, removed (exclusive)

    def plan_spans(self, known_through: date) -> list[Span]:
        """The line's plan while in service, as known at the end of ``known_through``."""
        if self.activated is None or self.activated > known_through:
            return []
        orders = [o for o in self.orders if o.completed <= known_through]
        activation = [o for o in orders if o.order_type == "activation"]
        plan = activation[0].plan_id if activation else self.plan_id
        stop = self.cancelled if self.cancelled and self.cancelled <= known_through else None
        for order in orders:
            if order.order_type == "cancellation" and (stop is None or order.completed < stop):
                stop = order.completed
        spans: list[Span] = []
        since, in_service = self.activated, True
        for order in orders:
            if order.completed < self.activated or (stop is not None and order.completed >= stop):
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

    def addon_spans(self, known_through: date) -> list[Span]:
        """Each add-on on the days it was held while the line was in service."""
        service = self.plan_spans(known_through)
        spans = []
        for offer_id, added, removed in self.addons:
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


def load_lines(subscribers: pl.DataFrame, orders: pl.DataFrame) -> list[Line]:
    """``subscribers``: typed as ``pipelines.rating.retail.load_lines`` returns them (addons
    list included); ``orders``: crm_orders.csv as text. Sorted by subscriber_id.

    An order of a type not in ``ORDER_TYPES``, or a completed order without a valid date,
    refuses the run naming it: billing around it would be a guess.
    """
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
    for row in subscribers.sort("subscriber_id").iter_rows(named=True):
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
