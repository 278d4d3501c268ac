"""Suspense -> fix reference data -> recycle, on the tiny operator of tiny_rating_lake.

The operator starts without subscriber S2 and without the France rates, so u2 (S2's
number) and u3 (a call to France) are suspended; the others rate as the hand-worked
charges below say.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rating_bucket_files import period_part_files
from tiny_rating_lake import (
    FRANCE_RATES,
    PERIOD,
    REFERENCE,
    SUBSCRIBER_S2,
    US_PEAK_RATE,
    build_operator,
    read_rows,
    without,
)

from pipelines.config import Layout
from pipelines.rating.buckets import read_period_table
from pipelines.rating.rerate import PeriodStateError, close_period
from pipelines.rating.stage import rate_period
from pipelines.rating.suspense import read_suspense, recycle_period

UNFIXED = without(
    without(REFERENCE, "subscribers.csv", SUBSCRIBER_S2), "rate_deck.csv", FRANCE_RATES
)
SECOND_ATTEMPT = datetime(2024, 8, 5, 9, 0, tzinfo=UTC)
THIRD_ATTEMPT = datetime(2024, 8, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    data = build_operator(tmp_path, UNFIXED)
    rate_period(data, PERIOD)
    return data


def fix(data: Layout, name: str) -> None:
    (data.reference / name).write_text(REFERENCE[name])


def partition_bytes(data: Layout) -> list[bytes]:
    return [
        path.read_bytes()
        for table in ("rated_usage", "rating_suspense")
        for path in period_part_files(data, table, PERIOD)
    ]


def charges(data: Layout) -> dict[str, tuple]:
    return {
        usage_id: (row["rating_status"], row["suspense_reason"], row["charge_micros"])
        for usage_id, row in read_rows(data, "rated_usage").items()
    }


def suspense_rows(data: Layout) -> dict[str, dict]:
    return {row["usage_id"]: row for row in read_suspense(data, PERIOD).to_dicts()}


def test_unrateable_records_wait_in_suspense_with_their_reason(layout):
    # u1: 90 s -> 120 s, 60 s of S1's allowance, 60 s x 60_000/60 = 60_000.
    # u4: UK 31 s at 30/6 -> 36 s, 100_000 + 36 x 1_200_000/60 = 820_000.
    # u5: UK 30 s -> 30 s, 100_000 + 30 x 1_200_000/60 = 700_000.
    assert charges(layout) == {
        "u1": ("rated", None, 60_000),
        "u2": ("suspense", "unknown_subscriber", 0),
        "u3": ("suspense", "no_rate_for_destination", 0),
        "u4": ("rated", None, 820_000),
        "u5": ("rated", None, 700_000),
    }
    rows = suspense_rows(layout)
    assert sorted(rows) == ["u2", "u3"]
    waiting = {
        usage_id: (
            row["suspense_reason"],
            row["suspense_state"],
            row["attempts"],
            row["subscriber_id"],
            row["event_date"].isoformat(),
        )
        for usage_id, row in rows.items()
    }
    assert waiting == {
        "u2": ("unknown_subscriber", "open", 1, None, "2024-07-03"),
        "u3": ("no_rate_for_destination", "open", 1, "S1", "2024-07-03"),
    }
    assert all(row["first_suspended_at"] == row["last_attempt_at"] for row in rows.values())


def test_rating_again_keeps_the_suspense_history_byte_for_byte(layout):
    before = partition_bytes(layout)
    rate_period(layout, PERIOD)
    assert partition_bytes(layout) == before


def test_fix_reference_data_then_recycle_prices_each_record_once(layout):
    fix(layout, "subscribers.csv")
    fix(layout, "rate_deck.csv")
    result = recycle_period(layout, PERIOD, at=SECOND_ATTEMPT)
    # u2, now S2 on P2 (nothing included): 45 s -> 60 s x 60_000/60 = 60_000.
    # u3 to France, in bundle, 61 s -> 120 s: u1, a day earlier, drew S1's 60 s, so
    # the recycled call gets none: 120 s x 120_000/60 = 240_000.
    assert charges(layout) == {
        "u1": ("rated", None, 60_000),
        "u2": ("rated", None, 60_000),
        "u3": ("rated", None, 240_000),
        "u4": ("rated", None, 820_000),
        "u5": ("rated", None, 700_000),
    }
    rated = read_rows(layout, "rated_usage")
    assert (rated["u1"]["allowance_units"], rated["u3"]["allowance_units"]) == (60, 0)
    # Each names what priced it: plan, band, rate and the catalog (deck) version.
    assert [(rated[u]["plan_id"], rated[u]["time_band"]) for u in ("u2", "u3")] == [
        ("P2", "peak"),
        ("P1", "peak"),
    ]
    for u in ("u2", "u3"):
        assert rated[u]["rate_id"] and rated[u]["tariff_version"]
        # The fixed deck is a new catalog version; u1 keeps the one that priced it.
        assert rated[u]["catalog_version"] != rated["u1"]["catalog_version"]
    assert (rated["u2"]["account_id"], rated["u3"]["destination_prefix"]) == ("A2", "33")

    assert (result.attempted, result.recycled, result.still_open) == (2, 2, 0)
    assert result.recycled_by_reason == {"no_rate_for_destination": 1, "unknown_subscriber": 1}
    assert result.recycled_charge_micros == 300_000
    rows = suspense_rows(layout)
    assert {
        usage_id: (
            row["suspense_state"],
            row["suspense_reason"],
            row["attempts"],
            row["resolved_status"],
            row["resolved_charge_micros"],
        )
        for usage_id, row in rows.items()
    } == {
        "u2": ("recycled", "unknown_subscriber", 2, "rated", 60_000),
        "u3": ("recycled", "no_rate_for_destination", 2, "rated", 240_000),
    }
    assert {(row["resolved_at"], row["resolved_run_id"]) for row in rows.values()} == {
        (SECOND_ATTEMPT, result.recycle_run_id)
    }

    # A second recycle finds nothing to do and writes nothing.
    before = partition_bytes(layout)
    again = recycle_period(layout, PERIOD, at=THIRD_ATTEMPT)
    assert (again.open_before, again.attempted, again.recycled) == (0, 0, 0)
    assert partition_bytes(layout) == before
    assert sorted(read_rows(layout, "rated_usage")) == ["u1", "u2", "u3", "u4", "u5"]
    assert read_period_table(layout, "rated_usage", PERIOD).num_rows == 5


def test_a_record_still_unrateable_stays_open_one_attempt_more(layout):
    suspended_at = suspense_rows(layout)["u3"]["first_suspended_at"]
    fix(layout, "subscribers.csv")
    first = recycle_period(layout, PERIOD, at=SECOND_ATTEMPT)
    assert (first.attempted, first.recycled, first.still_open) == (2, 1, 1)
    assert first.still_open_by_reason == {"no_rate_for_destination": 1}
    u3 = suspense_rows(layout)["u3"]
    assert (u3["suspense_state"], u3["attempts"], u3["last_attempt_at"]) == (
        "open",
        2,
        SECOND_ATTEMPT,
    )
    assert u3["first_suspended_at"] == suspended_at

    # Same reference data: the open record would fail the same way, so it is not tried.
    before = partition_bytes(layout)
    unchanged = recycle_period(layout, PERIOD, at=THIRD_ATTEMPT)
    assert (unchanged.unchanged_reference, unchanged.attempted) == (1, 0)
    assert partition_bytes(layout) == before

    fix(layout, "rate_deck.csv")
    last = recycle_period(layout, PERIOD, at=THIRD_ATTEMPT)
    assert (last.recycled, last.still_open, last.recycled_charge_micros) == (1, 0, 240_000)
    u3 = suspense_rows(layout)["u3"]
    assert (u3["suspense_state"], u3["attempts"]) == ("recycled", 3)
    assert charges(layout)["u2"] == ("rated", None, 60_000)


def test_rating_an_open_period_again_closes_its_suspense_as_rated(layout):
    fix(layout, "subscribers.csv")
    rate_period(layout, PERIOD)
    rows = suspense_rows(layout)
    assert (rows["u2"]["suspense_state"], rows["u2"]["resolved_status"]) == ("rated", "rated")
    assert (rows["u3"]["suspense_state"], rows["u3"]["attempts"]) == ("open", 2)


def test_a_closed_period_is_recycled_but_not_rated_again(layout):
    close_period(layout, PERIOD, by="finance", reason="July invoices issued")
    with pytest.raises(PeriodStateError, match="closed"):
        rate_period(layout, PERIOD)
    fix(layout, "subscribers.csv")
    result = recycle_period(layout, PERIOD, at=SECOND_ATTEMPT)
    assert result.recycled == 1
    assert charges(layout)["u2"] == ("rated", None, 60_000)
    # The priced records are untouched.
    assert charges(layout)["u4"] == ("rated", None, 820_000)


US_OFFPEAK_RATE = "D1,voice,1,United States,domestic,offpeak,0,30000,60,60,60,true,2024-01-01\n"


def test_a_recycled_record_that_would_take_a_priced_records_allowance_waits_for_a_full_rating(
    tmp_path,
):
    # Without the US rates (both: with the peak one alone missing, the calls are priced at
    # the off-peak rate), u1 (S1, Tue 07-02 peak, US) and u2 (S2, Wed 07-03 peak, US) wait as
    # no_rate_for_destination; u3 (S1, Wed 07-03 16:00, France, in bundle), a day after u1,
    # is priced and draws all of S1's 60 s (P1).
    us_rates = US_PEAK_RATE + US_OFFPEAK_RATE
    data = build_operator(tmp_path, without(REFERENCE, "rate_deck.csv", us_rates))
    rate_period(data, PERIOD)
    # u3: 61 s -> 120 s, 60 s from the allowance, 60 s x 120_000/60 = 120_000.
    # u4: UK, not in bundle, 100_000 + 36 s x 1_200_000/60 = 820_000; u5: 700_000.
    assert charges(data) == {
        "u1": ("suspense", "no_rate_for_destination", 0),
        "u2": ("suspense", "no_rate_for_destination", 0),
        "u3": ("rated", None, 120_000),
        "u4": ("rated", None, 820_000),
        "u5": ("rated", None, 700_000),
    }
    assert read_rows(data, "rated_usage")["u3"]["allowance_units"] == 60
    rated_before = read_rows(data, "rated_usage")
    u1_waiting = suspense_rows(data)["u1"]
    assert (u1_waiting["suspense_state"], u1_waiting["attempts"]) == ("open", 1)

    fix(data, "rate_deck.csv")
    result = recycle_period(data, PERIOD, at=SECOND_ATTEMPT)
    # Rated in event order with u3, u1 would take S1's 60 s and leave u3, already priced
    # at 120_000, with none: u1 is not recycled. u2 (S2, A2, P2: nothing included, no
    # priced record in A2) is: 45 s -> 60 s x 60_000/60 = 60_000.
    assert (
        result.open_before,
        result.unchanged_reference,
        result.attempted,
        result.awaiting_full_rating,
        result.recycled,
        result.recycled_charge_micros,
        result.still_open,
    ) == (2, 0, 2, 1, 1, 60_000, 1)
    assert result.recycled_by_reason == {"no_rate_for_destination": 1}
    assert result.still_open_by_reason == {"no_rate_for_destination": 1}
    rated = read_rows(data, "rated_usage")
    # u1 keeps its suspense row; the priced records keep theirs, column for column.
    for usage_id in ("u1", "u3", "u4", "u5"):
        assert rated[usage_id] == rated_before[usage_id]
    assert charges(data)["u2"] == ("rated", None, 60_000)
    # u1 stays open, its attempt not counted: its suspense row is as the rating left it
    # (attempts 1, last attempt and reference checksum of the first rating).
    rows = suspense_rows(data)
    assert rows["u1"] == u1_waiting
    assert (rows["u2"]["suspense_state"], rows["u2"]["attempts"]) == ("recycled", 2)

    # Recycling again (same reference data): u1's uncounted attempt left its reference
    # checksum behind, so it is tried again, waits again, and nothing new is written.
    before = partition_bytes(data)
    again = recycle_period(data, PERIOD, at=THIRD_ATTEMPT)
    assert (
        again.open_before,
        again.unchanged_reference,
        again.attempted,
        again.awaiting_full_rating,
        again.recycled,
    ) == (1, 0, 1, 1, 0)
    assert partition_bytes(data) == before

    # A full rating of the open period redraws S1's allowance in event order:
    # u1: 90 s -> 120 s, S1's 60 s, 60 s x 60_000/60 = 60_000;
    # u3: 120 s, nothing left, 120 s x 120_000/60 = 240_000.
    rate_period(data, PERIOD)
    assert charges(data) == {
        "u1": ("rated", None, 60_000),
        "u2": ("rated", None, 60_000),
        "u3": ("rated", None, 240_000),
        "u4": ("rated", None, 820_000),
        "u5": ("rated", None, 700_000),
    }
    rated = read_rows(data, "rated_usage")
    assert (rated["u1"]["allowance_units"], rated["u3"]["allowance_units"]) == (60, 0)
    u1 = suspense_rows(data)["u1"]
    assert (
        u1["suspense_state"],
        u1["attempts"],
        u1["resolved_status"],
        u1["resolved_charge_micros"],
    ) == ("rated", 2, "rated", 60_000)
    assert u1["first_suspended_at"] == u1_waiting["first_suspended_at"]
