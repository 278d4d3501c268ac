import shutil
import sys
import types
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.config import Layout, layout
from pipelines.lake import PART_FILE, partition_dir, read_partition, read_table
from pipelines.mediation import asterisk_cdr_csv, stage
from pipelines.mediation.line_buckets import LINE_BUCKETS, line_bucket_of
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.mediation.stage import (
    COLUMNAR_MODULES,
    PARSER_MODULES,
    MediationError,
    check_conservation,
    landing_partitions,
    mediate_partition,
    quarantine_unplaceable_files,
)
from pipelines.schema import USAGE_SCHEMA, RejectReason

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mediation"
FEED = "asterisk_cdr_csv"
DAY = date(2024, 11, 3)
PARTITION = {"feed": FEED, "file_date": DAY.isoformat()}
TABLES = ("usage", "rejects", "file_registry")

GOOD = "Master_ast-chi-01_2024110304_000001.csv"
BAD = "Master_ast-chi-01_2024110305_000002.csv"
EMPTY = "Master_ast-chi-01_2024110306_000003.csv"
COPY = "Master_ast-chi-01_2024110307_000004.csv"
DUPS = "Master_ast-chi-01_2024110308_000005.csv"
NYC = "Master_ast-nyc-01_2024110309_000001.csv"

# What each fixture file holds, written down from the files themselves (tests/fixtures/
# mediation/README.md), not from the stage's counters:
# file -> (status, records in, accepted, rejected, duplicate)
EXPECTED_FILES = {
    GOOD: ("processed", 7, 7, 0, 0),
    # 12 lines, line 8 blank; lines 1, 9, 10 good; 2-7, 11, 12 bad.
    BAD: ("processed", 11, 3, 8, 0),
    EMPTY: ("empty", 0, 0, 0, 0),
    COPY: ("duplicate_file", 7, 0, 0, 7),  # byte copy of GOOD
    # line 1 = GOOD line 1; line 3 = line 2; line 4 = line 2's uniqueid with sequence 41.
    DUPS: ("processed", 4, 2, 0, 2),
    # Same uniqueid/sequence as GOOD line 1, but from another switch: a different call.
    NYC: ("processed", 1, 1, 0, 0),
}
BAD_FILE_REJECTS = [
    (2, "malformed_row"),
    (3, "invalid_timestamp"),
    (4, "invalid_duration"),
    (5, "unknown_column_layout"),
    (6, "invalid_encoding"),
    (7, "invalid_number"),
    (11, "invalid_duration"),
    (12, "invalid_duration"),
]


def copy_fixture(root: Path) -> Layout:
    shutil.copytree(FIXTURES / "reference", root / "reference")
    shutil.copytree(FIXTURES / "landing", root / "landing")
    return layout(root)


@pytest.fixture
def lake(tmp_path: Path) -> Layout:
    return copy_fixture(tmp_path)


def one_switch(root: Path, feed: str, switch_id: str, timezone: str) -> tuple[Layout, Path]:
    """A data root whose only switch is ``switch_id`` of ``feed``, and its landing folder."""
    layout = Layout(root)
    layout.reference.mkdir(parents=True)
    (layout.reference / "switches.csv").write_text(
        f"switch_id,feed,timezone,description\n{switch_id},{feed},{timezone},test switch\n"
    )
    landing = layout.landing / feed / switch_id
    landing.mkdir(parents=True)
    return layout, landing


def rows(lake: Layout, table: str) -> list[dict]:
    if table == "usage":  # one partition per event date under the file date
        usage = read_table(lake, table, PARTITION).to_pylist()
        return sorted(usage, key=lambda row: (row["file_name"], row["record_number"]))
    return read_partition(lake, table, PARTITION).to_pylist()


def test_landing_partitions_are_the_dates_in_file_names(lake: Layout) -> None:
    assert landing_partitions(lake) == [(FEED, date(2024, 11, 3)), (FEED, date(2024, 11, 4))]


