from datetime import UTC, datetime
from pathlib import Path

import pytest
from switch_lines import asterisk_line as cdr

from pipelines.mediation.asterisk_cdr_csv import parse_file
from pipelines.mediation.records import (
    PARSER_COLUMNS,
    FileContext,
    ParsedRecord,
    RejectedRecord,
)
from pipelines.schema import RejectReason

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mediation"
CHI = FIXTURES / "landing" / "asterisk_cdr_csv" / "ast-chi-01"
SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples" / "asterisk"
CHICAGO = FileContext("Master.csv", "ast-chi-01", "America/Chicago")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(data: bytes, context: FileContext = CHICAGO) -> list[ParsedRecord | RejectedRecord]:
    return list(parse_file(data, context))


def outcome(item: ParsedRecord | RejectedRecord) -> object:
    return item.reason if isinstance(item, RejectedRecord) else "parsed"


# Hand-computed from the fixture rows (tests/fixtures/mediation/README.md describes each):
# 2024-11-03 is the US fall-back day; Chicago is UTC-5 until 02:00 CDT, then UTC-6.
GOOD_FILE_EXPECTED = [
    dict(
        record_key="1730610600.1#1", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550101", other_party_number="12125550199",
        started_at=utc("2024-11-03 05:10:00"), answered_at=utc("2024-11-03 05:10:05"),
        ended_at=utc("2024-11-03 05:12:05"), duration_seconds=120, is_answered=True,
        release_cause="ANSWERED", outgoing_trunk_group="tg_att_out", incoming_trunk_group=None,
    ),
    dict(
        record_key="1730612400.2#2", record_type="voice_mt", direction="inbound",
        served_msisdn="13125550102", other_party_number="447700900123",
        started_at=utc("2024-11-03 05:20:00"), answered_at=None,
        ended_at=utc("2024-11-03 05:20:30"), duration_seconds=0, is_answered=False,
        release_cause="NO ANSWER", outgoing_trunk_group=None, incoming_trunk_group="tg_bt_in",
    ),
    # 01:50:00 CDT -> 06:50Z; ends 01:10:10 CST -> 07:10:10Z: 1210 s as the row says.
    dict(
        record_key="1730616600.3#3", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550104", other_party_number="13125550103",
        started_at=utc("2024-11-03 06:50:00"), answered_at=utc("2024-11-03 06:50:10"),
        ended_at=utc("2024-11-03 07:10:10"), duration_seconds=1200, is_answered=True,
        release_cause="ANSWERED", outgoing_trunk_group=None, incoming_trunk_group=None,
    ),
    # Wholly inside the repeated hour: both readings fit; the earlier (CDT) one is taken.
    dict(
        record_key="1730615400.4#4", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550101", other_party_number="13125550106",
        started_at=utc("2024-11-03 06:30:00"), answered_at=utc("2024-11-03 06:30:02"),
        ended_at=utc("2024-11-03 06:31:02"), duration_seconds=60, is_answered=True,
        release_cause="ANSWERED", outgoing_trunk_group=None, incoming_trunk_group=None,
    ),
    dict(
        record_key="1730624400.5#5", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550102", other_party_number="911",
        started_at=utc("2024-11-03 09:00:00"), answered_at=utc("2024-11-03 09:00:01"),
        ended_at=utc("2024-11-03 09:02:01"), duration_seconds=120, is_answered=True,
        release_cause="ANSWERED", outgoing_trunk_group="tg_e911", incoming_trunk_group=None,
    ),
    dict(
        record_key="1730625000.6#6", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550104", other_party_number="447700900456",
        started_at=utc("2024-11-03 09:10:00"), answered_at=None,
        ended_at=utc("2024-11-03 09:10:05"), duration_seconds=0, is_answered=False,
        release_cause="BUSY", outgoing_trunk_group="tg_intl", incoming_trunk_group=None,
    ),
    dict(
        record_key="1730628000.7#7", record_type="voice_mt", direction="inbound",
        served_msisdn="13125550105", other_party_number=None,
        started_at=utc("2024-11-03 10:00:00"), answered_at=utc("2024-11-03 10:00:03"),
        ended_at=utc("2024-11-03 10:01:03"), duration_seconds=60, is_answered=True,
        release_cause="ANSWERED", outgoing_trunk_group=None, incoming_trunk_group="tg_att_in",
    ),
]  # fmt: skip


