import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.mediation.cisco_cucm_cdr import (
    CAUSE_NAMES,
    DEFAULT_TRUNKS,
    Q850_CAUSES,
    SIP_CAUSES,
    InvalidFileNameError,
    TrunkRule,
    group_legs,
    parse_file,
    parse_file_name,
)
from pipelines.mediation.records import (
    PARSER_COLUMNS,
    FileContext,
    ParsedRecord,
    RejectedRecord,
)
from pipelines.schema import RejectReason

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cisco_cucm"
FILE_NAME = "cdr_telco-chi_01_202407011640_000123"
SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples" / "cisco_cucm"
CONTEXT = FileContext(FILE_NAME, "cucm-chi-01", "America/Chicago")

DATA = (FIXTURES / FILE_NAME).read_bytes()
LINES = DATA.split(b"\n")
NAMES = next(csv.reader([LINES[0].decode()]))
TYPES = LINES[1].decode().split(",")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(data: bytes, trunks: TrunkRule = DEFAULT_TRUNKS) -> list[ParsedRecord | RejectedRecord]:
    return list(parse_file(data, CONTEXT, trunks=trunks))


def outcome(item: ParsedRecord | RejectedRecord) -> object:
    return item.reason if isinstance(item, RejectedRecord) else "parsed"


def fields_of(**changes: str) -> list[str]:
    """Fixture row 1 (an answered outbound call) with some fields, named, replaced."""
    fields = next(csv.reader([LINES[2].decode()]))
    for name, value in changes.items():
        fields[NAMES.index(name)] = value
    return fields


def encode(fields: list[str], types: list[str] = TYPES) -> bytes:
    """A data row as CUCM writes it: INTEGER fields bare, every other field quoted."""
    return ",".join(
        f if t == "INTEGER" else f'"{f}"' for f, t in zip(fields, types, strict=True)
    ).encode()


def row(**changes: str) -> bytes:
    return encode(fields_of(**changes))


def file_of(*rows: bytes, names: list[str] = NAMES, types: list[str] = TYPES) -> bytes:
    header = ",".join(f'"{n}"' for n in names) + "\n" + ",".join(types) + "\n"
    return header.encode() + b"".join(r + b"\n" for r in rows)


# Hand-computed from tests/fixtures/cisco_cucm/README.md: 1719846000 = 2024-07-01 15:00:00Z.
EXPECTED = {
    1: dict(
        record_key="1:1001:20001:20002", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550101", other_party_number="12125550199",
        started_at=utc("2024-07-01 15:00:00"), answered_at=utc("2024-07-01 15:00:05"),
        ended_at=utc("2024-07-01 15:02:05"), duration_seconds=120, is_answered=True,
        release_cause="Normal call clearing", outgoing_trunk_group="SIP_ATT_OUT",
        incoming_trunk_group=None,
    ),
    2: dict(
        record_key="1:1002:20003:20004", record_type="voice_mt", direction="inbound",
        served_msisdn="13125550102", other_party_number="447700900123",
        started_at=utc("2024-07-01 15:10:00"), answered_at=utc("2024-07-01 15:10:08"),
        ended_at=utc("2024-07-01 15:11:08"), duration_seconds=60, is_answered=True,
        release_cause="Normal call clearing", outgoing_trunk_group=None,
        incoming_trunk_group="SIP_BT_IN",
    ),
    3: dict(
        record_key="1:1003:20005:20006", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550101", other_party_number="13125550103",
        started_at=utc("2024-07-01 15:20:00"), answered_at=utc("2024-07-01 15:20:03"),
        ended_at=utc("2024-07-01 15:25:03"), duration_seconds=300, is_answered=True,
        release_cause="Normal call clearing", outgoing_trunk_group=None,
        incoming_trunk_group=None,
    ),
    # Rang out at the far end: the carrier's cause 19 is on the destination side.
    4: dict(
        record_key="1:1004:20007:20008", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550102", other_party_number="442079460123",
        started_at=utc("2024-07-01 15:30:00"), answered_at=None,
        ended_at=utc("2024-07-01 15:30:30"), duration_seconds=0, is_answered=False,
        release_cause="No answer from user (user alerted)", outgoing_trunk_group="SIP_ATT_OUT",
        incoming_trunk_group=None,
    ),
    # The caller gave up while it rang: cause 16 on the originating side, still unanswered.
    5: dict(
        record_key="1:1005:20009:20010", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550103", other_party_number="13125550101",
        started_at=utc("2024-07-01 15:40:00"), answered_at=None,
        ended_at=utc("2024-07-01 15:40:15"), duration_seconds=0, is_answered=False,
        release_cause="Normal call clearing", outgoing_trunk_group=None,
        incoming_trunk_group=None,
    ),
    # Inbound call forwarded by +13125550102 to the PSTN: the forwarder pays the out leg.
    8: dict(
        record_key="1:1008:20015:20016", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550102", other_party_number="12125550188",
        started_at=utc("2024-07-01 16:00:00"), answered_at=utc("2024-07-01 16:00:10"),
        ended_at=utc("2024-07-01 16:01:40"), duration_seconds=90, is_answered=True,
        release_cause="Normal call clearing", outgoing_trunk_group="SIP_ATT_OUT",
        incoming_trunk_group="SIP_BT_IN",
    ),
}  # fmt: skip


