"""Device installments: hand-computed schedules (rounded down to the cent, the last carrying
the remainder), payoff on cancellation, agreements not started and finished, the receivable
the general ledger posts from, and every problem of the file refusing it by line."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import polars as pl
import pytest

from pipelines.billing.charges import CHARGE_SCHEMA
from pipelines.billing.installments import (
    AGREEMENT_COLUMNS,
    DEVICE_RECEIVABLE_SCHEMA,
    billed_installments,
    device_receivable,
    receivable_after_run,
)
from pipelines.config import Layout
from pipelines.generate.billing_refs import HANDSETS, device_installment_rows

IPHONE = "Apple iPhone 16 128GB"
#: $829.00 - $100.00 down = $729.00 over 24: 729.00 / 24 = 30.375, rounded down 30.37;
#: 23 x 30.37 = 698.51, so the last is 729.00 - 698.51 = 30.49.
FINANCED = 729_000_000
MONTHLY = 30_370_000
LAST = 30_490_000
ACCOUNTS = pl.DataFrame({"account_id": ["A1", "A2"]})


def _agreement(
    agreement_id: str = "D1",
    subscriber_id: str = "S1",
    *,
    account_id: str = "A1",
    device: str = IPHONE,
    price: str = "829000000",
    down: str = "100000000",
    count: str = "24",
    first: str = "2025-01",
) -> tuple[str, ...]:
    return (agreement_id, account_id, subscriber_id, device, price, down, count, first)


def _agreements(*rows: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict.fromkeys(AGREEMENT_COLUMNS, pl.String), orient="row")


def _lines(**cancelled: str) -> pl.DataFrame:
    """Lines S1..S3 on A1 and S9 on A2; ``cancelled`` gives a line's cancelled_date."""
    ids = ["S1", "S2", "S3", "S9"]
    return pl.DataFrame(
        {
            "subscriber_id": ids,
            "account_id": ["A1", "A1", "A1", "A2"],
            "cancelled_date": [cancelled.get(line, "") for line in ids],
        }
    )


def _run(period: str, *rows: tuple[str, ...], **cancelled: str) -> pl.DataFrame:
    receivable = receivable_after_run(
        _agreements(*rows or (_agreement(),)), _lines(**cancelled), ACCOUNTS, period
    )
    assert receivable.schema == DEVICE_RECEIVABLE_SCHEMA
    return receivable


def _state(period: str, *rows: tuple[str, ...], **cancelled: str) -> tuple:
    """(installment_number, billed, billed to date, remaining, recognised, status) of D1."""
    row = _run(period, *rows, **cancelled).row(0, named=True)
    return (
        row["installment_number"],
        row["billed_micros"],
        row["billed_to_date_micros"],
        row["remaining_balance_micros"],
        row["financed_recognised_micros"],
        row["agreement_status"],
    )


def _charges(period: str, *rows: tuple[str, ...], **cancelled: str) -> list[tuple]:
    charges = billed_installments(_run(period, *rows, **cancelled))
    assert charges.schema == CHARGE_SCHEMA
    return [
        (r["charge_key"], r["description"], r["quantity"], r["amount_micros"])
        for r in charges.iter_rows(named=True)
    ]


def test_the_schedule_rounds_down_and_the_last_installment_carries_the_remainder():
    assert _state("2024-12") == (None, 0, 0, FINANCED, 0, "not_started")
    assert _state("2025-01") == (1, MONTHLY, MONTHLY, FINANCED - MONTHLY, FINANCED, "active")
    # 3 x 30.37 = 91.11 billed, 729.00 - 91.11 = 637.89 left.
    assert _state("2025-03") == (3, MONTHLY, 91_110_000, 637_890_000, 0, "active")
    # 2026-11 is 22 months after 2025-01: installment 23; 698.51 billed, 30.49 left.
    assert _state("2026-11") == (23, MONTHLY, 698_510_000, LAST, 0, "active")
    assert _state("2026-12") == (24, LAST, FINANCED, 0, 0, "paid_off")
    assert _state("2027-01") == (None, 0, FINANCED, 0, 0, "paid_off")


