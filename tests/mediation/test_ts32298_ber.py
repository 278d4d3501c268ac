"""The ts32298_ber parser: MobileCdr -> CDR file -> canonical rows, rejects, robustness."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mobile_cdrs import T0, mobile_cdr
from pycrate_asn1dir import CDR

from pipelines.formats import ts32298
from pipelines.formats.cdr_events import MobileCdr
from pipelines.formats.ts32297 import CdrHeader, TsNumber, encode_cdr_header
from pipelines.mediation.records import (
    PARSER_COLUMNS,
    PARTIAL_COLUMNS,
    FileContext,
    ParsedRecord,
    RejectedRecord,
)
from pipelines.mediation.ts32298_ber import PARTIAL_SEQUENCE_MAX, parse_file, read_header
from pipelines.schema import RejectReason

CONTEXT = FileContext("MSC1_2025030111_000007.ber", "MSC1", "America/Chicago", 7)
MSC = "13125550000"


def cdr(record_type: str, **overrides: object) -> MobileCdr:
    return mobile_cdr(record_type, **overrides)


def file_of(items: list[MobileCdr | bytes], offset_minutes: int = -360) -> bytes:
    return ts32298.encode_cdr_file(
        items,
        node_address="10.1.2.3",
        file_sequence_number=7,
        opened_at=T0,
        closed_at=T0 + timedelta(hours=1),
        utc_offset_minutes=offset_minutes,
        recording_entity=MSC,
        service_centre="13125550001",
    )


def parse(data: bytes) -> list[ParsedRecord | RejectedRecord]:
    return list(parse_file(data, CONTEXT))


def row(partial_columns: bool = False, **values: object) -> dict[str, object]:
    """A canonical row: the given values over the defaults every record shares (and
    PARTIAL_COLUMNS, None unless given, where ``partial_columns``: PGW records)."""
    columns = (*PARSER_COLUMNS, *PARTIAL_COLUMNS) if partial_columns else PARSER_COLUMNS
    base: dict[str, object] = dict.fromkeys(columns)
    base.update(
        served_msisdn="13125550123",
        served_imsi="310260123456789",
        served_imei="356987012345678",
        uplink_bytes=0,
        downlink_bytes=0,
        data_volume_bytes=0,
        is_answered=True,
        release_cause="normalRelease",
        cell_id="310-260-1234-5678",
    )
    base.update(values)
    return base


def test_every_record_type_round_trips_with_hand_computed_values() -> None:
    items: list[MobileCdr | bytes] = [
        cdr("voice_mo", call_reference=1001, outgoing_trunk_group="TG-ATT-01"),
        cdr(
            "voice_mt",
            call_reference=1002,
            answered_at=None,
            ended_at=T0 + timedelta(seconds=30),
            release_cause="unsuccessfulCallAttempt",
            incoming_trunk_group="TG-VZ-02",
        ),
        cdr("sms_mo", call_reference=1003, other_party_number="911"),
        cdr("sms_mt", call_reference=1004),
        cdr("data", record_sequence_number=2, release_cause="timeLimit"),
        cdr("voice_mo", call_reference=1005, other_party_number="911", record_sequence_number=1),
    ]
    # +09:30 (a half-hour zone) must give the same UTC instants as -06:00.
    for offset in (-360, 570):
        parsed = parse(file_of(items, offset))
        assert all(isinstance(item, ParsedRecord) for item in parsed)
        assert [item.record_number for item in parsed] == [1, 2, 3, 4, 5, 6]
        values = [item.values for item in parsed]  # type: ignore[union-attr]
        assert values[0] == row(
            record_key=f"{MSC}-1001-0",
            record_type="voice_mo",
            service="voice",
            direction="outbound",
            other_party_number="447700900123",
            started_at=datetime(2025, 3, 1, 16, 15, 0, tzinfo=UTC),
            answered_at=datetime(2025, 3, 1, 16, 15, 5, tzinfo=UTC),
            ended_at=datetime(2025, 3, 1, 16, 17, 5, tzinfo=UTC),
            duration_seconds=120,
            outgoing_trunk_group="TG-ATT-01",
        )
        assert values[1] == row(
            record_key=f"{MSC}-1002-0",
            record_type="voice_mt",
            service="voice",
            direction="inbound",
            other_party_number="447700900123",
            started_at=datetime(2025, 3, 1, 16, 15, 0, tzinfo=UTC),
            ended_at=datetime(2025, 3, 1, 16, 15, 30, tzinfo=UTC),
            duration_seconds=0,
            is_answered=False,
            release_cause="unsuccessfulCallAttempt",
            incoming_trunk_group="TG-VZ-02",
        )
        sms_time = datetime(2025, 3, 1, 16, 15, 0, tzinfo=UTC)
        assert values[2] == row(
            record_key=f"{MSC}-1003-0",
            record_type="sms_mo",
            service="sms",
            direction="outbound",
            other_party_number="911",
            started_at=sms_time,
            ended_at=sms_time,
            duration_seconds=0,
        )
        assert values[3]["record_type"] == "sms_mt"
        assert values[3]["direction"] == "inbound"
        assert values[3]["other_party_number"] == "447700900123"
        assert values[3]["record_key"] == f"{MSC}-1004-0"
        assert values[4] == row(
            partial_columns=True,
            record_key="10.1.2.3-777-2",
            record_type="data",
            service="data",
            direction="none",
            started_at=datetime(2025, 3, 1, 16, 15, 0, tzinfo=UTC),
            ended_at=datetime(2025, 3, 1, 16, 17, 5, tzinfo=UTC),
            duration_seconds=125,
            uplink_bytes=1000,
            downlink_bytes=20000,
            data_volume_bytes=21000,
            release_cause="timeLimit",
            session_key="10.1.2.3-777",
            partial_sequence=2,
            is_last_partial=False,
        )
        assert values[5]["other_party_number"] == "911"
        assert values[5]["record_key"] == f"{MSC}-1005-1"
        assert values[5]["session_key"] == f"{MSC}-1005"
        for value in values:
            # PGW records and partial calls carry the partial columns (PGW: None on a
            # whole session); whole calls and SMS leave them out.
            partial = value["record_type"] == "data" or value["record_key"].endswith("-1")
            extra = set(PARTIAL_COLUMNS) if partial else set()
            assert set(value) == set(PARSER_COLUMNS) | extra


def _partial_values(record: MobileCdr) -> dict[str, object]:
    (parsed,) = parse(file_of([record]))
    assert isinstance(parsed, ParsedRecord)
    return {name: parsed.values[name] for name in ("record_key", *PARTIAL_COLUMNS)}


def test_pgw_partial_records_carry_their_session_and_place_in_it() -> None:
    assert _partial_values(cdr("data", charging_id=42, record_sequence_number=1)) == {
        "record_key": "10.1.2.3-42-1",
        "session_key": "10.1.2.3-42",
        "partial_sequence": 1,
        "is_last_partial": True,  # normalRelease
    }
    for cause, last in [
        ("timeLimit", False),
        ("volumeLimit", False),
        ("servingNodeChange", False),
        ("rATChange", False),
        ("sGWChange", False),
        ("aPNAMBRChange", False),
        ("partialRecord", False),
        ("abnormalRelease", True),
        ("cAMELInitCallRelease", True),
        ("managementIntervention", True),
    ]:
        record = cdr("data", charging_id=42, record_sequence_number=3, release_cause=cause)
        values = _partial_values(record)
        assert values["session_key"] == "10.1.2.3-42"
        assert values["partial_sequence"] == 3
        assert values["is_last_partial"] is last, cause


def msc_partials(call_reference: int = 1007) -> list[MobileCdr]:
    """One answered MO call of 125 + 600 + 300 s cut into three partial records: only the
    first carries answerTime, the last the call's own release cause."""
    cut1, cut2 = T0 + timedelta(seconds=125), T0 + timedelta(seconds=725)
    return [
        cdr(
            "voice_mo",
            call_reference=call_reference,
            record_sequence_number=1,
            ended_at=cut1,
            release_cause="partialRecord",
        ),
        cdr(
            "voice_mo",
            call_reference=call_reference,
            record_sequence_number=2,
            started_at=cut1,
            answered_at=None,
            ended_at=cut2,
            release_cause="partialRecordCallReestablishment",
        ),
        cdr(
            "voice_mo",
            call_reference=call_reference,
            record_sequence_number=3,
            started_at=cut2,
            answered_at=None,
            ended_at=cut2 + timedelta(seconds=300),
        ),
    ]


