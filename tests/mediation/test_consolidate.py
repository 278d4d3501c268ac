"""Records repeated across days and partial-record correlation, on hand-built usage rows.

Every expectation below is worked out by hand from the rows the test writes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pytest
from mobile_cdrs import mobile_cdr
from usage_lake import period_billable_usage, write_usage

from pipelines import lake
from pipelines.config import Layout
from pipelines.formats import ts32298
from pipelines.mediation.consolidate import consolidate_period
from pipelines.mediation.line_buckets import LINE_BUCKETS, line_bucket_of
from pipelines.mediation.records import FileContext, ParsedRecord
from pipelines.mediation.repeats import REPEAT_COLUMNS, find_repeats
from pipelines.mediation.sessions import correlate
from pipelines.mediation.ts32298_ber import parse_file
from pipelines.schema import USAGE_SCHEMA

FEED = "ts32298_ber"
CHICAGO = ZoneInfo("America/Chicago")
T0 = datetime(2026, 10, 14, 15, 0, tzinfo=UTC)  # 10:00 in Chicago


def usage_row(usage_id: str, file_date: date, started_at: datetime, **values: object) -> dict:
    row: dict[str, object] = dict.fromkeys(USAGE_SCHEMA.names)
    row.update(
        usage_id=usage_id,
        file_id=usage_id.ljust(64, "0"),
        file_name=f"MSC1_{file_date:%Y%m%d}00_{usage_id}.ber",
        record_number=1,
        feed=FEED,
        switch_id="msc-1",
        file_date=file_date,
        event_date=started_at.astimezone(CHICAGO).date(),
        record_key=usage_id,
        record_type="voice_mo",
        service="voice",
        direction="outbound",
        served_msisdn="13125550123",
        other_party_number="13125550199",
        started_at=started_at,
        answered_at=started_at,
        ended_at=started_at + timedelta(seconds=60),
        duration_seconds=60,
        uplink_bytes=0,
        downlink_bytes=0,
        data_volume_bytes=0,
        is_answered=True,
    )
    row.update(values)
    return row


def partial(
    usage_id: str, sequence: int, hour: int, last: bool, file_date: date | None = None
) -> dict:
    """One hourly PGW partial of session 10.0.0.1-77: hour ``hour`` after T0, 1000 bytes
    up and 9000 down, in a file of its own day unless ``file_date`` says otherwise."""
    started = T0 + timedelta(hours=hour)
    return usage_row(
        usage_id,
        file_date or started.astimezone(CHICAGO).date(),
        started,
        **{
            "record_key": f"10.0.0.1-77-{sequence}",
            "record_type": "data",
            "service": "data",
            "direction": "none",
            "other_party_number": None,
            "answered_at": None,
            "ended_at": started + timedelta(hours=1),
            "duration_seconds": 3600,
            "uplink_bytes": 1000,
            "downlink_bytes": 9000,
            "data_volume_bytes": 10000,
            "release_cause": "normalRelease" if last else "timeLimit",
            "session_key": "10.0.0.1-77",
            "partial_sequence": sequence,
            "is_last_partial": last,
        },
    )


def frame(rows: list[dict]) -> pl.DataFrame:
    data = pl.from_arrow(pa.Table.from_pylist(rows, schema=USAGE_SCHEMA))
    assert isinstance(data, pl.DataFrame)
    return data


# --- repeats -------------------------------------------------------------------------


def test_a_record_delivered_again_within_the_window_repeats_the_first() -> None:
    day = date(2026, 10, 14)
    rows = [
        usage_row("a", day, T0, record_key="k"),
        usage_row("b", day + timedelta(days=3), T0, record_key="k"),  # 3 days later
        usage_row("c", day + timedelta(days=11), T0, record_key="k"),  # 11 days: new
        usage_row("d", day + timedelta(days=12), T0, record_key="k"),  # 1 day after c
        usage_row("e", day + timedelta(days=1), T0, record_key="k", switch_id="msc-2"),
        usage_row("f", day, T0, record_key="other"),
    ]
    repeats = find_repeats(frame(rows), window_days=7)
    assert sorted(repeats.select("usage_id", "repeat_of_usage_id").iter_rows()) == [
        ("b", "a"),
        ("d", "c"),
    ]
    assert repeats.filter(pl.col("usage_id") == "b")["original_file_date"].item() == day


def test_a_key_delivered_again_for_another_line_is_no_repeat() -> None:
    day = date(2026, 10, 14)
    # Two lines of one line bucket: consolidation reads them together.
    rows = [
        usage_row("a", day, T0, record_key="k", served_msisdn="13125550105"),
        usage_row("b", day + timedelta(days=1), T0, record_key="k", served_msisdn="13125550132"),
        usage_row("c", day + timedelta(days=2), T0, record_key="k", served_msisdn="13125550105"),
    ]
    repeats = find_repeats(frame(rows), window_days=7)
    assert repeats.select("usage_id", "repeat_of_usage_id").rows() == [("c", "a")]
    assert repeats.columns == [*REPEAT_COLUMNS, "repeat_of_usage_id", "original_file_date"]


def test_the_window_is_configurable() -> None:
    day = date(2026, 10, 14)
    rows = [
        usage_row("a", day, T0, record_key="k"),
        usage_row("b", day + timedelta(days=3), T0, record_key="k"),
    ]
    assert find_repeats(frame(rows), window_days=2).height == 0
    assert find_repeats(frame(rows), window_days=3)["usage_id"].to_list() == ["b"]


# --- correlation ---------------------------------------------------------------------


def test_partials_one_to_n_ending_the_session_join_into_one_complete_session() -> None:
    rows = [partial("p3", 3, 2, True), partial("p1", 1, 0, False), partial("p2", 2, 1, False)]
    (session,) = correlate(frame(rows), T0 + timedelta(hours=3), timedelta(hours=24)).to_dicts()
    assert session["correlation_status"] == "complete"
    assert session["usage_id"] == "session:msc-1:10.0.0.1-77"
    assert session["partial_usage_ids"] == ["p1", "p2", "p3"]
    assert (session["partials"], session["missing_partials"]) == (3, 0)
    assert session["started_at"] == T0
    assert session["ended_at"] == T0 + timedelta(hours=3)
    assert session["duration_seconds"] == 3 * 3600
    assert (session["uplink_bytes"], session["downlink_bytes"]) == (3000, 27000)
    assert session["data_volume_bytes"] == 30000
    assert session["release_cause"] == "normalRelease"
    assert session["file_name"] == rows[1]["file_name"]  # traced to its first partial
    assert session["billing_period"] == "2026-10"


def test_msc_call_partials_parsed_from_ber_join_into_one_complete_call() -> None:
    # An answered MO call of 125 + 600 + 300 s in three MSC partial records; only the
    # first carries answerTime (its callDuration counts from the answer: 120 s).
    cut1, cut2, end = (T0 + timedelta(seconds=s) for s in (125, 725, 1025))
    cdrs = [
        mobile_cdr(
            "voice_mo",
            started_at=T0,
            answered_at=T0 + timedelta(seconds=5),
            ended_at=cut1,
            record_sequence_number=1,
            release_cause="partialRecord",
        ),
        mobile_cdr(
            "voice_mo",
            started_at=cut1,
            answered_at=None,
            ended_at=cut2,
            record_sequence_number=2,
            release_cause="partialRecordCallReestablishment",
        ),
        mobile_cdr(
            "voice_mo",
            started_at=cut2,
            answered_at=None,
            ended_at=end,
            record_sequence_number=3,
            release_cause="normalRelease",
        ),
    ]
    data = ts32298.encode_cdr_file(
        cdrs,
        node_address="10.1.2.3",
        file_sequence_number=1,
        opened_at=T0,
        closed_at=end,
        utc_offset_minutes=-300,
        recording_entity="13125550000",
        service_centre="13125550001",
    )
    parsed = list(parse_file(data, FileContext("MSC1.ber", "msc-1", "America/Chicago")))
    assert all(isinstance(item, ParsedRecord) for item in parsed)
    day = date(2026, 10, 14)
    rows = [
        {
            **usage_row(f"c{item.record_number}", day, T0, record_number=item.record_number),
            **item.values,
        }
        for item in parsed
        if isinstance(item, ParsedRecord)
    ]
    (session,) = correlate(frame(rows), end, timedelta(hours=24)).to_dicts()
    assert session["correlation_status"] == "complete"
    assert session["usage_id"] == "session:msc-1:13125550000-1000"
    assert (session["partials"], session["missing_partials"]) == (3, 0)
    assert session["duration_seconds"] == 120 + 600 + 300
    assert (session["started_at"], session["ended_at"]) == (T0, end)
    assert session["answered_at"] == T0 + timedelta(seconds=5)  # the first partial's
    assert session["is_answered"] is True
    assert session["release_cause"] == "normalRelease"  # the last partial's


@pytest.mark.parametrize(
    ("hours_since_last", "status"),
    [(23, "held"), (24, "incomplete"), (100, "incomplete")],
)
def test_a_session_without_its_last_partial_is_held_until_the_timeout(
    hours_since_last: int, status: str
) -> None:
    rows = [partial("p1", 1, 0, False), partial("p2", 2, 1, False)]  # p2 ends at T0+2h
    watermark = T0 + timedelta(hours=2 + hours_since_last)
    (session,) = correlate(frame(rows), watermark, timedelta(hours=24)).to_dicts()
    assert session["correlation_status"] == status
    assert session["is_last_partial"] is False


def test_a_gap_in_the_sequence_is_not_complete_even_with_the_last_partial() -> None:
    rows = [partial("p1", 1, 0, False), partial("p3", 3, 2, True)]
    (session,) = correlate(frame(rows), T0 + timedelta(hours=3), timedelta(hours=24)).to_dicts()
    assert session["correlation_status"] == "held"
    assert session["missing_partials"] == 1


# --- the stage -----------------------------------------------------------------------


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path)


def test_billable_usage_has_each_record_once_and_each_session_once(layout: Layout) -> None:
    day = date(2026, 10, 14)
    write_usage(
        layout,
        [
            usage_row("call", day, T0),
            usage_row("call-again", day + timedelta(days=1), T0, record_key="call"),
            partial("p1", 1, 0, False),
            partial("p2", 2, 1, True),
            # A call far later keeps the feed's clock moving: nothing is left held.
            usage_row("late-call", date(2026, 10, 20), T0 + timedelta(days=6)),
        ],
    )
    result = consolidate_period(layout, FEED, "2026-10")
    assert (result.records, result.repeats, result.partials) == (5, 1, 2)
    assert result.sessions_by_status == {"complete": 1, "incomplete": 0, "held": 0}
    billable = period_billable_usage(layout, "2026-10")
    assert sorted(billable["usage_id"].to_list()) == [
        "call",
        "late-call",
        "session:msc-1:10.0.0.1-77",
    ]
    before = {p: p.read_bytes() for p in layout.lake.rglob("*.parquet")}
    consolidate_period(layout, FEED, "2026-10")
    assert {p: p.read_bytes() for p in layout.lake.rglob("*.parquet")} == before


def test_a_held_session_is_not_billed_until_its_last_partial_arrives(layout: Layout) -> None:
    write_usage(layout, [partial("p1", 1, 0, False)])
    result = consolidate_period(layout, FEED, "2026-10")
    assert result.sessions_by_status["held"] == 1 and result.partials_held == 1
    assert period_billable_usage(layout, "2026-10").height == 0

    # A file of the next day brings the last partial.
    write_usage(layout, [partial("p2", 2, 1, True, file_date=date(2026, 10, 15))])
    result = consolidate_period(layout, FEED, "2026-10")
    assert result.sessions_by_status == {"complete": 1, "incomplete": 0, "held": 0}
    (session,) = period_billable_usage(layout, "2026-10").to_dicts()
    assert session["usage_id"] == "session:msc-1:10.0.0.1-77"
    assert session["data_volume_bytes"] == 20000


def test_rating_refuses_usage_that_was_not_consolidated(layout: Layout) -> None:
    write_usage(layout, [usage_row("call", date(2026, 10, 14), T0)])
    with pytest.raises(ValueError, match="not consolidated"):
        period_billable_usage(layout, "2026-10")


def test_the_time_out_runs_on_the_feed_clock_of_every_line_bucket(layout: Layout) -> None:
    # The session's line and the later call's line fall in different line buckets; the
    # call still moves the feed's clock past the session's time-out.
    session_line, call_line = "13125550123", "13125550124"
    assert line_bucket_of(session_line) != line_bucket_of(call_line)
    later = T0 + timedelta(days=3)
    write_usage(
        layout,
        [
            partial("p1", 1, 0, False),
            usage_row("call", later.astimezone(CHICAGO).date(), later, served_msisdn=call_line),
        ],
    )
    result = consolidate_period(layout, FEED, "2026-10")
    assert result.sessions_by_status == {"complete": 0, "incomplete": 1, "held": 0}
    buckets = {values["line_bucket"] for values in lake.partitions(layout, "sessions")}
    assert buckets == {str(bucket) for bucket in range(LINE_BUCKETS)}
    assert sorted(period_billable_usage(layout, "2026-10")["usage_id"].to_list()) == [
        "call",
        "session:msc-1:10.0.0.1-77",
    ]