def test_the_installments_sum_to_the_financed_amount_exactly():
    periods = [f"{2025 + m // 12}-{m % 12 + 1:02d}" for m in range(24)]
    billed = [_state(period)[1] for period in periods]
    assert sum(billed) == FINANCED
    assert billed.count(MONTHLY) == 23 and billed[-1] == LAST


@pytest.mark.parametrize(
    ("price", "down", "count", "monthly", "last"),
    [
        # 199.99 / 24 = 8.3329 -> 8.33; 23 x 8.33 = 191.59; last 199.99 - 191.59 = 8.40.
        ("199990000", "0", "24", 8_330_000, 8_400_000),
        # 100.00 / 36 = 2.777 -> 2.77; 35 x 2.77 = 96.95; last 3.05.
        ("150000000", "50000000", "36", 2_770_000, 3_050_000),
        # 720.00 / 24 = 30.00 exactly: the last is like the others.
        ("720000000", "0", "24", 30_000_000, 30_000_000),
        # One installment: all of it at once.
        ("799000000", "0", "1", 799_000_000, 799_000_000),
    ],
)
def test_first_and_last_installments(price, down, count, monthly, last):
    terms = _agreement(price=price, down=down, count=count, first="2025-01")
    last_period = f"{2025 + (int(count) - 1) // 12}-{(int(count) - 1) % 12 + 1:02d}"
    assert _state("2025-01", terms)[1] == monthly
    assert _state(last_period, terms)[1] == last


def test_a_run_bills_the_installment_as_an_equipment_sale():
    charges = billed_installments(_run("2025-03"))
    assert charges.row(0, named=True) == {
        "charge_source": "installment",
        "charge_key": "D1/3",
        "account_id": "A1",
        "subscriber_id": "S1",
        "plan_id": None,
        "category": "equipment_sale",
        "description": f"Device payment 3 of 24: {IPHONE}",
        "quantity": 1,
        "quantity_unit": "installment",
        "service_from": None,
        "service_to": None,
        "amount_micros": MONTHLY,
        "lines": 0,
        "minutes_micros": 0,
        "records": None,
    }


def test_a_cancelled_line_pays_the_balance_off_in_the_run_of_its_cancellation():
    # Installments 1 and 2 billed (60.74): 729.00 - 60.74 = 668.26 settles the 22 left.
    assert _charges("2025-02", S1="2025-03-10") == [
        ("D1/2", f"Device payment 2 of 24: {IPHONE}", 1, MONTHLY)
    ]
    assert _charges("2025-03", S1="2025-03-10") == [
        ("D1/payoff", f"Device payoff on cancellation: {IPHONE}", 22, 668_260_000)
    ]
    assert _state("2025-03", S1="2025-03-10") == (
        3,
        668_260_000,
        FINANCED,
        0,
        0,
        "paid_off_on_cancellation",
    )
    assert _state("2025-04", S1="2025-03-10") == (
        None,
        0,
        FINANCED,
        0,
        0,
        "paid_off_on_cancellation",
    )
    assert _charges("2025-04", S1="2025-03-10") == []


def test_a_cancellation_on_the_periods_last_day_pays_off_in_that_run():
    assert _charges("2025-03", S1="2025-03-31")[0][0] == "D1/payoff"
    assert _charges("2025-03", S1="2025-04-01") == [
        ("D1/3", f"Device payment 3 of 24: {IPHONE}", 1, MONTHLY)
    ]
    assert _charges("2025-04", S1="2025-04-01")[0][0] == "D1/payoff"


def test_a_line_cancelled_before_the_first_installment_pays_everything_on_that_run():
    terms = _agreement(first="2025-05")
    assert _state("2025-04", terms, S1="2025-03-10")[-1] == "not_started"
    assert _state("2025-05", terms, S1="2025-03-10") == (
        1,
        FINANCED,
        FINANCED,
        0,
        FINANCED,  # the sale is recognised on the run of installment 1, payoff or not
        "paid_off_on_cancellation",
    )
    assert _charges("2025-05", terms, S1="2025-03-10") == [
        ("D1/payoff", f"Device payoff on cancellation: {IPHONE}", 24, FINANCED)
    ]