def test_msc_call_partials_carry_their_call_and_place_in_it() -> None:
    parsed = parse(file_of(msc_partials()))
    assert all(isinstance(item, ParsedRecord) for item in parsed)
    values = [item.values for item in parsed]  # type: ignore[union-attr]
    columns = ("record_key", *PARTIAL_COLUMNS, "is_answered", "duration_seconds")
    assert [tuple(value[name] for name in columns) for value in values] == [
        (f"{MSC}-1007-1", f"{MSC}-1007", 1, False, True, 120),
        (f"{MSC}-1007-2", f"{MSC}-1007", 2, False, True, 600),
        (f"{MSC}-1007-3", f"{MSC}-1007", 3, True, True, 300),
    ]
    # answerTime is the first partial's; the later ones keep their callDuration anyway.
    assert values[0]["answered_at"] == T0 + timedelta(seconds=5)
    assert values[1]["answered_at"] is None and values[2]["answered_at"] is None
    assert [value["release_cause"] for value in values] == [
        "partialRecord",
        "partialRecordCallReestablishment",
        "normalRelease",
    ]
    # An unanswered first partial stays unanswered, duration 0, as a whole call would.
    first = _partial_values(cdr("voice_mt", record_sequence_number=1, answered_at=None))
    assert first["is_last_partial"] is True
    (item,) = parse(file_of([cdr("voice_mt", record_sequence_number=1, answered_at=None)]))
    assert isinstance(item, ParsedRecord)
    assert (item.values["is_answered"], item.values["duration_seconds"]) == (False, 0)