def test_every_file_conserves_its_records(lake: Layout) -> None:
    mediate_partition(lake, FEED, DAY)

    registry = {row["file_name"]: row for row in rows(lake, "file_registry")}
    usage_per_file = Counter(row["file_name"] for row in rows(lake, "usage"))
    rejects_per_file = Counter(
        row["file_name"] for row in rows(lake, "rejects") if row["record_number"] > 0
    )
    assert set(registry) == set(EXPECTED_FILES)  # the next day's file is not in it
    for name, (status, records_in, accepted, rejected, duplicate) in EXPECTED_FILES.items():
        row = registry[name]
        assert row["file_status"] == status, name
        assert (
            row["records_in"],
            row["records_accepted"],
            row["records_rejected"],
            row["records_duplicate"],
        ) == (records_in, accepted, rejected, duplicate), name
        assert usage_per_file[name] == accepted, name
        assert rejects_per_file[name] == rejected, name


def test_partition_totals(lake: Layout) -> None:
    result = mediate_partition(lake, FEED, DAY)

    assert (result.files, result.duplicate_files) == (6, 1)
    assert (result.records_in, result.accepted, result.rejected, result.duplicates) == (
        30,
        13,
        8,
        9,
    )
    assert result.rejects_by_reason == {
        "empty_file": 1,
        "invalid_duration": 3,
        "invalid_encoding": 1,
        "invalid_number": 1,
        "invalid_timestamp": 1,
        "malformed_row": 1,
        "unknown_column_layout": 1,
    }


def test_rejects_carry_file_record_reason_and_raw_text(lake: Layout) -> None:
    mediate_partition(lake, FEED, DAY)
    rejects = rows(lake, "rejects")
    raw_lines = (lake.landing / FEED / "ast-chi-01" / BAD).read_bytes().split(b"\n")

    bad = [row for row in rejects if row["file_name"] == BAD]
    assert [(row["record_number"], row["reason_code"]) for row in bad] == BAD_FILE_REJECTS
    for row in bad:
        line = raw_lines[row["record_number"] - 1]
        assert row["raw_text"] == line.decode("utf-8", errors="backslashreplace")
        assert row["switch_id"] == "ast-chi-01"
        assert row["file_date"] == DAY
        assert row["reason_detail"]
    (empty,) = [row for row in rejects if row["file_name"] == EMPTY]
    assert (empty["record_number"], empty["reason_code"]) == (0, "empty_file")


def test_duplicate_file_points_at_the_original(lake: Layout) -> None:
    mediate_partition(lake, FEED, DAY)
    registry = {row["file_name"]: row for row in rows(lake, "file_registry")}

    assert registry[COPY]["file_id"] == registry[GOOD]["file_id"]
    assert registry[COPY]["duplicate_of_file_id"] == registry[GOOD]["file_id"]
    assert registry[GOOD]["duplicate_of_file_id"] is None
    assert registry[COPY]["file_sequence_number"] == 4
    assert registry[EMPTY]["file_bytes"] == 0


def test_duplicate_records_keep_the_first_and_switches_do_not_collide(lake: Layout) -> None:
    mediate_partition(lake, FEED, DAY)
    usage = rows(lake, "usage")

    assert [row["record_number"] for row in usage if row["file_name"] == DUPS] == [2, 4]
    keys = [(row["switch_id"], row["record_key"]) for row in usage]
    assert len(keys) == len(set(keys))
    assert ("ast-nyc-01", "1730610600.1#1") in keys
    assert ("ast-chi-01", "1730610600.1#1") in keys
    ids = [row["usage_id"] for row in usage]
    assert len(ids) == len(set(ids))
    first = usage[0]
    assert first["usage_id"] == f"{first['file_id'][:16]}-{first['record_number']}"