def test_fixture_header_is_the_12_5_flat_file_layout() -> None:
    assert len(NAMES) == len(TYPES) == 133
    assert NAMES[:5] == [
        "cdrRecordType",
        "globalCallID_callManagerId",
        "globalCallID_callId",
        "origLegCallIdentifier",
        "dateTimeOrigination",
    ]
    assert NAMES[-4:] == [
        "origDeviceType",
        "destDeviceType",
        "origDeviceSessionID",
        "destDeviceSessionID",
    ]
    assert TYPES[NAMES.index("pkid")] == "UNIQUEIDENTIFIER"


def test_fixture_maps_every_row_as_computed_by_hand() -> None:
    items = parse(DATA)

    assert [(item.record_number, outcome(item)) for item in items] == [
        (1, "parsed"),
        (2, "parsed"),
        (3, "parsed"),
        (4, "parsed"),
        (5, "parsed"),
        (6, RejectReason.UNSUPPORTED_RECORD_TYPE),
        (7, RejectReason.MALFORMED_ROW),
        (8, "parsed"),
    ]
    for item in items:
        if isinstance(item, RejectedRecord):
            assert item.raw_text == LINES[item.record_number + 1].decode()
            continue
        assert set(item.values) == set(PARSER_COLUMNS)
        expected = EXPECTED[item.record_number]
        assert {key: item.values[key] for key in expected} == expected, item.record_number
        assert item.values["service"] == "voice"
        assert (item.values["served_imsi"], item.values["served_imei"]) == (None, None)
        assert item.values["cell_id"] is None
        assert item.values["uplink_bytes"] == item.values["downlink_bytes"] == 0
        assert item.values["data_volume_bytes"] == 0
    cmr, malformed = items[5], items[6]
    assert isinstance(cmr, RejectedRecord) and isinstance(malformed, RejectedRecord)
    assert cmr.detail == "CMR (call management record): quality data, not usage"
    assert "CSV error" in malformed.detail


def test_legs_group_by_global_call_id() -> None:
    parsed = [item for item in parse(DATA) if isinstance(item, ParsedRecord)]
    second_leg = parse(file_of(row(origLegCallIdentifier="20017", destLegIdentifier="20018")))
    assert isinstance(second_leg[0], ParsedRecord)

    calls = group_legs([*parsed, second_leg[0]])

    assert list(calls) == ["1:1001", "1:1002", "1:1003", "1:1004", "1:1005", "1:1008"]
    assert [r.values["record_key"] for r in calls["1:1001"]] == [
        "1:1001:20001:20002",
        "1:1001:20017:20018",
    ]


