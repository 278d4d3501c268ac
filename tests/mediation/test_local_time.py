from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from pipelines.mediation.local_time import CallTimes, best_call_times, local_instants
from pipelines.mediation.text_records import RowError
from pipelines.schema import RejectReason

# Hand-computed: in 2024 Chicago springs forward on 10 March (02:00 CST -> 03:00 CDT, so
# 02:00-02:59:59 does not exist) and falls back on 3 November (02:00 CDT -> 01:00 CST, so
# 01:00-01:59:59 happens twice: first as CDT, UTC-5, then as CST, UTC-6).
CHICAGO = ZoneInfo("America/Chicago")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def instants(value: str) -> list[datetime]:
    return local_instants("start", value, CHICAGO)


def times(start: str, answer: str, end: str, duration: int, billsec: int) -> CallTimes:
    def readings(value: str) -> Sequence[datetime]:
        return instants(value) if value else []

    return best_call_times(
        readings(start), readings(answer), readings(end), duration, billsec, (start, answer, end)
    )


def rejection(error: pytest.ExceptionInfo[RowError]) -> tuple[RejectReason, str]:
    return error.value.reason, error.value.detail


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-07-01 12:00:00", ["2024-07-01 17:00:00"]),  # CDT, UTC-5
        ("2024-01-15 12:00:00", ["2024-01-15 18:00:00"]),  # CST, UTC-6
        ("2024-11-03 00:59:59", ["2024-11-03 05:59:59"]),  # the last second before the repeat
        ("2024-11-03 01:00:00", ["2024-11-03 06:00:00", "2024-11-03 07:00:00"]),
        ("2024-11-03 01:30:00", ["2024-11-03 06:30:00", "2024-11-03 07:30:00"]),
        ("2024-11-03 01:59:59", ["2024-11-03 06:59:59", "2024-11-03 07:59:59"]),
        ("2024-11-03 02:00:00", ["2024-11-03 08:00:00"]),  # CST only
        ("2024-03-10 01:59:59", ["2024-03-10 07:59:59"]),  # the last CST second
        ("2024-03-10 03:00:00", ["2024-03-10 08:00:00"]),  # the first CDT second
    ],
)
def test_local_instants_are_utc_with_both_fall_back_readings_earlier_first(
    value: str, expected: list[str]
) -> None:
    assert instants(value) == [utc(text) for text in expected]


@pytest.mark.parametrize("value", ["2024-03-10 02:00:00", "2024-03-10 02:30:00"])
def test_a_wall_time_skipped_at_spring_forward_is_an_invalid_timestamp(value: str) -> None:
    with pytest.raises(RowError) as raised:
        local_instants("answer", value, CHICAGO)

    assert rejection(raised) == (
        RejectReason.INVALID_TIMESTAMP,
        f"answer {value} does not exist in America/Chicago (skipped by a DST change)",
    )


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("2024-07-01T12:00:00", "start '2024-07-01T12:00:00': not YYYY-MM-DD HH:MM:SS"),
        ("2024-7-01 12:00:00", "start '2024-7-01 12:00:00': not YYYY-MM-DD HH:MM:SS"),
        ("", "start '': not YYYY-MM-DD HH:MM:SS"),
        ("2024-02-30 00:00:00", "start '2024-02-30 00:00:00': day is out of range for month"),
        # Chicago is behind UTC, so this wall time is in year 10000 in UTC.
        ("9999-12-31 23:00:00", "start 9999-12-31 23:00:00: date value out of range"),
    ],
)
def test_a_value_that_is_no_local_time_is_an_invalid_timestamp(value: str, detail: str) -> None:
    with pytest.raises(RowError) as raised:
        instants(value)

    assert rejection(raised) == (RejectReason.INVALID_TIMESTAMP, detail)


def test_an_unambiguous_call_keeps_its_only_reading() -> None:
    assert times("2024-07-01 12:00:00", "2024-07-01 12:00:05", "2024-07-01 12:01:05", 65, 60) == (
        utc("2024-07-01 17:00:00"),
        utc("2024-07-01 17:00:05"),
        utc("2024-07-01 17:01:05"),
    )


def test_a_call_across_fall_back_takes_the_readings_its_durations_confirm() -> None:
    # 01:50:00 CDT = 06:50Z to 01:10:10 CST = 07:10:10Z is 1210 s, as duration says; every
    # other combination in order is an hour off.
    assert times(
        "2024-11-03 01:50:00", "2024-11-03 01:50:10", "2024-11-03 01:10:10", 1210, 1200
    ) == (
        utc("2024-11-03 06:50:00"),
        utc("2024-11-03 06:50:10"),
        utc("2024-11-03 07:10:10"),
    )


def test_duration_can_pick_the_later_standard_time_reading() -> None:
    # End 02:00 CST = 08:00Z; a start at 01:30 CST (07:30Z) gives the 1800 s the row says,
    # 01:30 CDT (06:30Z) would give 5400 s. Unanswered: no answer, billsec 0.
    assert times("2024-11-03 01:30:00", "", "2024-11-03 02:00:00", 1800, 0) == (
        utc("2024-11-03 07:30:00"),
        None,
        utc("2024-11-03 08:00:00"),
    )


def test_a_call_wholly_in_the_repeated_hour_takes_the_earlier_daylight_reading() -> None:
    # CDT throughout (06:10Z ...) and CST throughout (07:10Z ...) both match exactly.
    assert times("2024-11-03 01:10:00", "2024-11-03 01:10:10", "2024-11-03 01:20:10", 610, 600) == (
        utc("2024-11-03 06:10:00"),
        utc("2024-11-03 06:10:10"),
        utc("2024-11-03 06:20:10"),
    )


@pytest.mark.parametrize(
    ("start", "answer", "end", "shown_answer"),
    [
        ("2024-07-01 12:01:00", "", "2024-07-01 12:00:00", "-"),
        (
            "2024-07-01 12:00:00",
            "2024-07-01 12:05:00",
            "2024-07-01 12:01:00",
            "2024-07-01 12:05:00",
        ),
        (
            "2024-07-01 12:00:00",
            "2024-07-01 11:59:00",
            "2024-07-01 12:01:00",
            "2024-07-01 11:59:00",
        ),
    ],
)
def test_times_in_no_possible_order_are_an_invalid_timestamp(
    start: str, answer: str, end: str, shown_answer: str
) -> None:
    with pytest.raises(RowError) as raised:
        times(start, answer, end, 60, 0)

    assert rejection(raised) == (
        RejectReason.INVALID_TIMESTAMP,
        f"times out of order: start {start}, answer {shown_answer}, end {end}",
    )
