"""One-time fees: completed orders of the period bill the fee versions in effect on their
completed date; open orders and other months bill nothing; every bad catalog row or order
refuses the run naming its file and line."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest

from pipelines.billing.charges import CHARGE_SCHEMA
from pipelines.billing.one_time import (
    FEE_COLUMNS,
    fee_versions,
    one_time_charges,
    order_fee_charges,
)
from pipelines.config import Layout
from pipelines.generate.billing_refs import one_time_fee_rows

MARCH = (date(2025, 3, 1), date(2025, 3, 31))
ORDER_COLUMNS = (
    "order_id",
    "account_id",
    "subscriber_id",
    "order_type",
    "plan_id",
    "ordered_date",
    "completed_date",
    "order_status",
)
LINES = pl.DataFrame(
    {
        "subscriber_id": ["S-MOB", "S-BB", "S-TV", "S-VOIP"],
        "account_id": ["A1", "A1", "A2", "A2"],
        "service_type": ["mobile", "broadband", "tv", "fixed_voip"],
    }
)
ACTIVATION = ("ACT", "Activation fee", "activation", "mobile", "activation", "35000000")
INSTALL_BB = ("INST", "Installation fee", "activation", "broadband", "activation", "99000000")
INSTALL_TV = ("INST", "Installation fee", "activation", "tv", "activation", "49000000")


def _text(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> pl.DataFrame:
    """A frame as read_reference reads a CSV: every column text, empty cells ''."""
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")


def _fees(*rows: tuple[str, ...]) -> pl.DataFrame:
    """Fee rows; a 6-tuple is open from 2024-01-01."""
    return _text(FEE_COLUMNS, [row if len(row) == 8 else (*row, "2024-01-01", "") for row in rows])


def _order(order_id: str, line: str, kind: str, completed: str, status: str = "completed"):
    account = LINES.filter(pl.col("subscriber_id") == line)["account_id"].item()
    return (order_id, account, line, kind, "P1", "2025-02-27", completed, status)


def _bill(orders: list[tuple[str, ...]], fees: pl.DataFrame) -> list[tuple]:
    charges = order_fee_charges(_text(ORDER_COLUMNS, orders), LINES, fees, *MARCH)
    assert charges.schema == CHARGE_SCHEMA
    return [
        (r["charge_key"], r["subscriber_id"], r["description"], r["service_from"].isoformat(),
         r["amount_micros"])
        for r in charges.iter_rows(named=True)
    ]  # fmt: skip


def test_orders_completed_in_the_period_bill_their_fees():
    orders = [
        _order("O1", "S-MOB", "activation", "2025-03-01"),  # first day of the period
        _order("O2", "S-BB", "activation", "2025-03-31"),  # last day
        _order("O3", "S-TV", "activation", "2025-02-28"),  # the month before
        _order("O4", "S-VOIP", "activation", "2025-04-01"),  # the month after
        _order("O5", "S-TV", "activation", "", status="open"),
        _order("O6", "S-MOB", "plan_change", "2025-03-12"),  # no fee for plan changes
    ]
    assert _bill(orders, _fees(ACTIVATION, INSTALL_BB, INSTALL_TV)) == [
        ("O1/ACT", "S-MOB", "Activation fee", "2025-03-01", 35_000_000),
        ("O2/INST", "S-BB", "Installation fee", "2025-03-31", 99_000_000),
    ]


def test_a_charge_carries_the_fee_and_the_order():
    fees = _fees(INSTALL_TV)
    charges = order_fee_charges(
        _text(ORDER_COLUMNS, [_order("O7", "S-TV", "activation", "2025-03-05")]),
        LINES,
        fees,
        *MARCH,
    )
    assert charges.row(0, named=True) == {
        "charge_source": "one_time",
        "charge_key": "O7/INST",
        "account_id": "A2",
        "subscriber_id": "S-TV",
        "plan_id": None,
        "category": "activation",
        "description": "Installation fee",
        "quantity": 1,
        "quantity_unit": "order",
        "service_from": date(2025, 3, 5),
        "service_to": date(2025, 3, 5),
        "amount_micros": 49_000_000,
        "lines": 0,
        "minutes_micros": 0,
        "records": None,
    }


def test_an_open_order_bills_in_the_month_it_completes():
    fees = _fees(INSTALL_TV)
    open_in_march = [_order("O8", "S-TV", "activation", "", status="open")]
    assert _bill(open_in_march, fees) == []
    completed_in_march = [_order("O8", "S-TV", "activation", "2025-03-20")]
    assert _bill(completed_in_march, fees) == [
        ("O8/INST", "S-TV", "Installation fee", "2025-03-20", 49_000_000)
    ]


def test_two_fees_for_the_same_order_and_service_are_both_billed():
    broadband_activation = (*ACTIVATION[:3], "broadband", *ACTIVATION[4:])
    orders = [_order("O1", "S-BB", "activation", "2025-03-10")]
    assert _bill(orders, _fees(broadband_activation, INSTALL_BB)) == [
        ("O1/ACT", "S-BB", "Activation fee", "2025-03-10", 35_000_000),
        ("O1/INST", "S-BB", "Installation fee", "2025-03-10", 99_000_000),
    ]


def test_the_version_in_effect_on_the_completed_date_applies_both_ends_inclusive():
    fees = _fees(
        (*ACTIVATION[:5], "30000000", "2024-01-01", "2025-03-14"),
        (*ACTIVATION[:5], "40000000", "2025-03-15", "2025-03-30"),
    )
    orders = [
        _order("O1", "S-MOB", "activation", "2025-03-14"),  # old version's last day
        _order("O2", "S-MOB", "activation", "2025-03-15"),  # new version's first day
        _order("O3", "S-MOB", "activation", "2025-03-30"),  # new version's last day
        _order("O4", "S-MOB", "activation", "2025-03-31"),  # no version in effect
    ]
    assert [(key, amount) for key, *_, amount in _bill(orders, fees)] == [
        ("O1/ACT", 30_000_000),
        ("O2/ACT", 40_000_000),
        ("O3/ACT", 40_000_000),
    ]


def test_a_fee_not_yet_in_effect_bills_nothing():
    fees = _fees((*ACTIVATION, "2025-03-20", ""))
    orders = [
        _order("O1", "S-MOB", "activation", "2025-03-19"),
        _order("O2", "S-MOB", "activation", "2025-03-20"),
    ]
    assert [key for key, *_ in _bill(orders, fees)] == ["O2/ACT"]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ((*ACTIVATION[:5], "35000001"), "amount_micros 35000001 is not whole cents"),
        ((*ACTIVATION[:5], "35.00"), "amount_micros '35.00' is not a whole number of micros"),
        ((*ACTIVATION[:5], "0"), "amount_micros 0 is not above zero"),
        ((*ACTIVATION[:5], "-35000000"), "amount_micros -35000000 is not above zero"),
        ((*ACTIVATION[:4], "activation_fee", ACTIVATION[5]), "unknown category 'activation_fee'"),
        (("ACT", "Activation fee", "install", *ACTIVATION[3:]), "unknown order_type 'install'"),
        ((*ACTIVATION[:3], "fiber", *ACTIVATION[4:]), "unknown service_type 'fiber'"),
        (("", *ACTIVATION[1:]), "fee_id is empty"),
        (("ACT", "", *ACTIVATION[2:]), "fee_name is empty"),
        ((*ACTIVATION, "2024-13-01", ""), "effective_from '2024-13-01' is not a date"),
        ((*ACTIVATION, "", ""), "effective_from '' is not a date"),
        ((*ACTIVATION, "2024-01-01", "soon"), "effective_to 'soon' is not a date"),
        ((*ACTIVATION, "2025-01-01", "2024-12-31"), "effective_to is before effective_from"),
    ],
)
def test_a_bad_fee_row_refuses_the_file_naming_its_line(row, problem):
    with pytest.raises(ValueError, match=r"one_time_fees\.csv:3: .*" + re.escape(problem)):
        fee_versions(_fees(INSTALL_BB, row))


def test_every_problem_of_a_row_is_named():
    row = ("ACT", "Activation fee", "activation", "mobile", "activation", "35000001", "x", "")
    with pytest.raises(ValueError) as refused:
        fee_versions(_fees(row))
    assert str(refused.value) == (
        "one_time_fees.csv:2: amount_micros 35000001 is not whole cents; "
        "effective_from 'x' is not a date (YYYY-MM-DD)"
    )


@pytest.mark.parametrize(
    "versions",
    [
        [("2024-01-01", "2025-03-15"), ("2025-03-15", "")],  # share a day
        [("2024-01-01", ""), ("2025-03-15", "")],  # the first never ends
        [("2025-03-15", ""), ("2024-01-01", "2025-06-30")],  # listed out of order
    ],
)
def test_overlapping_versions_of_a_fee_refuse_the_file(versions):
    fees = _fees(*[(*ACTIVATION, start, end) for start, end in versions])
    with pytest.raises(ValueError, match=r"one_time_fees\.csv:\d: fee ACT .* overlaps the version"):
        fee_versions(fees)


def test_the_same_dates_for_another_service_or_fee_do_not_overlap():
    fees = _fees(
        (*ACTIVATION, "2024-01-01", ""),
        (*ACTIVATION[:3], "broadband", *ACTIVATION[4:], "2024-01-01", ""),
        INSTALL_BB,
    )
    assert fee_versions(fees).height == 3


def test_a_missing_column_refuses_the_file():
    with pytest.raises(ValueError, match=r"one_time_fees\.csv: missing column\(s\) category"):
        fee_versions(_fees(ACTIVATION).drop("category"))


@pytest.mark.parametrize(
    ("order", "problem"),
    [
        (
            ("O9", "A1", "S-MOB", "activation", "P1", "2025-03-01", "", "completed"),
            "completed order 'O9' has no valid completed_date: ''",
        ),
        (
            ("O9", "A1", "S-MOB", "activation", "P1", "2025-03-01", "2025-3-xx", "completed"),
            "completed order 'O9' has no valid completed_date: '2025-3-xx'",
        ),
        (
            ("O9", "A1", "S-GONE", "activation", "P1", "2025-03-01", "2025-03-02", "completed"),
            "order 'O9': subscriber_id 'S-GONE' is not in subscribers.csv",
        ),
        (
            ("O9", "A2", "S-MOB", "activation", "P1", "2025-03-01", "2025-03-02", "completed"),
            "order 'O9': subscriber_id 'S-MOB' is on account 'A1', not 'A2'",
        ),
    ],
)
def test_a_completed_order_that_cannot_be_priced_refuses_the_run(order, problem):
    orders = [_order("O1", "S-MOB", "activation", "2025-03-03"), order]
    with pytest.raises(ValueError, match=r"crm_orders\.csv:3: " + re.escape(problem)):
        _bill(orders, _fees(ACTIVATION))


def test_an_unknown_line_outside_the_period_is_not_the_runs_concern():
    orders = [("O9", "A1", "S-GONE", "activation", "P1", "2025-01-01", "2025-01-02", "completed")]
    assert _bill(orders, _fees(ACTIVATION)) == []


def test_the_layout_run_reads_the_reference_files(tmp_path):
    layout = Layout(tmp_path)
    layout.reference.mkdir()
    _text(ORDER_COLUMNS, [_order("O1", "S-MOB", "activation", "2025-03-03")]).write_csv(
        layout.reference / "crm_orders.csv"
    )
    LINES.write_csv(layout.reference / "subscribers.csv")
    assert one_time_charges(layout, "2025-03").is_empty()  # no fee catalog: no fees

    _fees(ACTIVATION).write_csv(layout.reference / "one_time_fees.csv")
    charges = one_time_charges(layout, "2025-03")
    assert charges["charge_key"].to_list() == ["O1/ACT"]
    assert one_time_charges(layout, "2025-04").is_empty()


def test_the_generated_catalog_prices_each_activation():
    rows = one_time_fee_rows()
    assert all(tuple(row) == FEE_COLUMNS for row in rows)
    fees = _text(FEE_COLUMNS, [tuple(str(value) for value in row.values()) for row in rows])
    orders = [
        _order("O1", "S-MOB", "activation", "2025-03-03"),
        _order("O2", "S-BB", "activation", "2025-03-03"),
        _order("O3", "S-TV", "activation", "2025-03-03"),
        _order("O4", "S-VOIP", "activation", "2025-03-03"),
    ]
    assert [(key, amount) for key, *_, amount in _bill(orders, fees)] == [
        ("O1/ACTIVATION", 35_000_000),
        ("O2/INSTALLATION", 99_000_000),
        ("O3/INSTALLATION", 49_000_000),
        ("O4/INSTALLATION", 49_000_000),
    ]