def test_a_cancellation_in_the_month_of_the_last_installment_pays_off_that_installment():
    assert _charges("2026-12", S1="2026-12-05") == [
        ("D1/payoff", f"Device payoff on cancellation: {IPHONE}", 1, LAST)
    ]


def test_a_cancellation_after_the_last_installment_bills_nothing():
    assert _state("2027-01", S1="2027-01-05") == (None, 0, FINANCED, 0, 0, "paid_off")
    assert _charges("2027-01", S1="2027-01-05") == []


def test_an_agreement_financing_nothing_bills_no_line():
    terms = _agreement(price="829000000", down="829000000")
    assert _state("2025-01", terms)[1:4] == (0, 0, 0)
    assert _charges("2025-01", terms) == []


def test_each_agreement_is_billed_on_its_own_schedule():
    rows = (
        _agreement("D1", "S1", first="2025-03"),
        _agreement("D2", "S2", first="2024-12", device="Google Pixel 9", price="799000000"),
        _agreement("D3", "S9", account_id="A2", first="2025-04"),
    )
    # D2: 799.00 - 100.00 = 699.00 / 24 = 29.125 -> 29.12.
    assert _charges("2025-03", *rows) == [
        ("D1/1", f"Device payment 1 of 24: {IPHONE}", 1, MONTHLY),
        ("D2/4", "Device payment 4 of 24: Google Pixel 9", 1, 29_120_000),
    ]
    receivable = _run("2025-03", *rows)
    assert receivable["agreement_status"].to_list() == ["active", "active", "not_started"]
    assert receivable["financed_recognised_micros"].to_list() == [FINANCED, 0, 0]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (_agreement(account_id="A7"), "account_id 'A7' is not in accounts.csv"),
        (_agreement(subscriber_id="S7"), "subscriber_id 'S7' is not in subscribers.csv"),
        (_agreement(subscriber_id="S9"), "subscriber_id 'S9' is on account 'A2', not 'A1'"),
        (_agreement(down="900000000"), "device_price_micros is below down_payment_micros"),
        (_agreement(price="829000001"), "device_price_micros 829000001 is not whole cents"),
        (_agreement(down="100005000"), "down_payment_micros 100005000 is not whole cents"),
        (_agreement(price="829.00"), "device_price_micros '829.00' is not a whole number"),
        (_agreement(down=""), "down_payment_micros '' is not a whole number"),
        (_agreement(down="-100000000"), "down_payment_micros -100000000 is negative"),
        (_agreement(count="0"), "installment_count '0' is not a whole number >= 1"),
        (_agreement(count="two"), "installment_count 'two' is not a whole number >= 1"),
        (_agreement(first="2025-13"), "first_billing_period '2025-13' is not YYYY-MM"),
        (_agreement(first="202501"), "first_billing_period '202501' is not YYYY-MM"),
        (_agreement(device=""), "device_name is empty"),
        (_agreement(""), "agreement_id is empty"),
    ],
)
def test_a_bad_agreement_refuses_the_file_naming_its_line(row, problem):
    rows = _agreements(_agreement("D0", "S2"), row)
    with pytest.raises(ValueError, match=r"device_installments\.csv:3: " + re.escape(problem)):
        receivable_after_run(rows, _lines(), ACCOUNTS, "2025-03")


def test_a_repeated_agreement_id_names_every_line_it_is_on():
    rows = _agreements(_agreement("D1", "S1"), _agreement("D2", "S2"), _agreement("D1", "S3"))
    with pytest.raises(ValueError) as refused:
        receivable_after_run(rows, _lines(), ACCOUNTS, "2025-03")
    assert str(refused.value) == (
        "device_installments.csv:2: agreement_id 'D1' repeats; "
        "device_installments.csv:4: agreement_id 'D1' repeats"
    )


def test_a_line_whose_cancelled_date_is_not_a_date_refuses_its_agreements():
    with pytest.raises(ValueError, match=r"csv:2: the line's cancelled_date 'soon' is not a date"):
        _run("2025-03", S1="soon")


def test_a_missing_column_refuses_the_file():
    rows = _agreements(_agreement()).drop("first_billing_period")
    with pytest.raises(ValueError, match="missing column\\(s\\) first_billing_period"):
        receivable_after_run(rows, _lines(), ACCOUNTS, "2025-03")