def test_whole_pgw_sessions_and_other_records_have_no_partial_values() -> None:
    whole = _partial_values(cdr("data", charging_id=42, release_cause="timeLimit"))
    assert whole == dict.fromkeys(PARTIAL_COLUMNS, None) | {"record_key": "10.1.2.3-42-0"}
    # A whole call (no sequenceNumber) leaves the partial columns out: they stay None.
    for kind in ("voice_mo", "voice_mt", "sms_mo"):
        (item,) = parse(file_of([cdr(kind)]))
        assert isinstance(item, ParsedRecord)
        assert item.values["record_key"] == f"{MSC}-1000-0"
        assert not set(item.values) & set(PARTIAL_COLUMNS)


def test_record_sequence_number_outside_the_partial_sequence_type_is_rejected() -> None:
    for kind, field in (("data", "recordSequenceNumber"), ("voice_mo", "sequenceNumber")):
        for sequence in (-1, PARTIAL_SEQUENCE_MAX + 1, 2**40):
            (item,) = parse(file_of([cdr(kind, record_sequence_number=sequence)]))
            assert isinstance(item, RejectedRecord)
            assert item.reason == RejectReason.INVALID_NUMBER
            assert field in item.detail
        (item,) = parse(file_of([cdr(kind, record_sequence_number=PARTIAL_SEQUENCE_MAX)]))
        assert isinstance(item, ParsedRecord)
        assert item.values["partial_sequence"] == PARTIAL_SEQUENCE_MAX


def _cdr_bytes(payload: bytes) -> bytes:
    return encode_cdr_header(CdrHeader(15, 0, TsNumber.TS_32_250), len(payload)) + payload


def test_corrupt_record_is_rejected_and_the_rest_parsed() -> None:
    parsed = parse(file_of([cdr("voice_mo"), b"\xa0\x05\x80\x01", cdr("sms_mo")]))
    assert [type(item).__name__ for item in parsed] == [
        "ParsedRecord",
        "RejectedRecord",
        "ParsedRecord",
    ]
    reject = parsed[1]
    assert isinstance(reject, RejectedRecord)
    assert reject.record_number == 2
    assert reject.reason == RejectReason.UNDECODABLE_RECORD
    assert reject.raw_text == "a0058001"
    assert reject.detail


