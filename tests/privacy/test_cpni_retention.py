"""The 18-month retention purge with legal holds (pipelines/privacy/retention.py), on the
hand-made lake of cpni_toll_lake.py."""

from __future__ import annotations

import re
from datetime import date

import pytest
from cpni_toll_lake import (
    FILES,
    MARCH,
    USAGE,
    landing_files,
    usage_ids,
    usage_row,
    write_rows,
    write_toll_lake,
)

from pipelines import lake
from pipelines.config import Layout
from pipelines.privacy import retention
from pipelines.privacy.legal_holds import COLUMNS, LegalHoldsError
from pipelines.privacy.retention import keep_from_month, purge_toll_records, read_purge_log

AS_OF = date(2026, 10, 1)  # March 2025 is due, April 2025 still kept
SUB1_HOLD = "LH-1,subscriber,SUB1,2025-03-01,2025-03-31,SUBPOENA-1,counsel,2026-09-01,"
RELEASED_SUB3_HOLD = "LH-2,subscriber,SUB3,2025-01-01,,CASE-2,counsel,2026-01-01,2026-06-30"


@pytest.fixture
def toll_lake(tmp_path) -> Layout:
    layout = Layout(tmp_path / "data")
    write_toll_lake(layout)
    return layout


def place_holds(layout: Layout, *lines: str) -> None:
    (layout.reference / "legal_holds.csv").write_text("\n".join([",".join(COLUMNS), *lines]) + "\n")


def logged(layout: Layout, purge_id: str) -> dict[tuple[str, str], tuple[int, int, int, int, list]]:
    """The run's log entries, those of a partition's line buckets added up (which bucket a
    record's line hashes to is no concern of the purge)."""
    entries: dict[tuple[str, str], tuple[int, int, int, int, list]] = {}
    for row in read_purge_log(layout):
        if row["purge_id"] != purge_id:
            continue
        key = (row["table_name"], re.sub(r"/line_bucket=[0-9]+$", "", row["partition"]))
        before, purged, held, not_due, holds = entries.get(key, (0, 0, 0, 0, []))
        entries[key] = (
            before + row["records_before"],
            purged + row["records_purged"],
            held + row["records_held"],
            not_due + row["records_not_due"],
            sorted({*holds, *row["hold_ids"]}),
        )
    return entries


def test_records_are_kept_through_the_18th_month_after_their_event_month():
    assert keep_from_month(date(2026, 9, 30)) == "2025-03"
    assert keep_from_month(date(2026, 10, 1)) == "2025-04"
    assert keep_from_month(date(2027, 1, 15)) == "2025-07"


def test_nothing_is_due_before_its_time(toll_lake):
    result = purge_toll_records(toll_lake, date(2026, 9, 30))
    assert (result.records_purged, result.files_purged, result.partitions_examined) == (0, 0, 0)
    assert len(usage_ids(toll_lake, "usage")) == 9
    assert read_purge_log(toll_lake) == []


