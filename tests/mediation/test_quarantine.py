"""Quarantine and replay: record texts, fixes applied to file bytes, the fixes table, and
the operator's round trip through mediation (export, fix, replay, replay again)."""

from __future__ import annotations

import csv
import hashlib
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pytest
from mobile_cdrs import T0, mobile_cdr

from pipelines.cli import main
from pipelines.config import Layout, layout
from pipelines.formats import ts32298
from pipelines.formats.cdr_events import MobileCdr
from pipelines.formats.ts32297 import CdrHeader, FileHeader, HeaderTimestamp, TsNumber, encode_file
from pipelines.lake import PART_FILE, partition_dir, read_partition, read_table, write_partition
from pipelines.mediation import (
    asterisk_cdr_csv,
    cisco_cucm_cdr,
    freeswitch_cdr_csv,
    opensips_flatstore,
    ts32298_ber,
)
from pipelines.mediation.quarantine import (
    QuarantineError,
    apply_fixes,
    export_rejects,
    fixes_by_file,
    record_fixes,
    record_text,
    write_rejects_csv,
)
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.mediation.stage import mediate_partition
from pipelines.schema import QUARANTINE_FIX_SCHEMA, REJECT_SCHEMA, RejectReason

FIXTURES = Path(__file__).parents[1] / "fixtures"
CONTEXT = FileContext("f", "sw", "America/Chicago", 1)

ASTERISK = "asterisk_cdr_csv"
GOOD_LINE = (
    '"","3125550101","3125550177","from-internal","","PJSIP/3125550101-00000020",'
    '"PJSIP/3125550177-00000021","Dial","PJSIP/3125550177,60","2024-11-03 05:00:00",'
    '"2024-11-03 05:00:02","2024-11-03 05:01:02",62,60,"ANSWERED","DOCUMENTATION",'
    '"1730631600.{n}","","","1730631600.{n}",{n}'
)


def asterisk_line(n: int) -> str:
    return GOOD_LINE.format(n=n)


# Line 2 lacks the closing quote of its last field; line 3 is blank; line 4 ends in CRLF.
BROKEN_2 = asterisk_line(2).removesuffix(",2") + ',"2'
ASTERISK_FILE = (
    f"{asterisk_line(1)}\n{BROKEN_2}\n\n{asterisk_line(4)}\r\n{asterisk_line(5)}\n"
).encode()


def parse(module: ModuleType, data: bytes) -> list[ParsedRecord | RejectedRecord]:
    return list(module.parse_file(data, CONTEXT))


def by_number(items: list[ParsedRecord | RejectedRecord]) -> dict[int, Any]:
    return {item.record_number: item for item in items}


def rejects_of(items: list[ParsedRecord | RejectedRecord]) -> dict[int, RejectedRecord]:
    return {i.record_number: i for i in items if isinstance(i, RejectedRecord) and i.record_number}


# --- record_text and apply_fixes, per format -------------------------------------------------


def test_a_malformed_asterisk_line_fixed_is_accepted_and_nothing_else_moves() -> None:
    before = parse(asterisk_cdr_csv, ASTERISK_FILE)
    assert rejects_of(before)[2].reason == RejectReason.MALFORMED_ROW
    assert record_text(ASTERISK, ASTERISK_FILE, 2) == rejects_of(before)[2].raw_text

    fixed = apply_fixes(ASTERISK, ASTERISK_FILE, {2: asterisk_line(2)})

    after = parse(asterisk_cdr_csv, fixed)
    assert [item.record_number for item in after] == [1, 2, 4, 5]
    assert isinstance(by_number(after)[2], ParsedRecord)
    for number in (1, 4, 5):
        assert by_number(after)[number] == by_number(before)[number]
    assert fixed == ASTERISK_FILE.replace(BROKEN_2.encode(), asterisk_line(2).encode())