def test_the_layout_run_reads_the_reference_files(tmp_path):
    layout = Layout(tmp_path)
    layout.reference.mkdir()
    _lines(S1="2025-03-10").write_csv(layout.reference / "subscribers.csv")
    ACCOUNTS.write_csv(layout.reference / "accounts.csv")
    assert device_receivable(layout, "2025-03").is_empty()  # no agreements file
    assert billed_installments(device_receivable(layout, "2025-03")).is_empty()

    _agreements(_agreement("D1", "S1"), _agreement("D2", "S2")).write_csv(
        layout.reference / "device_installments.csv"
    )
    charges = billed_installments(device_receivable(layout, "2025-03"))
    assert charges["charge_key"].to_list() == ["D1/payoff", "D2/3"]
    assert device_receivable(layout, "2025-03")["agreement_status"].to_list() == [
        "paid_off_on_cancellation",
        "active",
    ]


def _generated_lines() -> list[tuple[str, str, date, date | None]]:
    """400 mobile lines: 4 activated in March 2025, 3 cancelled in it, the rest older."""
    lines: list[tuple[str, str, date, date | None]] = [
        (f"S{n:04d}", f"A{n // 3:04d}", date(2022 + n % 3, n % 12 + 1, 5), None) for n in range(393)
    ]
    lines += [(f"S9{n:03d}", "A9000", date(2025, 3, 2 + n), None) for n in range(4)]
    lines += [(f"S8{n:03d}", "A8000", date(2023, 6, 1), date(2025, 3, 20)) for n in range(3)]
    return lines


def _bill_generated(lines, rows: list[dict[str, object]], period: str) -> pl.DataFrame:
    text = pl.DataFrame(
        [{key: str(value) for key, value in row.items()} for row in rows],
        schema=dict.fromkeys(AGREEMENT_COLUMNS, pl.String),
    )
    subscribers = pl.DataFrame(
        {
            "subscriber_id": [line[0] for line in lines],
            "account_id": [line[1] for line in lines],
            "cancelled_date": [line[3].isoformat() if line[3] else "" for line in lines],
        }
    )
    accounts = subscribers.select("account_id").unique()
    return receivable_after_run(text, subscribers, accounts, period)


def test_generated_agreements_are_valid_and_reach_every_stage():
    lines = _generated_lines()
    rows = device_installment_rows(np.random.default_rng(7), lines, "2025-03")
    assert rows == device_installment_rows(np.random.default_rng(7), lines, "2025-03")
    assert all(tuple(row) == AGREEMENT_COLUMNS for row in rows)
    assert 0.10 <= len(rows) / len(lines) <= 0.20
    assert {(row["device_name"], row["device_price_micros"]) for row in rows} <= set(HANDSETS)
    assert all(row["installment_count"] in (24, 36) for row in rows)
    assert all(int(str(row["down_payment_micros"])) % 10_000_000 == 0 for row in rows)

    receivable = _bill_generated(lines, rows, "2025-03")
    statuses = set(receivable["agreement_status"])
    assert {"active", "paid_off", "paid_off_on_cancellation"} <= statuses
    started = receivable.filter(pl.col("installment_number") == 1)["subscriber_id"]
    assert any(subscriber.startswith("S9") for subscriber in started)
    charges = billed_installments(receivable)
    assert charges.filter(pl.col("charge_key").str.ends_with("/payoff")).height >= 1
    activated = {row["subscriber_id"]: row["first_billing_period"] for row in rows}
    assert all(activated[f"S9{n:03d}"] == "2025-03" for n in range(4) if f"S9{n:03d}" in activated)


def test_without_a_new_line_an_agreement_still_starts_in_the_month():
    lines = [line for line in _generated_lines() if not line[0].startswith("S9")]
    rows = device_installment_rows(np.random.default_rng(11), lines, "2025-03")
    assert "2025-03" in {row["first_billing_period"] for row in rows}
    receivable = _bill_generated(lines, rows, "2025-03")
    assert receivable.filter(pl.col("financed_recognised_micros") > 0).height >= 1