def test_good_file_maps_every_row_as_computed_by_hand() -> None:
    items = parse((CHI / "Master_ast-chi-01_2024110304_000001.csv").read_bytes())

    assert [item.record_number for item in items] == [1, 2, 3, 4, 5, 6, 7]
    assert all(isinstance(item, ParsedRecord) for item in items)
    for item, expected in zip(items, GOOD_FILE_EXPECTED, strict=True):
        assert isinstance(item, ParsedRecord)
        assert set(item.values) == {*PARSER_COLUMNS, "session_key"}
        assert {key: item.values[key] for key in expected} == expected, item.record_number
        # Every call in the file has one leg: its linkedid is its own uniqueid.
        assert item.values["session_key"] == expected["record_key"].split("#")[0]
        assert item.values["service"] == "voice"
        assert (item.values["served_imsi"], item.values["served_imei"]) == (None, None)
        assert item.values["cell_id"] is None
        assert item.values["uplink_bytes"] == item.values["downlink_bytes"] == 0
        assert item.values["data_volume_bytes"] == 0


def test_bad_rows_are_rejected_one_by_one_and_reading_goes_on() -> None:
    data = (CHI / "Master_ast-chi-01_2024110305_000002.csv").read_bytes()
    items = parse(data)

    # Line 8 is blank: no record. Line 2's unclosed quote must not swallow lines 3-12.
    assert [(item.record_number, outcome(item)) for item in items] == [
        (1, "parsed"),
        (2, RejectReason.MALFORMED_ROW),
        (3, RejectReason.INVALID_TIMESTAMP),
        (4, RejectReason.INVALID_DURATION),  # billsec "abc"
        (5, RejectReason.UNKNOWN_COLUMN_LAYOUT),  # 22 columns
        (6, RejectReason.INVALID_ENCODING),  # Latin-1 "é" in the caller id
        (7, RejectReason.INVALID_NUMBER),  # 0125550123
        (9, "parsed"),  # 16-column layout
        (10, "parsed"),  # 18-column layout, CRLF line end
        (11, RejectReason.INVALID_DURATION),  # duration -5
        (12, RejectReason.INVALID_DURATION),  # billsec 7 > duration 5
    ]
    lines = data.split(b"\n")
    for item in items:
        if isinstance(item, RejectedRecord):
            expected_raw = lines[item.record_number - 1].rstrip(b"\r")
            assert item.raw_text == expected_raw.decode("utf-8", errors="backslashreplace")
            assert item.detail
    assert "\\xe9" in items[5].raw_text


def test_row_layouts_give_their_record_keys() -> None:
    items = parse((CHI / "Master_ast-chi-01_2024110305_000002.csv").read_bytes())
    by_number = {item.record_number: item for item in items}
    row16, row18 = by_number[9], by_number[10]
    assert isinstance(row16, ParsedRecord) and isinstance(row18, ParsedRecord)
    assert row18.values["record_key"] == "1730632440.34"  # uniqueid, no sequence column
    assert row16.values["record_key"].startswith("row:")  # no id: a hash of the fields
    # 05:12:00 CST = 11:12Z; 18-column row: answer empty -> not answered.
    assert row16.values["started_at"] == utc("2024-11-03 11:12:00")
    assert row18.values["answered_at"] is None and row18.values["is_answered"] is False


def test_identical_16_column_rows_share_a_key_and_different_ones_do_not() -> None:
    line16 = cdr(columns=16)
    other16 = line16.replace(b"2125550199", b"2125550198")
    items = parse(line16 + line16 + other16)
    keys = [item.values["record_key"] for item in items if isinstance(item, ParsedRecord)]
    assert keys[0] == keys[1] != keys[2]


def test_spring_forward_converts_across_the_gap() -> None:
    # 2024-03-10: Chicago clocks jump 02:00 CST -> 03:00 CDT. 01:59:50 CST = 07:59:50Z,
    # 03:00:10 CDT = 08:00:10Z: the 20-second call the row describes.
    (item,) = parse(
        cdr("2024-03-10 01:59:50", "2024-03-10 01:59:55", "2024-03-10 03:00:10", "20", "15")
    )
    assert isinstance(item, ParsedRecord)
    assert item.values["started_at"] == utc("2024-03-10 07:59:50")
    assert item.values["answered_at"] == utc("2024-03-10 07:59:55")
    assert item.values["ended_at"] == utc("2024-03-10 08:00:10")


def test_a_local_time_skipped_by_dst_is_an_invalid_timestamp() -> None:
    (item,) = parse(cdr("2024-03-10 02:30:00", "", "2024-03-10 03:31:00", "60", "0"))
    assert isinstance(item, RejectedRecord)
    assert item.reason == RejectReason.INVALID_TIMESTAMP
    assert "DST" in item.detail


