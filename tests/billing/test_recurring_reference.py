"""The column-wise recurring fees against the per-line reference (reference_recurring.py)
on generated lines: activations in and before the window, plan changes (to the same plan,
twice a day, before activation), suspensions and resumptions, cancellations by order and
by subscribers.csv, add-ons added and removed, fee versions with a price change and a gap,
bill cycles 1, 15 and others, months of 28 to 31 days."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
import pytest
import reference_recurring as reference

from pipelines.billing.lifecycle import ORDER_TYPES, LineBook, load_lines
from pipelines.billing.recurring import FeeVersion, recurring_charges

PLANS = {
    "SMALL": [FeeVersion(date(2024, 1, 1), None, 30_000_000)],
    "BIG": [
        FeeVersion(date(2024, 1, 1), date(2025, 3, 17), 45_000_000),
        FeeVersion(date(2025, 3, 18), None, 47_500_000),
    ],
    # No version from 02-10 to 02-19: those days carry no fee.
    "GAP": [
        FeeVersion(date(2024, 1, 1), date(2025, 2, 9), 20_000_000),
        FeeVersion(date(2025, 2, 20), None, 21_000_000),
    ],
    "ODD": [FeeVersion(date(2024, 1, 1), None, 10_010_000)],
}
ADDONS = {
    "ROAM": [FeeVersion(date(2024, 1, 1), None, 5_000_000)],
    "TV": [
        FeeVersion(date(2024, 1, 1), date(2025, 4, 10), 12_990_000),
        FeeVersion(date(2025, 4, 11), None, 13_990_000),
    ],
}
PERIODS = ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06")
START = date(2024, 12, 1)


def _day(rng: random.Random, span_days: int = 200) -> date:
    return START + timedelta(days=rng.randrange(span_days))


def _operator(seed: int, n_lines: int) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """subscribers (typed, with addons), crm_orders.csv (text) and the cycle days."""
    rng = random.Random(seed)
    subscribers, orders = [], []
    plans = [*PLANS, "NOFEE"]
    for _ in range(n_lines):
        subscriber_id = f"S{rng.randrange(10 * n_lines):05d}"  # repeats now and then
        activated = _day(rng) if rng.random() > 0.03 else None
        cancelled = _day(rng) if rng.random() < 0.15 else None
        plan = rng.choice(plans)
        addons = [
            {
                "offer_id": rng.choice([*ADDONS, "UNPRICED"]),
                "added_date": (added := _day(rng)),
                "removed_date": added + timedelta(days=rng.randrange(1, 90))
                if rng.random() < 0.4
                else None,
            }
            for _ in range(rng.choice([0, 0, 0, 1, 1, 2]))
        ]
        subscribers.append(
            (
                subscriber_id,
                f"A{rng.randrange(40):02d}",
                "mobile",
                plan,
                activated,
                cancelled,
                addons,
            )
        )
        if activated is not None and rng.random() < 0.8:
            when = activated if rng.random() < 0.9 else _day(rng)
            orders.append((subscriber_id, "activation", rng.choice([plan, plan, ""]), when))
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
            kind = rng.choice(ORDER_TYPES[1:])
            when = activated + timedelta(days=rng.randrange(-10, 120)) if activated else _day(rng)
            orders.append(
                (subscriber_id, kind, rng.choice(plans) if kind == "plan_change" else "", when)
            )
    order_rows = [
        {
            "order_id": f"O{rng.randrange(10**6):06d}",
            "subscriber_id": subscriber_id,
            "order_type": kind,
            "plan_id": plan,
            "completed_date": when.isoformat(),
            "order_status": rng.choice(["completed"] * 9 + ["open"]),
        }
        for subscriber_id, kind, plan, when in orders
    ]
    rng.shuffle(order_rows)
    # A line that changed plan needs its activation order; lines without one keep none.
    activated_lines = {
        r["subscriber_id"]
        for r in order_rows
        if r["order_type"] == "activation" and r["order_status"] == "completed"
    }
    order_rows = [
        r
        for r in order_rows
        if r["order_type"] != "plan_change" or r["subscriber_id"] in activated_lines
    ]
    addon_type = pl.List(
        pl.Struct({"offer_id": pl.String, "added_date": pl.Date, "removed_date": pl.Date})
    )
    frame = pl.DataFrame(
        subscribers,
        schema={
            "subscriber_id": pl.String,
            "account_id": pl.String,
            "service_type": pl.String,
            "plan_id": pl.String,
            "activated_date": pl.Date,
            "cancelled_date": pl.Date,
            "addons": addon_type,
        },
        orient="row",
    )
    # Cycle days 1 and 15 most, some others; some accounts are not billed by the run.
    cycle_days = {
        f"A{a:02d}": rng.choice([1, 1, 15, 15, 2, 14, 16, 28])
        for a in range(40)
        if rng.random() < 0.9
    }
    orders_frame = pl.DataFrame(
        order_rows,
        schema=dict.fromkeys(
            (
                "order_id",
                "subscriber_id",
                "order_type",
                "plan_id",
                "completed_date",
                "order_status",
            ),
            pl.String,
        ),
    )
    return frame, orders_frame, cycle_days


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recurring_charges_match_the_reference(seed):
    subscribers, orders, cycle_days = _operator(seed, 400)
    expected_lines = reference.load_lines(subscribers, orders)
    book = load_lines(subscribers, orders)
    for period in PERIODS:
        expected = reference.recurring_charges(expected_lines, PLANS, ADDONS, cycle_days, period)
        assert expected.height  # the comparison bills something
        actual = recurring_charges(book, PLANS, ADDONS, cycle_days, period)
        assert actual.to_dicts() == expected.to_dicts(), period
        # Lines given one by one bill the same.
        one_by_one = recurring_charges(expected_lines, PLANS, ADDONS, cycle_days, period)
        assert one_by_one.to_dicts() == expected.to_dicts(), period


def test_the_generated_lines_cover_every_kind_of_row():
    subscribers, orders, cycle_days = _operator(1, 400)
    book = load_lines(subscribers, orders)
    frames = [recurring_charges(book, PLANS, ADDONS, cycle_days, p) for p in PERIODS]
    rows = pl.concat(frames)
    kinds = set(rows.select("offer_kind", "recurring_kind").unique().iter_rows())
    assert kinds == {(o, k) for o in ("plan", "addon") for k in ("advance", "reversed", "adjusted")}
    assert rows.filter(pl.col("active_days") < pl.col("period_days")).height
    assert set(
        rows.join(pl.DataFrame({"account_id": list(cycle_days)}), on="account_id")[
            "period_start_date"
        ].dt.day()
    ) >= {1, 15}


@pytest.mark.parametrize("seed", [4, 5])
def test_plan_and_addon_spans_match_the_reference(seed):
    subscribers, orders, _ = _operator(seed, 300)
    lines = reference.load_lines(subscribers, orders)
    book = LineBook.of(lines)
    for known_through in (date(2025, 1, 31), date(2025, 3, 15), date(2025, 6, 30)):
        plans = book.plan_spans(known_through)
        addons = book.addon_spans(known_through, plans)
        for spans, reference_spans in (
            (plans, reference.plan_spans),
            (addons, reference.addon_spans),
        ):
            expected = [
                (index, span.offer_id, span.start, span.stop)
                for index, line in enumerate(lines)
                for span in reference_spans(line, known_through)
            ]
            assert spans.select("line", "offer_id", "start", "stop").rows() == expected


def _refusal(function, subscribers: pl.DataFrame, orders: pl.DataFrame) -> str:
    with pytest.raises(ValueError) as refused:
        function(subscribers, orders)
    return str(refused.value)


def test_order_problems_refuse_the_run_as_the_reference_does():
    subscribers, orders, _ = _operator(6, 50)
    rows = orders.to_dicts()
    bad = [
        ("unknown_kind", "2025-03-01"),
        ("suspension", "2025-02-30"),
        ("suspension", ""),
        ("resumption", None),
        ("plan_change", "2025-03-01"),  # on a line without an activation order
    ]
    for n, (kind, when) in enumerate(bad):
        rows.insert(
            3 * n,
            {
                "order_id": f"BAD{n}",
                "subscriber_id": f"NEW{n}",
                "order_type": kind,
                "plan_id": "BIG",
                "completed_date": when,
                "order_status": "completed",
            },
        )
    broken = pl.DataFrame(rows, schema=orders.schema)
    message = _refusal(load_lines, subscribers, broken)
    assert message == _refusal(reference.load_lines, subscribers, broken)
    assert "BAD0: unknown order_type 'unknown_kind'" in message
    assert "NEW4 changed plan but has no activation order" in message


def test_dates_python_reads_as_iso_are_read_as_the_reference_reads_them():
    subscribers, orders, cycle_days = _operator(7, 100)
    # 3.11's date.fromisoformat also reads the basic format.
    orders = orders.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(pl.col("completed_date").str.replace_all("-", ""))
        .otherwise(pl.col("completed_date"))
        .alias("completed_date")
    )
    expected = reference.recurring_charges(
        reference.load_lines(subscribers, orders), PLANS, ADDONS, cycle_days, "2025-03"
    )
    actual = recurring_charges(
        load_lines(subscribers, orders), PLANS, ADDONS, cycle_days, "2025-03"
    )
    assert actual.to_dicts() == expected.to_dicts()