def test_records_sharing_a_key_on_two_lines_are_two_records(tmp_path: Path) -> None:
    layout, landing = one_switch(tmp_path, FEED, "ast-chi-01", "America/Chicago")
    row = (
        '"","{line}","2125550166","from-internal","","PJSIP/{line}-00000040",'
        '"PJSIP/tg_att_out-00000041","Dial","PJSIP/2125550166@tg_att_out,60",'
        '"2024-11-03 08:00:00","2024-11-03 08:00:05","2024-11-03 08:10:05",605,600,'
        '"ANSWERED","DOCUMENTATION","1730642400.40","","","1730642400.40",40\n'
    )
    # Two lines of one line bucket, so that only the line in the key tells them apart.
    lines = ["3125550105", "3125550132"]
    name = "Master_ast-chi-01_2024110308_000001.csv"
    (landing / name).write_text("".join(row.format(line=line) for line in lines))

    result = mediate_partition(layout, FEED, DAY)

    usage = rows(layout, "usage")
    assert len({row["record_key"] for row in usage}) == 1
    assert {line_bucket_of(row["served_msisdn"]) for row in usage} == {
        line_bucket_of(f"1{lines[0]}")
    }
    assert sorted(row["served_msisdn"] for row in usage) == [f"1{line}" for line in lines]
    assert (result.accepted, result.duplicates) == (2, 0)


def test_usage_rows_follow_the_lake_schema_and_order(lake: Layout) -> None:
    mediate_partition(lake, FEED, DAY)
    parts = sorted((lake.lake_table("usage") / f"feed={FEED}").glob(f"*/*/*/{PART_FILE}"))
    # Usage is partitioned by the operator-local event date, under it by file date, under
    # that by the served line's bucket.
    assert {part.relative_to(lake.lake_table("usage")).parts[1:3] for part in parts} == {
        ("event_date=2024-11-03", f"file_date={DAY}"),
    }
    rows = 0
    for part in parts:
        table = pq.read_table(part)
        rows += table.num_rows
        assert table.schema.remove_metadata() == USAGE_SCHEMA
        order = [(row["file_name"], row["record_number"]) for row in table.to_pylist()]
        assert order == sorted(order)
        assert {row["event_date"].isoformat() for row in table.to_pylist()} == {
            part.parts[-4].split("=")[1]
        }
        bucket = int(part.parts[-2].split("=")[1])
        lines = {row["served_msisdn"] or row["served_imsi"] for row in table.to_pylist()}
        assert {zlib.crc32(line.encode()) % LINE_BUCKETS for line in lines} == {bucket}
    assert rows == sum(accepted for _, _, accepted, _, _ in EXPECTED_FILES.values())
    table = read_table(lake, "usage", PARTITION)
    (nyc,) = [row for row in table.to_pylist() if row["switch_id"] == "ast-nyc-01"]
    # 09:00:00 in New York after the fall-back (EST, UTC-5) = 14:00Z.
    assert nyc["started_at"].isoformat() == "2024-11-03T14:00:00+00:00"
    assert nyc["feed"] == FEED and nyc["file_date"] == DAY


def partition_bytes(lake: Layout) -> dict[str, bytes]:
    return {
        str(path.relative_to(lake.lake)): path.read_bytes()
        for path in sorted(lake.lake.rglob("*"))
        if path.is_file()
    }


def test_rerun_writes_byte_identical_partitions(tmp_path: Path) -> None:
    first = copy_fixture(tmp_path / "a")
    mediate_partition(first, FEED, DAY)
    before = partition_bytes(first)
    mediate_partition(first, FEED, DAY)
    assert partition_bytes(first) == before

    elsewhere = copy_fixture(tmp_path / "b")  # another data root, another run
    mediate_partition(elsewhere, FEED, DAY)
    assert partition_bytes(elsewhere) == before