def test_truncated_file_gives_one_truncated_record_and_stops() -> None:
    data = file_of([cdr("voice_mo"), cdr("voice_mt"), cdr("sms_mo")])
    cut = data[:-10]
    parsed = parse(cut)
    assert [item.record_number for item in parsed] == [1, 2, 3]
    last = parsed[-1]
    assert isinstance(last, RejectedRecord)
    assert last.reason == RejectReason.TRUNCATED_RECORD
    sms = ts32298.encode_call_event_record(
        cdr("sms_mo"),
        recording_entity=MSC,
        service_centre="13125550001",
        node_address="10.1.2.3",
        utc_offset_minutes=-360,
    )
    third_start = len(data) - len(_cdr_bytes(sms))
    assert last.raw_text == cut[third_start:].hex()
    # The header still says 3 CDRs; read_header lets the caller see that.
    frame = read_header(cut)
    assert frame is not None
    assert frame.header.cdr_count == 3
    assert frame.file_length == len(data) != len(cut)


def test_empty_file_and_garbage_header() -> None:
    assert parse(b"") == [RejectedRecord(0, RejectReason.EMPTY_FILE, "file has 0 bytes", "")]
    garbage = parse(b"this is not a CDR file at all, only text in a .ber file name" * 2)
    assert len(garbage) == 1
    assert garbage[0].record_number == 0
    assert isinstance(garbage[0], RejectedRecord)
    assert garbage[0].reason == RejectReason.UNREADABLE_FILE
    assert read_header(b"") is None


def test_unsupported_alternative_and_missing_field() -> None:
    choice = CDR.CSChargingDataTypes.CSRecord
    choice.set_val(
        (
            "niLCSRecord",
            {
                "recordType": 25,
                "recordingEntity": ts32298.encode_address_string(MSC),
                "eventTimeStamp": ts32298.encode_timestamp(T0, -360),
                "causeForTerm": 0,
            },
        )
    )
    lcs = bytes(choice.to_ber())
    _, mo_call = ts32298.decode_call_event_record(
        ts32298.encode_call_event_record(
            cdr("voice_mo"),
            recording_entity=MSC,
            service_centre=MSC,
            node_address="10.1.2.3",
            utc_offset_minutes=0,
        )
    )
    del mo_call["servedMSISDN"]
    choice.set_val(("moCallRecord", mo_call))
    no_msisdn = bytes(choice.to_ber())
    parsed = parse(file_of([lcs, no_msisdn, cdr("data")]))
    assert [getattr(item, "reason", None) for item in parsed] == [
        RejectReason.UNSUPPORTED_RECORD_TYPE,
        RejectReason.MISSING_FIELD,
        None,
    ]
    assert "servedMSISDN" in parsed[1].detail  # type: ignore[union-attr]


def test_header_count_disagreeing_with_records_drops_nothing() -> None:
    data = bytearray(file_of([cdr("voice_mo"), cdr("sms_mt")]))
    data[18:22] = (5).to_bytes(4, "big")  # header claims 5 CDRs
    parsed = parse(bytes(data))
    assert [type(item) for item in parsed] == [ParsedRecord, ParsedRecord]
    frame = read_header(bytes(data))
    assert frame is not None and frame.header.cdr_count == 5


VALID = file_of([cdr("voice_mo"), cdr("voice_mt"), cdr("sms_mo"), cdr("sms_mt"), cdr("data")])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8).map(
            lambda edits: _mutate(VALID, edits)
        ),
        st.integers(0, len(VALID)).map(lambda n: VALID[:n]),
    )
)
def test_parse_file_never_raises(data: bytes) -> None:
    items = parse(data)
    assert all(isinstance(item, ParsedRecord | RejectedRecord) for item in items)
    numbers = [item.record_number for item in items]
    assert numbers == sorted(set(numbers))


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    mutated = bytearray(data)
    for position, value in edits:
        mutated[position] = value
    return bytes(mutated)


def test_decode_rate() -> None:
    kinds = ["voice_mo", "voice_mt", "sms_mo", "sms_mt", "data"]
    items: list[MobileCdr | bytes] = [
        cdr("data", charging_id=i) if i % 5 == 4 else cdr(kinds[i % 5], call_reference=i)
        for i in range(5000)
    ]
    data = file_of(items)
    started = time.perf_counter()
    parsed = parse(data)
    elapsed = time.perf_counter() - started
    assert len(parsed) == 5000
    assert all(isinstance(item, ParsedRecord) for item in parsed)
    print(f"\nts32298_ber parse_file: {len(parsed) / elapsed:,.0f} records/s")