def test_the_switch_time_zone_is_the_contexts() -> None:
    new_york = FileContext("Master.csv", "ast-nyc-01", "America/New_York")
    (item,) = parse(cdr(), new_york)  # 12:00 EDT = 16:00Z
    assert isinstance(item, ParsedRecord)
    assert item.values["started_at"] == utc("2024-07-01 16:00:00")


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        (cdr(end="2024-07-01 11:59:00"), RejectReason.INVALID_TIMESTAMP, "out of order"),
        (cdr(start="2024-07-01T12:00:00"), RejectReason.INVALID_TIMESTAMP, "start"),
        (cdr(start="2024-02-30 12:00:00"), RejectReason.INVALID_TIMESTAMP, "start"),
        (cdr(duration="6.5"), RejectReason.INVALID_DURATION, "whole number"),
        (cdr(answer="", billsec="60"), RejectReason.INVALID_DURATION, "without an answer"),
        (cdr(billsec=""), RejectReason.MISSING_FIELD, "billsec"),
        (cdr(dst=""), RejectReason.MISSING_FIELD, "dst"),
        (cdr(src="client1"), RejectReason.INVALID_NUMBER, "client1"),
        (b'"a","b"\n', RejectReason.UNKNOWN_COLUMN_LAYOUT, "2 columns"),
        (b'"a"b,"c"\n', RejectReason.MALFORMED_ROW, "CSV error"),  # text after a closing quote
    ],
)
def test_each_bad_field_has_its_reason(line: bytes, reason: RejectReason, detail: str) -> None:
    (item,) = parse(line)
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (1, reason)
    assert detail in item.detail


def test_billsec_one_second_over_duration_is_asterisk_rounding_and_accepted() -> None:
    # initiatedseconds=yes rounds billsec up while duration is truncated.
    (item,) = parse(cdr(answer="2024-07-01 12:00:00", end="2024-07-01 12:00:05", duration="5",
                        billsec="6"))  # fmt: skip
    assert isinstance(item, ParsedRecord)
    assert item.values["duration_seconds"] == 6


def test_answered_with_zero_billsec_is_not_answered() -> None:
    (item,) = parse(cdr(answer="2024-07-01 12:01:05", billsec="0"))
    assert isinstance(item, ParsedRecord)
    assert item.values["is_answered"] is False
    assert item.values["answered_at"] == utc("2024-07-01 17:01:05")


def test_withheld_caller_only_on_inbound() -> None:
    (inbound,) = parse(cdr(src="", dst="3125550101", dcontext="from-trunk"))
    (outbound,) = parse(cdr(src=""))
    assert isinstance(inbound, ParsedRecord)
    assert inbound.values["other_party_number"] is None
    assert isinstance(outbound, RejectedRecord)
    assert outbound.reason == RejectReason.MISSING_FIELD


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n\n  \n"])
def test_a_file_without_records_is_one_empty_file_reject(data: bytes) -> None:
    (item,) = parse(data)
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (0, RejectReason.EMPTY_FILE)


def test_a_last_line_without_newline_is_still_read() -> None:
    assert [outcome(item) for item in parse(cdr().rstrip(b"\n"))] == ["parsed"]


# --- real files from the Asterisk test suite and elsewhere (../shared/samples) ----------


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"sample {name} not available")
    return path.read_bytes()


def outcomes(name: str) -> list[tuple[int, object]]:
    return [(item.record_number, outcome(item)) for item in parse(sample(name))]


def test_sample_self_test_rows_have_no_caller_number() -> None:
    # Console/dsp calls to extension 1: src is empty, so there is no subscriber to bill.
    assert outcomes("testsuite_self_test_Master.csv") == [
        (1, RejectReason.MISSING_FIELD),
        (2, RejectReason.MISSING_FIELD),
    ]
    assert outcomes("testsuite_self_test_Master2.csv") == [(1, RejectReason.MISSING_FIELD)]


def test_sample_self_test_rows_parse_once_numbered() -> None:
    # The same real row with routable numbers: its layout, times and durations are read.
    line = sample("testsuite_self_test_Master.csv").split(b"\n")[0]
    line = line.replace(b'"","","1","default"', b'"","3125550101","2125550199","default"', 1)
    (item,) = parse(line)
    assert isinstance(item, ParsedRecord)
    assert item.values["record_key"] == "1270167992.0"
    assert item.values["started_at"] == utc("2010-04-02 05:26:32")  # 00:26:32 CDT
    assert item.values["ended_at"] == utc("2010-04-02 05:26:39")
    assert item.values["duration_seconds"] == 7


def test_sample_cdrlib_good_billsec_over_duration_is_rejected() -> None:
    # Row 2 bills 7 s of a 5 s call; the others have "test" as caller, a SIP user name.
    assert outcomes("testsuite_cdrlib_good.csv") == [
        (1, RejectReason.INVALID_NUMBER),
        (2, RejectReason.INVALID_DURATION),
        (3, RejectReason.INVALID_NUMBER),
        (4, RejectReason.INVALID_NUMBER),
        (5, RejectReason.INVALID_NUMBER),
    ]


def test_sample_cdrlib_buggy_unclosed_quote_is_a_malformed_row() -> None:
    assert outcomes("testsuite_cdrlib_buggy.csv") == [(1, RejectReason.MALFORMED_ROW)]
