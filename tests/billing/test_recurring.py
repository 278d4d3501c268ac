"""Recurring fees in advance, trued up by the day: hand-computed bills for one line's
history, on cycle day 1 and on cycle day 15."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines.billing.lifecycle import Line, Order, load_lines
from pipelines.billing.recurring import FeeVersion, recurring_charges

#: SMALL costs 30.00, BIG 45.00 a month; ADDON 5.00.
VERSIONS = {
    "SMALL": [FeeVersion(date(2024, 1, 1), None, 30_000_000)],
    "BIG": [FeeVersion(date(2024, 1, 1), None, 45_000_000)],
}
ADDONS = {"ROAM": [FeeVersion(date(2024, 1, 1), None, 5_000_000)]}


def _line(
    *orders: tuple[str, str, str],
    activated: date = date(2025, 1, 10),
    cancelled: date | None = None,
    addons: tuple = (),
) -> Line:
    return Line(
        subscriber_id="S1",
        account_id="A1",
        service_type="mobile",
        plan_id="SMALL",
        activated=activated,
        cancelled=cancelled,
        orders=tuple(
            Order(date.fromisoformat(day), f"O{n}", kind, plan)
            for n, (day, kind, plan) in enumerate(orders)
        ),
        addons=addons,
    )


def _bill(line: Line, period: str, cycle_day: int = 1) -> list[tuple]:
    frame = recurring_charges([line], VERSIONS, ADDONS, {"A1": cycle_day}, period)
    return [
        (r["recurring_kind"], r["plan_id"], r["service_from"].isoformat(),
         r["service_to"].isoformat(), r["charge_micros"])
        for r in frame.iter_rows(named=True)
    ]  # fmt: skip


def test_unchanged_line_bills_the_next_month_only():
    line = _line(("2025-01-10", "activation", "SMALL"))
    assert _bill(line, "2025-03") == [("advance", "SMALL", "2025-04-01", "2025-04-30", 30_000_000)]


def test_mid_month_activation_bills_the_days_and_the_next_month():
    line = _line(("2025-03-10", "activation", "SMALL"), activated=date(2025, 3, 10))
    # 30.00 x 22/31 = 21.2903 -> 21.29
    assert _bill(line, "2025-03") == [
        ("adjusted", "SMALL", "2025-03-10", "2025-03-31", 21_290_000),
        ("advance", "SMALL", "2025-04-01", "2025-04-30", 30_000_000),
    ]


def test_plan_change_reverses_the_month_and_charges_both_plans_by_the_day():
    line = _line(("2025-01-10", "activation", "SMALL"), ("2025-04-21", "plan_change", "BIG"))
    # April has 30 days: SMALL 04-01..04-20 = 30 x 20/30 = 20.00; BIG 04-21..04-30 = 45 x 10/30
    assert _bill(line, "2025-04") == [
        ("reversed", "SMALL", "2025-04-01", "2025-04-30", -30_000_000),
        ("adjusted", "SMALL", "2025-04-01", "2025-04-20", 20_000_000),
        ("adjusted", "BIG", "2025-04-21", "2025-04-30", 15_000_000),
        ("advance", "BIG", "2025-05-01", "2025-05-31", 45_000_000),
    ]
    # The next bill, knowing the change, has nothing to true up.
    assert _bill(line, "2025-05") == [("advance", "BIG", "2025-06-01", "2025-06-30", 45_000_000)]


def test_suspension_and_resumption():
    line = _line(
        ("2025-01-10", "activation", "SMALL"),
        ("2025-05-08", "suspension", ""),
        ("2025-06-16", "resumption", ""),
    )
    # May: 7 days in service, 30 x 7/31 = 6.7742 -> 6.77; suspended at the bill: no advance.
    assert _bill(line, "2025-05") == [
        ("reversed", "SMALL", "2025-05-01", "2025-05-31", -30_000_000),
        ("adjusted", "SMALL", "2025-05-01", "2025-05-07", 6_770_000),
    ]
    # June was not billed in advance; resumed 06-16: 30 x 15/30 = 15.00.
    assert _bill(line, "2025-06") == [
        ("adjusted", "SMALL", "2025-06-16", "2025-06-30", 15_000_000),
        ("advance", "SMALL", "2025-07-01", "2025-07-31", 30_000_000),
    ]


def test_cancellation_credits_the_days_after_it():
    line = _line(
        ("2025-01-10", "activation", "SMALL"),
        ("2025-02-11", "cancellation", "SMALL"),
        cancelled=date(2025, 2, 11),
    )
    # February 2025 has 28 days; 10 in service: 30 x 10/28 = 10.7143 -> 10.71.
    assert _bill(line, "2025-02") == [
        ("reversed", "SMALL", "2025-02-01", "2025-02-28", -30_000_000),
        ("adjusted", "SMALL", "2025-02-01", "2025-02-10", 10_710_000),
    ]
    assert _bill(line, "2025-03") == []


def test_cycle_day_15_trues_up_both_service_periods_the_month_touches():
    line = _line(("2025-01-10", "activation", "SMALL"), ("2025-03-05", "plan_change", "BIG"))
    # The March run bills on 04-15. Days 03-01..03-14 belong to the period 02-15..03-14
    # (28 days), billed SMALL; 03-15..04-14 (31 days) was billed SMALL on 03-15.
    assert _bill(line, "2025-03", cycle_day=15) == [
        ("reversed", "SMALL", "2025-02-15", "2025-03-14", -30_000_000),
        # 30 x 18/28 = 19.2857 -> 19.29; 45 x 10/28 = 16.0714 -> 16.07
        ("adjusted", "SMALL", "2025-02-15", "2025-03-04", 19_290_000),
        ("adjusted", "BIG", "2025-03-05", "2025-03-14", 16_070_000),
        ("reversed", "SMALL", "2025-03-15", "2025-04-14", -30_000_000),
        ("adjusted", "BIG", "2025-03-15", "2025-04-14", 45_000_000),
        ("advance", "BIG", "2025-04-15", "2025-05-14", 45_000_000),
    ]


def test_addon_prorated_and_stopped_by_suspension():
    line = _line(
        ("2025-01-10", "activation", "SMALL"),
        ("2025-04-16", "suspension", ""),
        addons=(("ROAM", date(2025, 4, 6), None),),
    )
    frame = recurring_charges([line], VERSIONS, ADDONS, {"A1": 1}, "2025-04")
    addon = frame.filter(pl.col("offer_kind") == "addon")
    # Held 04-06..04-15 (10 days): 5 x 10/30 = 1.6667 -> 1.67; none in advance (suspended).
    assert addon.select("recurring_kind", "active_days", "charge_micros").rows() == [
        ("adjusted", 10, 1_670_000)
    ]


def test_half_a_cent_rounds_away_from_zero_and_the_reversal_mirrors_it():
    versions = {"ODD": [FeeVersion(date(2024, 1, 1), None, 10_010_000)]}
    line = Line("S1", "A1", "mobile", "ODD", date(2025, 1, 1), None, (), ())
    cancelled = Line(
        "S1", "A1", "mobile", "ODD", date(2025, 1, 1), date(2025, 6, 16),
        (Order(date(2025, 6, 16), "O1", "cancellation", "ODD"),), (),
    )  # fmt: skip
    # 10.01 x 15/30 = 5.005 -> 5.01
    june = recurring_charges([cancelled], versions, {}, {"A1": 1}, "2025-06")
    assert june["charge_micros"].to_list() == [-10_010_000, 5_010_000]
    may = recurring_charges([line], versions, {}, {"A1": 1}, "2025-05")
    assert may["charge_micros"].to_list() == [10_010_000]


def test_a_plan_change_without_the_activation_order_is_refused():
    subscribers = pl.DataFrame(
        {
            "subscriber_id": ["S1"],
            "account_id": ["A1"],
            "service_type": ["mobile"],
            "plan_id": ["BIG"],
            "activated_date": [date(2025, 1, 10)],
            "cancelled_date": [None],
        },
        schema_overrides={"cancelled_date": pl.Date},
    )
    orders = pl.DataFrame(
        {
            "order_id": ["O2"],
            "subscriber_id": ["S1"],
            "order_type": ["plan_change"],
            "plan_id": ["BIG"],
            "completed_date": ["2025-04-21"],
            "order_status": ["completed"],
        }
    )
    with pytest.raises(ValueError, match="S1 changed plan but has no activation order"):
        load_lines(subscribers, orders)