def test_records_spilled_a_file_at_a_time_give_the_same_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = copy_fixture(tmp_path / "whole")
    mediate_partition(whole, FEED, DAY)
    # Every file its own chunk: DUPS repeats records of GOOD, spilled chunks before it.
    monkeypatch.setattr(stage, "MEDIATION_CHUNK_RECORDS", 1)
    chunked = copy_fixture(tmp_path / "chunked")
    stale = chunked.root / "scratch" / "mediate" / FEED / DAY.isoformat()
    stale.mkdir(parents=True)
    (stale / "line_bucket=0.arrow").write_bytes(b"left by a killed run")
    result = mediate_partition(chunked, FEED, DAY)
    assert result.duplicates == 2 + 7  # DUPS' two records, COPY's seven
    assert partition_bytes(chunked) == partition_bytes(whole)
    assert not stale.exists()


def test_a_partition_without_files_writes_empty_tables(lake: Layout) -> None:
    result = mediate_partition(lake, FEED, date(2024, 11, 5))
    assert result.files == result.records_in == 0
    assert result.event_dates == result.changed_event_dates == []
    for table in ("rejects", "file_registry"):
        assert (partition_dir(lake, table, {**PARTITION, "file_date": "2024-11-05"})).is_dir()
    assert not list(lake.lake_table("usage").glob("*/*/file_date=2024-11-05"))
    assert not (lake.root / "scratch" / "mediate" / FEED / "2024-11-05").exists()


def install_parser(monkeypatch: pytest.MonkeyPatch, parse_file: object) -> None:
    module = types.ModuleType("fake_feed_parser")
    module.parse_file = parse_file  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_feed_parser", module)
    monkeypatch.setitem(PARSER_MODULES, FEED, "fake_feed_parser")
    monkeypatch.delitem(COLUMNAR_MODULES, FEED, raising=False)