# --- file names -----------------------------------------------------------------------


def test_file_name_gives_cluster_node_minute_and_sequence() -> None:
    parsed = parse_file_name(FILE_NAME)
    assert parsed == ("telco-chi", "01", utc("2024-07-01 16:40:00"), 123)
    assert parsed.closed_at.tzinfo is UTC
    # Cisco's default cluster id, as in files from real clusters.
    assert parse_file_name("cdr_StandAloneCluster_02_201810261040_329890").node == "02"


@pytest.mark.parametrize(
    "name",
    [
        "cmr_StandAloneCluster_01_201810261040_329890",  # a CMR file, not a CDR file
        "cdr_StandAloneCluster_01_2018102610_329890",  # hour only
        "cdr_StandAloneCluster_01_201813261040_329890",  # month 13
        "cdr_StandAloneCluster_01_201810261040",  # no sequence
        "cdr_StandAloneCluster_01_201810261040_329890.csv",
        "Master.csv",
    ],
)
def test_other_file_names_raise(name: str) -> None:
    with pytest.raises(InvalidFileNameError, match=re.escape(name)):
        parse_file_name(name)


# --- one reason per fault -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        (row(duration="-5"), RejectReason.INVALID_DURATION, "duration '-5'"),
        (row(duration="122"), RejectReason.INVALID_DURATION, "connected for 120 s"),
        (row(dateTimeConnect="0"), RejectReason.INVALID_DURATION, "connected for 0 s"),
        (row(dateTimeOrigination="2024-07-01"), RejectReason.INVALID_TIMESTAMP, "epoch"),
        (row(dateTimeOrigination="0"), RejectReason.INVALID_TIMESTAMP, "is 0"),
        (row(dateTimeConnect="1719845999"), RejectReason.INVALID_TIMESTAMP, "out of order"),
        (row(dateTimeDisconnect=""), RejectReason.MISSING_FIELD, "dateTimeDisconnect"),
        (row(origDeviceName=""), RejectReason.MISSING_FIELD, "origDeviceName"),
        (row(cdrRecordType=""), RejectReason.MISSING_FIELD, "cdrRecordType"),
        (row(finalCalledPartyNumber=""), RejectReason.MISSING_FIELD, "finalCalledPartyNumber"),
        (row(callingPartyNumber="1001"), RejectReason.INVALID_NUMBER, "callingPartyNumber"),
        (row(finalCalledPartyNumber="0125550123"), RejectReason.INVALID_NUMBER, "NANP"),
        (row(cdrRecordType="0"), RejectReason.UNSUPPORTED_RECORD_TYPE, "start record"),
        (row(cdrRecordType="7"), RejectReason.UNSUPPORTED_RECORD_TYPE, "'7'"),
        (row(globalCallID_callId="x1"), RejectReason.MALFORMED_ROW, "globalCallID_callId"),
        (row(origCause_value="sixteen"), RejectReason.MALFORMED_ROW, "origCause_value"),
        (row() + b',"extra"', RejectReason.MALFORMED_ROW, "134 columns"),
        (row() + b'x"', RejectReason.MALFORMED_ROW, "CSV error"),
        (row(comment="caf\xe9").replace("é".encode(), b"\xe9"), RejectReason.INVALID_ENCODING,
         "0xe9"),
    ],
)  # fmt: skip
def test_each_fault_has_its_reason(line: bytes, reason: RejectReason, detail: str) -> None:
    (item,) = parse(file_of(line))
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (1, reason)
    assert detail in item.detail


def test_duration_may_differ_from_the_times_by_one_second() -> None:
    # Connected 120 s by the whole-second times; CUCM's millisecond duration rounds to 121.
    (item,) = parse(file_of(row(duration="121")))
    assert isinstance(item, ParsedRecord)
    assert item.values["duration_seconds"] == 121