def test_a_fixed_line_keeps_its_crlf_and_the_same_fix_twice_changes_nothing() -> None:
    changed = asterisk_line(4).replace("ANSWERED", "BUSY")
    fixed = apply_fixes(ASTERISK, ASTERISK_FILE, {4: changed})

    assert f"{changed}\r\n".encode() in fixed
    assert record_text(ASTERISK, fixed, 4) == changed
    assert apply_fixes(ASTERISK, fixed, {4: changed}) == fixed


def test_no_fix_returns_the_same_bytes_object() -> None:
    for feed in (ASTERISK, "ts32298_ber", "tap3"):
        assert apply_fixes(feed, ASTERISK_FILE, {}) is ASTERISK_FILE


def test_undecodable_bytes_are_shown_escaped() -> None:
    data = asterisk_line(1).replace("DOCUMENTATION", "DOCUM\xe9NTATION").encode("latin-1")
    assert record_text(ASTERISK, data, 1) == asterisk_line(1).replace(
        "DOCUMENTATION", "DOCUM\\xe9NTATION"
    )


@pytest.mark.parametrize(
    ("fix", "message"),
    [
        ({2: "a,b\nc,d"}, "line break"),
        ({2: "a,b\rc"}, "line break"),
        ({2: "   "}, "blank fix"),
        ({3: asterisk_line(3)}, "no record 3"),  # the blank line holds no record
        ({9: asterisk_line(9)}, "no record 9"),
        ({0: asterisk_line(0)}, "no record 0"),
    ],
)
def test_a_text_fix_that_would_add_or_lose_records_is_refused(
    fix: dict[int, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        apply_fixes(ASTERISK, ASTERISK_FILE, fix)


def test_a_cucm_record_is_its_data_row_after_the_two_header_lines() -> None:
    fixture = FIXTURES / "cisco_cucm" / "cdr_telco-chi_01_202407011640_000123"
    lines = fixture.read_bytes().split(b"\n")
    # A blank line between rows 2 and 3 takes no record number.
    data = b"\n".join([*lines[:4], b"", *lines[4:]])
    before = parse(cisco_cucm_cdr, data)
    for number, reject in rejects_of(before).items():
        assert record_text("cisco_cucm_cdr", data, number) == reject.raw_text
    assert rejects_of(before)[7].reason == RejectReason.MALFORMED_ROW

    row_8 = record_text("cisco_cucm_cdr", data, 8)
    fixed = apply_fixes("cisco_cucm_cdr", data, {7: row_8.replace("1,1,1008,", "1,1,1099,", 1)})

    after = parse(cisco_cucm_cdr, fixed)
    assert isinstance(by_number(after)[7], ParsedRecord)
    assert by_number(after)[7].values["record_key"].startswith("1:1099:")
    assert {n: i for n, i in by_number(after).items() if n != 7} == {
        n: i for n, i in by_number(before).items() if n != 7
    }
    with pytest.raises(ValueError, match="no record 9"):
        record_text("cisco_cucm_cdr", data, 9)


def test_freeswitch_records_are_line_numbers() -> None:
    data = (FIXTURES / "freeswitch" / "Master.csv").read_bytes()
    before = parse(freeswitch_cdr_csv, data)
    for number, reject in rejects_of(before).items():
        assert record_text("freeswitch_cdr_csv", data, number) == reject.raw_text

    fixed_line = record_text("freeswitch_cdr_csv", data, 6).replace('"Bob "The Builder""', '"Bob"')
    after = parse(freeswitch_cdr_csv, apply_fixes("freeswitch_cdr_csv", data, {6: fixed_line}))
    assert isinstance(by_number(after)[6], ParsedRecord)


def test_an_opensips_record_is_the_line_of_its_opening_invite() -> None:
    data = (FIXTURES / "opensips" / "acc_cgrates_layout.log").read_bytes()
    before = rejects_of(parse(opensips_flatstore, data))
    for number, reject in before.items():
        # A call's reject holds all its lines; the record is its opening INVITE's line.
        assert record_text("opensips_flatstore", data, number) in reject.raw_text.split("\n")

    # Line 10 has a stray field; fixed, its call pairs with the BYE on line 12, which stops
    # being a record of its own (docs/mediation.md, Quarantine and replay).
    line_10 = record_text("opensips_flatstore", data, 10)
    after = parse(
        opensips_flatstore,
        apply_fixes("opensips_flatstore", data, {10: line_10.replace("|Done", "")}),
    )
    assert isinstance(by_number(after)[10], ParsedRecord)
    assert 12 not in by_number(after)
    assert set(rejects_of(after)) == {7, 8, 11}


def ber_file(items: list[MobileCdr | bytes], *, release: int = ts32298.RELEASE) -> bytes:
    """A TS 32.297 file of the payloads or MobileCdrs ``items`` behind ``release`` headers."""
    payloads = [item if isinstance(item, bytes) else payload_of(item) for item in items]
    stamp = HeaderTimestamp.from_datetime(T0, -360)
    header = FileHeader(release, 0, release, 0, stamp, stamp, len(payloads), 7, 0, "10.1.2.3")
    cdr_header = CdrHeader(release=release, version=0, ts_number=TsNumber.TS_32_250)
    return encode_file(header, [(cdr_header, payload) for payload in payloads])


CALLS = [mobile_cdr("voice_mo", call_reference=1000 + n) for n in range(3)]


def payload_of(cdr: MobileCdr) -> bytes:
    return ts32298.encode_call_event_record(
        cdr,
        recording_entity="13125550000",
        service_centre="13125550001",
        node_address="10.1.2.3",
        utc_offset_minutes=-360,
    )


@pytest.mark.parametrize("release", [ts32298.RELEASE, 8, 99], ids=["rel15", "rel8", "r99"])
def test_a_corrupt_ber_cdr_fixed_with_its_hex_gives_back_the_original_file(release: int) -> None:
    original = ber_file(CALLS, release=release)
    corrupt = ber_file([CALLS[0], b"\x30\x03\x02\x01", CALLS[2]], release=release)
    assert rejects_of(parse(ts32298_ber, corrupt))[2].reason == RejectReason.UNDECODABLE_RECORD
    assert record_text("ts32298_ber", corrupt, 2) == "30030201"
    assert record_text("ts32298_ber", original, 2) == payload_of(CALLS[1]).hex()

    fixed = apply_fixes("ts32298_ber", corrupt, {2: payload_of(CALLS[1]).hex()})

    # CDR length and file length follow the longer payload; nothing else changes.
    assert fixed == original
    assert parse(ts32298_ber, fixed) == parse(ts32298_ber, original)
    assert apply_fixes("ts32298_ber", fixed, {2: payload_of(CALLS[1]).hex()}) == fixed


def test_a_truncated_last_cdr_can_be_completed_unless_its_header_is_cut() -> None:
    original = ber_file(CALLS)
    truncated = original[:-10]
    reject = rejects_of(parse(ts32298_ber, truncated))[3]
    assert reject.reason == RejectReason.TRUNCATED_RECORD
    assert record_text("ts32298_ber", truncated, 3) == payload_of(CALLS[2]).hex()[:-20]

    assert apply_fixes("ts32298_ber", truncated, {3: payload_of(CALLS[2]).hex()}) == original

    cut_header = original[: len(original) - len(payload_of(CALLS[2])) - 2]
    with pytest.raises(ValueError, match="cut inside its CDR header"):
        record_text("ts32298_ber", cut_header, 3)


@pytest.mark.parametrize(
    ("fix", "message"),
    [
        ({2: "not hex"}, "not hex"),
        ({2: ""}, "delete the CDR"),
        ({2: "00" * 0x10000}, "do not fit"),
        ({4: "3000"}, "no CDR 4"),
        ({0: "3000"}, "no CDR 0"),
    ],
)
def test_a_ber_fix_that_cannot_be_a_cdr_is_refused(fix: dict[int, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_fixes("ts32298_ber", ber_file(CALLS), fix)


def test_a_ber_file_with_an_unreadable_header_has_no_record_to_fix() -> None:
    with pytest.raises(ValueError, match="file header is unreadable"):
        record_text("ts32298_ber", b"\x00" * 10, 1)


def test_tap_records_cannot_be_fixed() -> None:
    with pytest.raises(ValueError, match="ask the partner to resend"):
        record_text("tap3", b"\x61\x00", 1)
    with pytest.raises(ValueError, match="ask the partner to resend"):
        apply_fixes("tap3", b"\x61\x00", {1: "00"})


# --- the fixes table -------------------------------------------------------------------------

DAY = date(2024, 11, 3)
PARTITION = {"feed": ASTERISK, "file_date": DAY.isoformat()}
NAME = "Master_ast-chi-01_2024110305_000002.csv"


def fix_row(record_number: int, text: str, fixed_at: datetime) -> dict[str, object]:
    return {
        "file_id": "f" * 64,
        "file_name": NAME,
        "feed": ASTERISK,
        "switch_id": "ast-chi-01",
        "file_date": DAY,
        "record_number": record_number,
        "fixed_text": text,
        "fixed_by": "ops",
        "fix_reason": "ticket 1",
        "fixed_at": fixed_at,
    }


def test_fixes_by_file_takes_the_latest_fix_of_a_record(tmp_path: Path) -> None:
    lake = Layout(tmp_path)
    assert fixes_by_file(lake, ASTERISK, DAY) == {}
    noon = datetime(2024, 11, 4, 12, tzinfo=UTC)
    rows = [
        fix_row(2, "later", noon + timedelta(hours=1)),
        fix_row(2, "earlier", noon),
        fix_row(4, "only", noon),
    ]
    table = pa.Table.from_pylist(rows, schema=QUARANTINE_FIX_SCHEMA)
    write_partition(lake, "quarantine_fixes", PARTITION, table)

    assert fixes_by_file(lake, ASTERISK, DAY) == {"f" * 64: {2: "later", 4: "only"}}


def landed(tmp_path: Path) -> tuple[Layout, bytes, str]:
    """A data root with ASTERISK_FILE landed and its parser rejects in the lake (no stage)."""
    lake = Layout(tmp_path)
    folder = lake.landing / ASTERISK / "ast-chi-01"
    folder.mkdir(parents=True)
    (folder / NAME).write_bytes(ASTERISK_FILE)
    file_id = hashlib.sha256(ASTERISK_FILE).hexdigest()
    rows = [
        {
            "file_id": file_id,
            "file_name": NAME,
            "feed": ASTERISK,
            "switch_id": "ast-chi-01",
            "file_date": DAY,
            "record_number": reject.record_number,
            "reason_code": str(reject.reason),
            "reason_detail": reject.detail,
            "raw_text": reject.raw_text,
        }
        for reject in rejects_of(parse(asterisk_cdr_csv, ASTERISK_FILE)).values()
    ]
    write_partition(lake, "rejects", PARTITION, pa.Table.from_pylist(rows, schema=REJECT_SCHEMA))
    return lake, ASTERISK_FILE, file_id


def exported_csv(lake: Layout, path: Path, fixed: dict[int, str]) -> Path:
    """Export the rejects to ``path`` with fixed_text filled in for the given records."""
    write_rejects_csv(export_rejects(lake), path)
    with path.open(newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    for row in rows:
        row["fixed_text"] = fixed.get(int(row["record_number"]), "")
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_export_lists_record_level_rejects_with_their_original_text(tmp_path: Path) -> None:
    lake, _, file_id = landed(tmp_path)
    rows = export_rejects(lake).to_pylist()
    assert [(row["record_number"], row["reason_code"]) for row in rows] == [(2, "malformed_row")]
    assert rows[0]["original_text"] == BROKEN_2
    assert rows[0]["fixed_text"] == ""
    assert rows[0]["file_id"] == file_id
    assert export_rejects(lake, feed="ts32298_ber").num_rows == 0
    assert export_rejects(lake, reason="invalid_number").num_rows == 0
    assert export_rejects(lake, file_date=DAY, reason="malformed_row").num_rows == 1

    # A landing file that changed since mediation no longer holds the rejected text.
    (lake.landing / ASTERISK / "ast-chi-01" / NAME).write_bytes(b"other bytes\n")
    assert export_rejects(lake).to_pylist()[0]["original_text"] is None


def test_recorded_fixes_replace_by_record_and_reimport_writes_nothing(tmp_path: Path) -> None:
    lake, _, file_id = landed(tmp_path)
    csv_path = exported_csv(lake, tmp_path / "fixes.csv", {2: asterisk_line(2)})

    first = record_fixes(lake, csv_path, "ops", "ticket 1")

    assert (first.recorded, first.unchanged, first.partitions) == (1, 0, [(ASTERISK, DAY)])
    (row,) = read_partition(lake, "quarantine_fixes", PARTITION).to_pylist()
    assert (row["file_id"], row["record_number"], row["fixed_text"]) == (
        file_id,
        2,
        asterisk_line(2),
    )
    assert (row["file_name"], row["switch_id"], row["fixed_by"], row["fix_reason"]) == (
        NAME,
        "ast-chi-01",
        "ops",
        "ticket 1",
    )
    part = partition_dir(lake, "quarantine_fixes", PARTITION) / PART_FILE
    written = (part.read_bytes(), part.stat().st_mtime_ns)

    again = record_fixes(lake, csv_path, "someone else", "ticket 2")
    assert (again.recorded, again.unchanged, again.partitions) == (0, 1, [(ASTERISK, DAY)])
    assert (part.read_bytes(), part.stat().st_mtime_ns) == written

    # A different text for the same record replaces the fix.
    exported_csv(lake, csv_path, {2: asterisk_line(2).replace("ANSWERED", "BUSY")})
    assert record_fixes(lake, csv_path, "ops", "ticket 3").recorded == 1
    (row,) = read_partition(lake, "quarantine_fixes", PARTITION).to_pylist()
    assert "BUSY" in row["fixed_text"] and row["fix_reason"] == "ticket 3"


def test_the_original_text_as_fix_withdraws_the_fix(tmp_path: Path) -> None:
    lake, _, _ = landed(tmp_path)
    csv_path = exported_csv(lake, tmp_path / "fixes.csv", {2: asterisk_line(2)})
    record_fixes(lake, csv_path, "ops", "ticket 1")
    exported_csv(lake, csv_path, {2: BROKEN_2})

    withdrawal = record_fixes(lake, csv_path, "ops", "ticket 1 was wrong")
    assert (withdrawal.recorded, withdrawal.unchanged, withdrawal.withdrawn) == (0, 0, 1)
    assert read_partition(lake, "quarantine_fixes", PARTITION).num_rows == 0
    again = record_fixes(lake, csv_path, "ops", "ticket 1 was wrong")
    assert (again.recorded, again.unchanged, again.withdrawn) == (0, 1, 0)


def test_a_bad_row_refuses_the_whole_csv_and_names_the_row(tmp_path: Path) -> None:
    lake, _, file_id = landed(tmp_path)
    csv_path = exported_csv(lake, tmp_path / "fixes.csv", {2: "a\nb"})
    with csv_path.open("a", newline="", encoding="utf-8") as out:
        csv.writer(out).writerow(
            [file_id, NAME, ASTERISK, "ast-chi-01", "2024-11-03", "1"] + ["x"] * 4
        )

    with pytest.raises(QuarantineError) as refused:
        record_fixes(lake, csv_path, "ops", "ticket 1")

    message = str(refused.value)
    assert f"row 2 ({NAME} record 2)" in message and "line break" in message
    assert f"row 3 ({NAME} record 1)" in message and "is not a reject" in message
    assert not partition_dir(lake, "quarantine_fixes", PARTITION).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"feed": "tap3"}, "ask the partner to resend"),
        ({"feed": "asterisk"}, "unknown feed"),
        ({"file_date": "2024-11-04"}, "is not a reject"),
        ({"record_number": "two"}, "unreadable"),
        ({"switch_id": "ast-nyc-01"}, "not the lake's"),
    ],
)
def test_a_row_that_does_not_name_a_fixable_reject_is_refused(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    lake, _, _ = landed(tmp_path)
    csv_path = exported_csv(lake, tmp_path / "fixes.csv", {2: asterisk_line(2)})
    with csv_path.open(newline="", encoding="utf-8") as source:
        (row,) = list(csv.DictReader(source))
    row.update(change)
    with csv_path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)

    with pytest.raises(QuarantineError, match=message):
        record_fixes(lake, csv_path, "ops", "ticket 1")


def test_fixes_need_an_author_a_reason_and_the_mediated_landing_file(tmp_path: Path) -> None:
    lake, _, _ = landed(tmp_path)
    csv_path = exported_csv(lake, tmp_path / "fixes.csv", {2: asterisk_line(2)})
    with pytest.raises(QuarantineError, match="fixed_by"):
        record_fixes(lake, csv_path, " ", "ticket 1")
    (tmp_path / "bare.csv").write_text("file_id,record_number\n")
    with pytest.raises(QuarantineError, match="lacks the column"):
        record_fixes(lake, tmp_path / "bare.csv", "ops", "ticket 1")
    (lake.landing / ASTERISK / "ast-chi-01" / NAME).write_bytes(b"resent with other bytes\n")
    with pytest.raises(QuarantineError, match="no longer holds the mediated bytes"):
        record_fixes(lake, csv_path, "ops", "ticket 1")


# --- end to end through mediation -------------------------------------------------------------

MEDIATION = FIXTURES / "mediation"
LAKE_TABLES = ("usage", "rejects", "file_registry", "quarantine_fixes")


def copy_fixture(root: Path) -> Layout:
    shutil.copytree(MEDIATION / "reference", root / "reference")
    shutil.copytree(MEDIATION / "landing", root / "landing")
    return layout(root)


def lake_files(lake: Layout) -> dict[str, bytes]:
    return {
        str(path.relative_to(lake.lake)): path.read_bytes() for path in lake.lake.rglob(PART_FILE)
    }


def registry_row(lake: Layout, name: str) -> dict:
    registry = read_partition(lake, "file_registry", PARTITION).to_pylist()
    return next(row for row in registry if row["file_name"] == name)


def test_a_fixed_reject_is_replayed_into_usage_and_a_second_replay_changes_nothing(
    tmp_path: Path,
) -> None:
    lake = copy_fixture(tmp_path / "data")
    before = mediate_partition(lake, ASTERISK, DAY)
    (reject,) = export_rejects(lake, ASTERISK, DAY, "malformed_row").to_pylist()
    assert (reject["file_name"], reject["record_number"]) == (NAME, 2)
    # Line 2 of the fixture lacks the closing quote of its last field.
    assert reject["original_text"].endswith('"21')
    # Line 3's start time 25:61:00 is fixed, but to a time still wrong: rejected again.
    line_3 = export_rejects(lake, ASTERISK, DAY, "invalid_timestamp").to_pylist()[0]
    csv_path = exported_csv(
        lake,
        tmp_path / "fixes.csv",
        {
            2: reject["original_text"] + '"',
            3: line_3["original_text"].replace("25:61:00", "2024-11-03 05:02:00"),
        },
    )

    imported = record_fixes(lake, csv_path, "ops", "INC-42")
    after = mediate_partition(lake, ASTERISK, DAY)

    assert imported.partitions == [(ASTERISK, DAY)]
    assert (after.records_in, after.accepted, after.rejected) == (
        before.records_in,
        before.accepted + 1,
        before.rejected - 1,
    )
    usage = read_table(lake, "usage", PARTITION).to_pylist()
    assert [
        row["record_key"] for row in usage if (row["file_name"], row["record_number"]) == (NAME, 2)
    ] == ["1730631600.21#21"]
    rejects = {
        row["record_number"]: row
        for row in read_partition(lake, "rejects", PARTITION).to_pylist()
        if row["file_name"] == NAME
    }
    assert 2 not in rejects
    assert rejects[3]["reason_code"] == "invalid_timestamp"
    assert "2024-11-03 2024-11-03 05:02:00" in rejects[3]["raw_text"]  # the fixed line
    row = registry_row(lake, NAME)
    assert row["records_fixed"] == 2
    assert row["file_id"] == reject["file_id"]  # the file keeps its identity
    assert row["records_in"] == row["records_accepted"] + row["records_rejected"]
    assert registry_row(lake, "Master_ast-chi-01_2024110304_000001.csv")["records_fixed"] == 0

    snapshot = lake_files(lake)
    record_fixes(lake, csv_path, "ops", "INC-42")
    mediate_partition(lake, ASTERISK, DAY)
    assert lake_files(lake) == snapshot


def test_a_ber_cdr_is_fixed_through_mediation(tmp_path: Path) -> None:
    lake = Layout(tmp_path)
    lake.reference.mkdir(parents=True)
    (lake.reference / "switches.csv").write_text(
        "switch_id,feed,timezone,description\nMSC1,ts32298_ber,America/Chicago,test MSC\n"
    )
    landing = lake.landing / "ts32298_ber" / "MSC1"
    landing.mkdir(parents=True)
    calls = [*CALLS, mobile_cdr("voice_mo", call_reference=1003)]
    corrupt = ber_file([calls[0], b"\x30\x03\x02\x01", calls[2], calls[3]])
    # The last CDR is cut after 2 octets of its header: nothing of it can be fixed.
    corrupt = corrupt[: len(corrupt) - len(payload_of(calls[3])) - 2]
    (landing / "MSC1_2025030111_000007.ber").write_bytes(corrupt)
    day = date(2025, 3, 1)

    before = mediate_partition(lake, "ts32298_ber", day)
    exported = export_rejects(lake, "ts32298_ber", day).to_pylist()
    assert [(r["record_number"], r["reason_code"]) for r in exported] == [
        (2, "undecodable_record"),
        (4, "truncated_record"),
    ]
    assert [r["original_text"] for r in exported] == ["30030201", None]
    csv_path = exported_csv(lake, tmp_path / "fixes.csv", {2: payload_of(calls[1]).hex()})
    record_fixes(lake, csv_path, "ops", "INC-7")
    after = mediate_partition(lake, "ts32298_ber", day)

    assert (after.records_in, after.accepted, after.rejected) == (
        before.records_in,
        before.accepted + 1,
        before.rejected - 1,
    )
    values = {"feed": "ts32298_ber", "file_date": day.isoformat()}
    usage = read_table(lake, "usage", values).to_pylist()
    assert sorted(row["record_number"] for row in usage) == [1, 2, 3]
    (registry,) = read_partition(lake, "file_registry", values).to_pylist()
    assert registry["records_fixed"] == 1 and registry["file_bytes"] == len(corrupt)


def test_the_cli_lists_rejects_and_replays_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = copy_fixture(tmp_path / "data")
    monkeypatch.setenv("TELCOLAKE_DATA", str(lake.root))
    monkeypatch.setenv("COLUMNS", "200")
    mediate_partition(lake, ASTERISK, DAY)
    out = tmp_path / "fixes.csv"

    assert (
        main(
            [
                "quarantine",
                "list",
                "--feed",
                ASTERISK,
                "--file-date",
                "2024-11-03",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    listing = capsys.readouterr().out
    assert "quarantined records: 8" in listing and "malformed_row" in listing
    with out.open(newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    assert len(rows) == 8
    (malformed,) = [row for row in rows if row["reason_code"] == "malformed_row"]
    exported_csv(lake, out, {int(malformed["record_number"]): malformed["original_text"] + '"'})

    assert main(["quarantine", "replay", str(out), "--by", "ops", "--reason", "INC-42"]) == 0
    replay = capsys.readouterr().out
    assert "1 new or changed" in replay
    assert "13 -> 14" in replay and "8 -> 7" in replay and "0 -> 1" in replay

    # Record 2 is accepted now; a fix of record 3 that would split its line is refused.
    exported_csv(lake, out, {3: "no\rgood"})
    assert main(["quarantine", "replay", str(out), "--by", "ops", "--reason", "INC-42"]) == 2
    assert "no fix recorded" in capsys.readouterr().out