def test_a_held_subscribers_files_survive_whole_and_every_count_is_logged(toll_lake):
    place_holds(toll_lake, SUB1_HOLD, RELEASED_SUB3_HOLD)
    result = purge_toll_records(toll_lake, AS_OF)

    # SUB1's call (u1), the call to SUB1's number (u3) and SUB1's session (partials u8, u9)
    # are in F1: F1 stays whole, with SUB2's u2, its reject and its landing file. F2 (SUB3
    # only) goes with its quarantine fix. F4 is a March file with an April record: not due.
    # April's records (u6, u7) are not due.
    assert usage_ids(toll_lake, "usage") == ["u1", "u2", "u3", "u6", "u7", "u8", "u9"]
    assert usage_ids(toll_lake, "sessions") == ["session:MSC1:k1"]
    rated = ["session:MSC1:k1", "u1", "u2", "u3", "u6", "u7"]
    assert usage_ids(toll_lake, "rated_usage") == rated
    assert usage_ids(toll_lake, "billed_charge_usage") == rated
    assert sorted(lake.read_table(toll_lake, "file_registry")["file_id"].to_pylist()) == [
        "F1",
        "F3",
        "F4",
    ]
    assert lake.read_table(toll_lake, "rejects")["file_id"].to_pylist() == ["F1"]
    assert lake.read_table(toll_lake, "quarantine_fixes").num_rows == 0
    assert landing_files(toll_lake) == sorted(FILES[f][0] for f in ("F1", "F3", "F4"))

    march = "feed=ts32298_ber/event_date=2025-03-10/file_date=2025-03-10"
    f1, f2, f4 = (f"ts32298_ber/MSC1/{FILES[f][0]}" for f in ("F1", "F2", "F4"))
    log = logged(toll_lake, result.purge_id)
    rated_partition = next(key for key in log if key[0] == "rated_usage")
    assert log == {
        ("usage", march): (7, 2, 5, 0, ["LH-1"]),
        ("sessions", "feed=ts32298_ber/billing_period=2025-03"): (1, 0, 1, 0, ["LH-1"]),
        rated_partition: (6, 2, 4, 0, ["LH-1"]),
        ("billed_charge_usage", "billing_period=2025-03"): (6, 2, 4, 0, ["LH-1"]),
        ("file_registry", "feed=ts32298_ber/file_date=2025-03-10"): (2, 1, 1, 0, ["LH-1"]),
        ("file_registry", "feed=ts32298_ber/file_date=2025-03-31"): (1, 0, 0, 1, []),
        ("rejects", "feed=ts32298_ber/file_date=2025-03-10"): (1, 0, 1, 0, ["LH-1"]),
        ("quarantine_fixes", "feed=ts32298_ber/file_date=2025-03-10"): (1, 1, 0, 0, []),
        ("landing", f1): (6, 0, 6, 0, ["LH-1"]),
        ("landing", f2): (2, 2, 0, 0, []),
        ("landing", f4): (1, 0, 0, 1, []),
    }
    assert rated_partition[1].startswith("billing_period=2025-03")
    assert (result.records_purged, result.records_held) == (8, 16)
    assert (result.files_purged, result.files_held, result.hold_ids) == (1, 1, ["LH-1"])


def test_a_rerun_purges_nothing_more_and_logs_the_same_holds(toll_lake):
    place_holds(toll_lake, SUB1_HOLD)
    first = purge_toll_records(toll_lake, AS_OF)
    before = {table: usage_ids(toll_lake, table) for table in ("usage", "rated_usage")}
    second = purge_toll_records(toll_lake, AS_OF)
    assert {table: usage_ids(toll_lake, table) for table in before} == before
    assert (second.records_purged, second.files_purged) == (0, 0)
    assert second.records_held == first.records_held
    assert second.purge_id != first.purge_id  # each run keeps its own log


def test_once_the_hold_is_released_its_records_go_too(toll_lake):
    place_holds(toll_lake, SUB1_HOLD)
    purge_toll_records(toll_lake, AS_OF)
    place_holds(toll_lake, SUB1_HOLD.removesuffix(",") + ",2026-10-15")
    result = purge_toll_records(toll_lake, date(2026, 10, 15))
    assert usage_ids(toll_lake, "usage") == ["u6", "u7"]
    assert usage_ids(toll_lake, "rated_usage") == ["u6", "u7"]
    assert landing_files(toll_lake) == sorted(FILES[f][0] for f in ("F3", "F4"))
    assert result.records_held == 0 and result.files_purged == 1


def test_a_hold_on_all_keeps_every_record_and_file_of_its_dates(toll_lake):
    place_holds(toll_lake, "LH-9,all,,2025-03-10,2025-03-10,OUTAGE-INQUIRY,counsel,2026-09-01,")
    result = purge_toll_records(toll_lake, AS_OF)
    assert result.records_purged == 0
    assert len(usage_ids(toll_lake, "usage")) == 9
    assert landing_files(toll_lake) == sorted(name for name, _, _ in FILES.values())