def test_inbound_call_without_caller_number_is_kept() -> None:
    line = row(origDeviceName="SIP_BT_IN", destDeviceName="SEP00AABBCC0102",
               callingPartyNumber="", finalCalledPartyNumber="+13125550102")  # fmt: skip
    (item,) = parse(file_of(line))
    assert isinstance(item, ParsedRecord)
    assert item.values["other_party_number"] is None
    assert item.values["served_msisdn"] == "13125550102"


def test_trunk_to_trunk_without_redirecting_number_is_transit() -> None:
    (item,) = parse(file_of(row(origDeviceName="SIP_BT_IN")))
    assert isinstance(item, RejectedRecord)
    assert item.reason == RejectReason.MISSING_FIELD
    assert "lastRedirectDn" in item.detail


def test_trunk_rule_is_configurable() -> None:
    line = row(destDeviceName="CUBE-ORD-01")
    (default,) = parse(file_of(line))
    (configured,) = parse(file_of(line), trunks=TrunkRule(names=frozenset({"cube-ord-01"})))
    assert isinstance(default, ParsedRecord) and isinstance(configured, ParsedRecord)
    assert default.values["outgoing_trunk_group"] is None
    assert configured.values["outgoing_trunk_group"] == "CUBE-ORD-01"


@pytest.mark.parametrize(
    ("orig", "dest", "expected"),
    [(16, 0, "Normal call clearing"), (0, 17, "User busy"), (0, 0, "No error"),
     (0, 1174405137, "SIP 486 Busy Here"), (0, 999, "Unknown cause 999")],
)  # fmt: skip
def test_release_cause_is_the_clearing_sides_cause(orig: int, dest: int, expected: str) -> None:
    (item,) = parse(file_of(row(origCause_value=str(orig), destCause_value=str(dest))))
    assert isinstance(item, ParsedRecord)
    assert item.values["release_cause"] == expected


def test_crlf_lines_and_blank_lines() -> None:
    data = file_of(row(), b"", row(globalCallID_callId="1009")).replace(b"\n", b"\r\n")
    assert [(i.record_number, outcome(i)) for i in parse(data)] == [(1, "parsed"), (2, "parsed")]


# --- the header -----------------------------------------------------------------------


def test_columns_are_found_by_name_whatever_the_release() -> None:
    # An 11.x file (no 12.5 device fields), and a layout with its columns reversed.
    fields = fields_of()
    older = file_of(encode(fields[:-4], TYPES[:-4]), names=NAMES[:-4], types=TYPES[:-4])
    reversed_types = TYPES[::-1]
    shuffled = file_of(
        encode(fields[::-1], reversed_types), names=NAMES[::-1], types=reversed_types
    )
    results = [parse(older), parse(shuffled), parse(DATA)[:1]]
    values = [r[0].values for r in results if isinstance(r[0], ParsedRecord)]
    assert len(values) == 3 and values[0] == values[1] == values[2]


def test_cisco_field_table_spelling_of_the_destination_leg_is_accepted() -> None:
    names = ["destLegCallIdentifier" if n == "destLegIdentifier" else n for n in NAMES]
    (item,) = parse(file_of(row(), names=names))
    assert isinstance(item, ParsedRecord)
    assert item.values["record_key"] == "1:1001:20001:20002"