def test_a_parser_crash_ends_its_file_not_the_partition(
    lake: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashes_on_good(data: bytes, context: FileContext) -> Iterator:
        items = asterisk_cdr_csv.parse_file(data, context)
        if context.file_name != GOOD:
            yield from items
            return
        yield next(items)
        yield next(items)
        raise RuntimeError("decoder lost its place")

    install_parser(monkeypatch, crashes_on_good)
    mediate_partition(lake, FEED, DAY)
    registry = {row["file_name"]: row for row in rows(lake, "file_registry")}
    good = registry[GOOD]
    assert good["file_status"] == "unreadable"
    assert (good["records_in"], good["records_accepted"]) == (2, 2)
    (failure,) = [r for r in rows(lake, "rejects") if r["file_name"] == GOOD]
    assert (failure["record_number"], failure["reason_code"]) == (0, "unreadable_file")
    assert "after record 2" in failure["reason_detail"]
    assert "decoder lost its place" in failure["reason_detail"]
    assert "rest of the file was not read" in failure["reason_detail"]
    # The byte copy of GOOD is read in full: its 7 records count as duplicates.
    assert registry[COPY]["records_duplicate"] == 7
    assert registry[BAD]["records_in"] == 11


def test_a_file_with_only_a_file_level_reject_is_unreadable(
    lake: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuses(data: bytes, context: FileContext) -> Iterator:
        yield RejectedRecord(0, RejectReason.UNREADABLE_FILE, "bad header", "")

    install_parser(monkeypatch, refuses)
    mediate_partition(lake, FEED, DAY)
    statuses = {row["file_name"]: row["file_status"] for row in rows(lake, "file_registry")}
    assert statuses[GOOD] == "unreadable"
    assert statuses[COPY] == "unreadable"  # no records, so nothing to call a duplicate


def test_a_parser_breaking_its_contract_stops_the_stage(
    lake: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    def twice(data: bytes, context: FileContext) -> Iterator:
        first = next(asterisk_cdr_csv.parse_file(data, context))
        yield first
        yield first

    install_parser(monkeypatch, twice)
    with pytest.raises(MediationError, match="record number twice"):
        mediate_partition(lake, FEED, DAY)
    assert not lake.lake.exists()


def test_unknown_feed_switch_or_file_name_is_an_error(lake: Layout) -> None:
    with pytest.raises(MediationError, match="no parser"):
        mediate_partition(lake, "freeswitch_csv", DAY)

    stray = lake.landing / FEED / "ast-den-01"
    stray.mkdir()
    (stray / "Master_ast-den-01_2024110301_000001.csv").write_bytes(b"")
    with pytest.raises(MediationError, match="ast-den-01"):
        mediate_partition(lake, FEED, DAY)
    shutil.rmtree(stray)


def test_a_file_whose_name_places_it_nowhere_is_quarantined_whole(lake: Layout) -> None:
    stray = lake.landing / FEED / "ast-chi-01" / "Master.csv"
    stray.write_bytes(b"a,b\n")
    partitions = landing_partitions(lake)
    assert partitions == [(FEED, date(2024, 11, 3)), (FEED, date(2024, 11, 4))]
    (quarantined,) = quarantine_unplaceable_files(lake)
    assert quarantined.path == stray
    (row,) = read_partition(lake, "landing_rejects", {"feed": FEED}).to_pylist()
    assert row["file_name"] == "Master.csv" and row["file_bytes"] == 4
    assert row["reason_code"] == "unplaceable_file_name"
    assert "<YYYYMMDDHH>" in row["reason_detail"]
    mediate_partition(lake, FEED, DAY)  # the rest of the feed is mediated as usual

    stray.rename(stray.with_name("Master_ast-chi-01_2024110311_000009.csv"))
    assert quarantine_unplaceable_files(lake) == []
    assert read_partition(lake, "landing_rejects", {"feed": FEED}).num_rows == 0


def test_check_conservation_catches_arithmetic_that_does_not_add_up() -> None:
    registry = [
        {
            "switch_id": "s",
            "file_name": "f",
            "records_in": 3,
            "records_accepted": 1,
            "records_rejected": 1,
            "records_duplicate": 0,
        }
    ]
    usage = {("s", "f"): 1}
    rejects = [{"switch_id": "s", "file_name": "f", "record_number": 2}]
    with pytest.raises(MediationError, match="records_in 3"):
        check_conservation(registry, usage, rejects)

    registry[0]["records_in"] = 2
    check_conservation(registry, usage, rejects)
    with pytest.raises(MediationError, match="usage rows"):
        check_conservation(registry, {}, rejects)
    with pytest.raises(MediationError, match="without a registry entry"):
        check_conservation(registry, usage, [*rejects, {**rejects[0], "file_name": "g"}])


def test_a_freeswitch_switch_is_mediated_like_any_feed(tmp_path: Path) -> None:
    layout, landing = one_switch(tmp_path, "freeswitch_cdr_csv", "fs-chi-01", "America/Chicago")
    fixture = Path(__file__).parents[1] / "fixtures" / "freeswitch" / "Master.csv"
    (landing / "Master_fs-chi-01_2024070112_000001.csv").write_bytes(fixture.read_bytes())

    result = mediate_partition(layout, "freeswitch_cdr_csv", date(2024, 7, 1))

    # The fixture's README: 8 records (line 7 is blank), lines 6 and 8 rejected by the
    # parser. Landed as a file of 1 July, its November call (line 3) is in the future and
    # its March call (line 4) too old: mediation quarantines both.
    assert (result.records_in, result.accepted, result.rejected) == (8, 4, 4)
    assert result.rejects_by_reason == {
        "malformed_row": 1,
        "invalid_duration": 1,
        "future_timestamp": 1,
        "ancient_timestamp": 1,
    }
    usage = read_table(
        layout, "usage", {"feed": "freeswitch_cdr_csv", "file_date": "2024-07-01"}
    ).to_pylist()
    # Mediation classifies every other party's number (line 5 dials 911).
    by_number = {row["other_party_number"]: row for row in usage}
    assert by_number["911"]["other_party_number_type"] == "short_code"
    assert {row["other_party_region"] for row in usage if row["other_party_number"]} >= {"US"}


def test_a_cisco_cluster_lands_under_its_native_file_names(tmp_path: Path) -> None:
    layout, landing = one_switch(tmp_path, "cisco_cucm_cdr", "telco-chi", "America/Chicago")
    name = "cdr_telco-chi_01_202407011640_000123"
    fixture = Path(__file__).parents[1] / "fixtures" / "cisco_cucm" / name
    (landing / name).write_bytes(fixture.read_bytes())

    # 16:40 UTC on 1 July is 11:40 in Chicago: the file belongs to that local day.
    assert landing_partitions(layout) == [("cisco_cucm_cdr", date(2024, 7, 1))]
    result = mediate_partition(layout, "cisco_cucm_cdr", date(2024, 7, 1))

    # The fixture's README: 8 rows, the CMR and the cut-off row rejected.
    assert (result.records_in, result.accepted, result.rejected) == (8, 6, 2)
    assert result.rejects_by_reason == {"unsupported_record_type": 1, "malformed_row": 1}
    registry = read_partition(
        layout, "file_registry", {"feed": "cisco_cucm_cdr", "file_date": "2024-07-01"}
    ).to_pylist()
    assert [row["file_sequence_number"] for row in registry] == [123]


def test_a_file_delivered_again_on_a_later_day_is_processed_once(tmp_path: Path) -> None:
    lake = copy_fixture(tmp_path)
    folder = lake.landing / "asterisk_cdr_csv" / "ast-chi-01"
    original = folder / "Master_ast-chi-01_2024110304_000001.csv"
    resent = folder / "Master_ast-chi-01_2024110409_000007.csv"
    resent.write_bytes(original.read_bytes())

    # The later day is mediated first: the copy is known before the original's partition ran.
    mediate_partition(lake, "asterisk_cdr_csv", date(2024, 11, 4))
    mediate_partition(lake, "asterisk_cdr_csv", date(2024, 11, 3))

    def registry_row(day: str, name: str) -> dict:
        values = {"feed": "asterisk_cdr_csv", "file_date": day}
        return next(
            row
            for row in read_partition(lake, "file_registry", values).to_pylist()
            if row["file_name"] == name
        )

    first = registry_row("2024-11-03", original.name)
    again = registry_row("2024-11-04", resent.name)
    assert first["file_status"] == "processed" and first["records_in"] > 0
    assert again["file_status"] == "duplicate_file"
    assert again["records_in"] == again["records_duplicate"] == first["records_in"]
    assert again["records_accepted"] == again["records_rejected"] == 0


def test_a_tap_file_whose_audit_fails_is_rejected_whole(tmp_path: Path) -> None:
    sample = Path(__file__).parents[3] / "shared" / "samples" / "tap3" / "tap_3_12_valid.ber"
    if not sample.exists():
        pytest.skip("../shared/samples is not here")
    layout, landing = one_switch(tmp_path, "tap3", "GBRVF", "UTC")
    (landing / "CDGBRVFUSA01_2024070112_000001.ber").write_bytes(sample.read_bytes())

    result = mediate_partition(layout, "tap3", date(2024, 7, 1))

    # The sample's four call events sum to more than its AuditControlInfo declares
    # (docs/formats/tap3.md): every event is returned, none is accepted.
    assert (result.records_in, result.accepted, result.rejected) == (4, 0, 4)
    assert result.rejects_by_reason == {"audit_mismatch": 4}


def test_an_opensips_proxy_pairs_invite_and_bye_into_calls(tmp_path: Path) -> None:
    layout, landing = one_switch(tmp_path, "opensips_flatstore", "sip-chi-01", "UTC")
    fixture = Path(__file__).parents[1] / "fixtures" / "opensips" / "acc_cgrates_layout.log"
    (landing / "acc_sip-chi-01_2024070309_000001.log").write_bytes(fixture.read_bytes())

    result = mediate_partition(layout, "opensips_flatstore", date(2024, 7, 3))

    # Calls are the records (docs/formats/opensips_flatstore.md): calls 1, 2 (re-INVITE,
    # callee's BYE), 4 (486) and 7 (183 then 480) parse; call 3 has no BYE, lines 8 and 12
    # are BYEs without a call, line 10 has an extra field, line 11 a wall-clock time.
    assert (result.records_in, result.accepted, result.rejected) == (9, 4, 5)
    assert result.rejects_by_reason == {
        "unpaired_invite": 1,
        "unpaired_bye": 2,
        "malformed_row": 1,
        "invalid_timestamp": 1,
    }


# A call of the evening of 2024-11-03 (local), delivered in a file of 2024-11-04 10:00.
LATE_CALL = (
    '"","3125550108","2125550144","from-internal","","PJSIP/3125550108-00000090",'
    '"PJSIP/tg_att_out-00000091","Dial","PJSIP/2125550144@tg_att_out,60",'
    '"2024-11-03 21:00:00","2024-11-03 21:00:04","2024-11-03 21:02:04",124,120,"ANSWERED",'
    '"DOCUMENTATION","1730685600.90","","","1730685600.90",90\n'
)


def test_a_late_file_changes_only_the_event_dates_it_touches(tmp_path: Path) -> None:
    lake = copy_fixture(tmp_path)
    mediate_partition(lake, FEED, DAY)
    first = mediate_partition(lake, FEED, DAY + timedelta(days=1))
    assert first.changed_event_dates == first.event_dates == ["2024-11-04"]
    before = partition_bytes(lake)

    late = lake.landing / FEED / "ast-chi-01" / "Master_ast-chi-01_2024110410_000007.csv"
    late.write_text(LATE_CALL)
    result = mediate_partition(lake, FEED, DAY + timedelta(days=1))
    # The late record lands under its own event date, in a new partition of the file date;
    # nothing mediated from 2024-11-03's files is rewritten.
    assert result.event_dates == ["2024-11-03", "2024-11-04"]
    assert result.changed_event_dates == ["2024-11-03"]
    after = partition_bytes(lake)
    new = sorted(set(after) - set(before))
    bucket = zlib.crc32(b"13125550108") % LINE_BUCKETS  # the caller's line
    assert new == [
        f"usage/feed={FEED}/event_date=2024-11-03/file_date=2024-11-04/line_bucket={bucket}/"
        f"{PART_FILE}"
    ]
    same_day = [key for key in before if "/file_date=2024-11-03/" in key and key in after]
    assert same_day and all(after[key] == before[key] for key in same_day)

    # A rerun changes nothing, and says so.
    assert mediate_partition(lake, FEED, DAY + timedelta(days=1)).changed_event_dates == []
    assert partition_bytes(lake) == after

    # The file withdrawn and its partition rerun: its event date's partition goes away.
    late.unlink()
    gone = mediate_partition(lake, FEED, DAY + timedelta(days=1))
    assert gone.changed_event_dates == ["2024-11-03"]
    assert set(same_day) <= set(partition_bytes(lake))
    assert set(partition_bytes(lake)) - {*before} == set()


def test_a_counter_beyond_64_bits_is_a_reject_not_a_failed_partition(
    lake: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    def huge_duration(data: bytes, context: FileContext) -> Iterator:
        for item in asterisk_cdr_csv.parse_file(data, context):
            if isinstance(item, ParsedRecord) and item.record_number == 1:
                item = ParsedRecord(1, {**item.values, "duration_seconds": 2**64})
            yield item

    install_parser(monkeypatch, huge_duration)
    result = mediate_partition(lake, FEED, DAY)
    (reject,) = [
        r for r in rows(lake, "rejects") if r["file_name"] == GOOD and r["record_number"] == 1
    ]
    assert reject["reason_code"] == "invalid_duration"
    assert "does not fit a 64-bit integer" in reject["reason_detail"]
    assert result.rejects_by_reason["invalid_duration"] >= 1