def test_a_bad_holds_file_stops_the_purge_before_anything_is_deleted(toll_lake):
    place_holds(toll_lake, "LH-1,subscriber,SUB404,2025-03-01,,CASE,counsel,2026-09-01,")
    with pytest.raises(LegalHoldsError, match="subscriber SUB404 is not in the CRM"):
        purge_toll_records(toll_lake, AS_OF)
    assert len(usage_ids(toll_lake, "usage")) == 9
    assert len(landing_files(toll_lake)) == 4


def test_a_held_session_keeps_every_file_its_partials_are_in(toll_lake):
    # SUB1's session k1 gets a third partial, u10, delivered in F2 (SUB3's file).
    extra = usage_row("u10", "F2", MARCH, None, session_key="k1", partial_sequence=3)
    write_rows(toll_lake, "usage", [row for row in USAGE if row["event_date"] == MARCH] + [extra])
    (session,) = lake.read_table(toll_lake, "sessions").to_pylist()
    write_rows(toll_lake, "sessions", [{**session, "partial_usage_ids": ["u8", "u9", "u10"]}])
    place_holds(toll_lake, SUB1_HOLD)
    purge_toll_records(toll_lake, AS_OF)
    assert sorted(lake.read_table(toll_lake, "file_registry")["file_id"].to_pylist()) == [
        "F1",
        "F2",
        "F3",
        "F4",
    ]
    assert "u4" in usage_ids(toll_lake, "usage")  # SUB3's record, in F2 with u10


def test_a_held_record_keeps_the_file_of_its_repeat(toll_lake):
    # F2 (SUB3's file) delivered SUB1's u1 again as u11: mediation kept it as a repeat.
    repeat = usage_row("u11", "F2", MARCH, "SUB1")
    write_rows(toll_lake, "usage", [row for row in USAGE if row["event_date"] == MARCH] + [repeat])
    write_rows(
        toll_lake,
        "usage_repeats",
        [
            {
                "usage_id": "u11",
                "repeat_of_usage_id": "u1",
                "feed": repeat["feed"],
                "switch_id": repeat["switch_id"],
                "file_name": repeat["file_name"],
                "file_date": MARCH,
                "event_date": MARCH,
                "billing_period": "2025-03",
            }
        ],
    )
    place_holds(toll_lake, SUB1_HOLD.replace("SUB1,", "SUB2,"))  # SUB2: only in F1
    purge_toll_records(toll_lake, AS_OF)
    assert "F2" in lake.read_table(toll_lake, "file_registry")["file_id"].to_pylist()
    assert usage_ids(toll_lake, "usage_repeats") == ["u11"]


def lake_state(layout: Layout) -> dict[str, list[str]]:
    """The records, files and landing files left."""
    state = {
        table: usage_ids(layout, table)
        for table in ("usage", "sessions", "rated_usage", "billed_charge_usage")
    }
    state["file_registry"] = sorted(lake.read_table(layout, "file_registry")["file_id"].to_pylist())
    state["landing"] = landing_files(layout)
    return state


def test_a_purge_killed_before_it_rewrote_the_lake_is_finished_by_the_next_run(
    toll_lake, tmp_path, monkeypatch
):
    clean = Layout(tmp_path / "clean")
    write_toll_lake(clean)
    for layout in (toll_lake, clean):
        place_holds(layout, SUB1_HOLD)
    purge_toll_records(clean, AS_OF)

    walk = retention._walk

    def killed_before_rewriting(*args, delete, **kwargs):
        if delete:
            raise KeyboardInterrupt("killed")
        return walk(*args, delete=delete, **kwargs)

    monkeypatch.setattr(retention, "_walk", killed_before_rewriting)
    with pytest.raises(KeyboardInterrupt):
        purge_toll_records(toll_lake, AS_OF)
    # The log and the landing deletions came first: nothing deleted without a log entry.
    assert {row["table_name"] for row in read_purge_log(toll_lake)} >= {"landing", "usage"}
    monkeypatch.undo()
    purge_toll_records(toll_lake, AS_OF)
    assert lake_state(toll_lake) == lake_state(clean)