def test_missing_required_column_rejects_the_file_and_every_row() -> None:
    position = NAMES.index("duration")
    names = NAMES[:position] + NAMES[position + 1 :]
    types = TYPES[:position] + TYPES[position + 1 :]
    items = parse(file_of(row(), row(), names=names, types=types))
    assert [(i.record_number, outcome(i)) for i in items] == [
        (0, RejectReason.UNKNOWN_COLUMN_LAYOUT),
        (1, RejectReason.UNKNOWN_COLUMN_LAYOUT),
        (2, RejectReason.UNKNOWN_COLUMN_LAYOUT),
    ]
    assert all("lacks duration" in i.detail for i in items if isinstance(i, RejectedRecord))


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (LINES[0] + b"\n", "no field-type line"),
        (LINES[0] + b"\n" + LINES[2] + b"\n" + LINES[3] + b"\n", "line 2 is not 133"),
        (LINES[2] + b"\n" + LINES[1] + b"\n" + LINES[3] + b"\n", "not a list of field names"),
        (b'"cdrRecordType","cdrrecordtype"\nINTEGER,INTEGER\n1,1\n', "appears twice"),
        (b'"cdrRecordType\nINTEGER\n', "field-name line"),
    ],
)
def test_unreadable_header_is_one_file_reject_and_rows_stay_counted(
    data: bytes, detail: str
) -> None:
    items = parse(data)
    first, *rows = items
    assert isinstance(first, RejectedRecord)
    assert (first.record_number, first.reason) == (0, RejectReason.UNREADABLE_FILE)
    assert detail in first.detail
    data_rows = [line for line in data.split(b"\n")[2:] if line.strip()]
    assert [i.record_number for i in rows] == list(range(1, len(data_rows) + 1))
    assert {outcome(i) for i in rows} <= {RejectReason.UNKNOWN_COLUMN_LAYOUT}


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\r\n \n", file_of()])
def test_a_file_without_rows_is_one_empty_file_reject(data: bytes) -> None:
    (item,) = parse(data)
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (0, RejectReason.EMPTY_FILE)


# --- cause table against Cisco's, as vendored in ../shared/samples --------------------


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def test_cause_table_matches_ciscos() -> None:
    path = SAMPLES / "ideocentric_cisco-call-termination-cause-codes.yml"
    if not path.is_file():
        pytest.skip("../shared/samples/cisco_cucm not available")
    # One '"code": "name"' per line; read as text because some names carry YAML-hostile
    # punctuation (': ', '—') that the table writes as plain ASCII.
    cisco = {
        int(code): name
        for code, name in re.findall(r'^"([0-9]+)": "(.*)"$', path.read_text(), re.MULTILINE)
    }
    assert len(cisco) > 100
    assert set(cisco) == set(CAUSE_NAMES)
    for code, name in Q850_CAUSES.items():
        if code == 393216:  # Cisco's entry goes on to explain transfers; the name is its start
            assert _words(cisco[code]).startswith(_words(name))
        else:
            assert _words(cisco[code]) == _words(name), code
    for code, (status, _) in SIP_CAUSES.items():
        assert re.match(rf"CCM_SIP__?{status}_", cisco[code]), code
        # The low byte is the Q.850 equivalent; 25 (exchange routing error, for 482 and 483)
        # is a Q.850 cause Cisco's list of causes leaves out.
        assert code & 0xFF in {*Q850_CAUSES, 25}, code


# --- robustness -----------------------------------------------------------------------


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    mutated = bytearray(data)
    for position, value in edits:
        mutated[position] = value
    return bytes(mutated)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.lists(st.tuples(st.integers(0, len(DATA) - 1), st.integers(0, 255)), max_size=8).map(
            lambda edits: _mutate(DATA, edits)
        ),
        st.integers(0, len(DATA)).map(lambda n: DATA[:n]),
    )
)
def test_parse_file_never_raises_and_counts_every_row(data: bytes) -> None:
    items = parse(data)
    assert all(isinstance(item, ParsedRecord | RejectedRecord) for item in items)
    numbers = [item.record_number for item in items]
    assert numbers == sorted(set(numbers))
    lines = [line.removesuffix(b"\r") for line in data.split(b"\n")]
    rows = [line for line in lines[2:] if line.strip()]
    assert [n for n in numbers if n > 0] == list(range(1, len(rows) + 1))
    for item in items:
        if isinstance(item, ParsedRecord):
            assert set(item.values) == set(PARSER_COLUMNS)
            assert item.values["started_at"].tzinfo is UTC
