from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.mediation.opensips_flatstore import (
    CGRATES_EXTRAS,
    FlatstoreLayout,
    LayoutError,
    Parser,
    make_parser,
    parse_file,
)
from pipelines.mediation.records import PARSER_COLUMNS, FileContext, ParsedRecord, RejectedRecord
from pipelines.schema import RejectReason

FIXTURE = Path(__file__).parents[1] / "fixtures" / "opensips" / "acc_cgrates_layout.log"
SAMPLES = Path(__file__).parents[3] / "shared" / "samples" / "opensips"
SUCCESSFUL = SAMPLES / "cgrates_flatstore_fullSuccessfull.psv"
MISSED = SAMPLES / "cgrates_flatstore_fullMissed.psv"
CONTEXT = FileContext("acc_1.log", "osips-01", "America/Chicago")
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/samples is absent")

Item = ParsedRecord | RejectedRecord


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(data: bytes, parser: Parser = parse_file) -> list[Item]:
    return list(parser(data, CONTEXT))


def outcome(item: Item) -> object:
    return item.reason if isinstance(item, RejectedRecord) else "parsed"


def line(
    method: str = "INVITE",
    tags: tuple[str, str] = ("f1", "t1"),
    code: str = "200",
    reason: str = "OK",
    time: str = "1720000000",
    caller: str = "13125550101",
    destination: str = "12125550199",
    callid: str = "c1@h",
) -> str:
    """One line of the CGRateS layout; BYEs leave the extras empty, as in the samples."""
    extras = [""] * 4 + ["1:1"]
    if method == "INVITE":
        extras = ["*prepaid", caller, destination, "", "1:1"]
    return "|".join([method, *tags, callid, code, reason, time, *extras])


def lines(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def with_numbers(sample: bytes) -> bytes:
    """The sample with its PBX accounts 1001/1002 given E.164 numbers (312-555-1001/1002).

    The samples' callers and destinations are extensions, which no numbering plan can bill;
    this rewrite keeps every other byte, so pairing, times and causes are the sample's own.
    """
    numbers = {"1001": "13125551001", "1002": "13125551002"}
    out = []
    for row in sample.decode().split("\n"):
        fields = row.split("|")
        if len(fields) == 12:
            fields[8:10] = [numbers.get(value, value) for value in fields[8:10]]
        out.append("|".join(fields))
    return "\n".join(out).encode()


def test_fixture_gives_one_item_per_call_and_per_stray_line() -> None:
    items = parse(FIXTURE.read_bytes())

    # Line 3 is blank; 2 is call 1's BYE, 5 and 6 call 4's re-INVITE and callee BYE,
    # 13 the early-media report of call 14: part of those records, not records of their own.
    assert [(item.record_number, outcome(item)) for item in items] == [
        (1, "parsed"),
        (4, "parsed"),
        (7, RejectReason.UNPAIRED_INVITE),
        (8, RejectReason.UNPAIRED_BYE),
        (9, "parsed"),
        (10, RejectReason.MALFORMED_ROW),  # sip_reason "OK|Done": an unescaped delimiter
        (11, RejectReason.INVALID_TIMESTAMP),  # a wall-clock time, not epoch seconds
        (12, RejectReason.UNPAIRED_BYE),  # the BYE of line 10's malformed INVITE
        (14, "parsed"),
    ]


# Hand-computed: 1720000000 is 2024-07-03 09:46:40 UTC.
FIXTURE_EXPECTED: dict[int, dict[str, object]] = {
    1: dict(
        record_key="call-1@10.0.0.1:a1", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550101", other_party_number="12125550199",
        started_at=utc("2024-07-03 09:46:40"), answered_at=utc("2024-07-03 09:46:40"),
        ended_at=utc("2024-07-03 09:47:45"), duration_seconds=65, is_answered=True,
        release_cause="normal",
    ),
    # Re-INVITE at +30 s is part of the call; the callee's BYE (tags b2|a2) ends it at +90 s.
    4: dict(
        record_key="call-2@10.0.0.1:a2", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550102", other_party_number="447700900123",
        started_at=utc("2024-07-03 09:48:20"), answered_at=utc("2024-07-03 09:48:20"),
        ended_at=utc("2024-07-03 09:49:50"), duration_seconds=90, is_answered=True,
        release_cause="normal",
    ),
    9: dict(
        record_key="call-4@10.0.0.1:a4", served_msisdn="13125550104",
        other_party_number="13125550105", started_at=utc("2024-07-03 09:53:20"),
        answered_at=None, ended_at=utc("2024-07-03 09:53:20"), duration_seconds=0,
        is_answered=False, release_cause="sip:486 Busy Here",
    ),
    14: dict(
        record_key="call-7@10.0.0.1:a7", served_msisdn="13125550107",
        other_party_number="13125550108", started_at=utc("2024-07-03 09:57:05"),
        answered_at=None, ended_at=utc("2024-07-03 09:57:05"), duration_seconds=0,
        is_answered=False, release_cause="sip:480 Temporarily Unavailable",
    ),
}  # fmt: skip


def test_fixture_calls_have_the_values_computed_by_hand() -> None:
    parsed = [item for item in parse(FIXTURE.read_bytes()) if isinstance(item, ParsedRecord)]
    assert [item.record_number for item in parsed] == sorted(FIXTURE_EXPECTED)
    for item in parsed:
        expected = FIXTURE_EXPECTED[item.record_number]
        assert set(item.values) == set(PARSER_COLUMNS)
        assert {key: item.values[key] for key in expected} == expected, item.record_number
        assert item.values["service"] == "voice"
        assert item.values["record_type"] == "voice_mo"
        assert item.values["incoming_trunk_group"] is None
        assert item.values["outgoing_trunk_group"] is None
        assert (item.values["served_imsi"], item.values["served_imei"], item.values["cell_id"]) == (
            None,
            None,
            None,
        )
        assert item.values["uplink_bytes"] == item.values["data_volume_bytes"] == 0


def test_fixture_rejects_keep_every_line_of_their_record() -> None:
    text = FIXTURE.read_text().split("\n")
    rejects = {
        item.record_number: item
        for item in parse(FIXTURE.read_bytes())
        if isinstance(item, RejectedRecord)
    }
    assert {number: item.raw_text for number, item in rejects.items()} == {
        number: text[number - 1] for number in (7, 8, 10, 11, 12)
    }
    assert rejects[7].detail == (
        "answered call without BYE in this file; pairing across files comes with "
        "partial-record correlation"
    )
    assert rejects[10].detail == "13 fields; the layout has 12"
    assert rejects[11].detail == "time '2024-07-03 09:55:00' is not epoch seconds"


@needs_samples
def test_successful_sample_pairs_four_calls_with_their_bye_times() -> None:
    items = parse(with_numbers(SUCCESSFUL.read_bytes()))

    # Hand-computed from the sample: 1436454408 is 2015-07-09 15:06:48 UTC (as the CGRateS
    # test says); each duration is the BYE's time minus the INVITE's.
    expected = [
        (1, "dd0c4c617a9919d29a6175cdff223a9e@0:0:0:0:0:0:0:0:2daec40c", "13125551001",
         "13125551002", "2015-07-09 15:06:48", "2015-07-09 15:06:50", 2),
        (3, "214d8f52b566e33a9349b184e72a4cca@0:0:0:0:0:0:0:0:f9d3d5c3", "13125551002",
         "13125551001", "2015-07-09 15:10:47", "2015-07-09 15:10:51", 4),
        (5, "3a63321dd3b325eec688dc2aefb6ac2d@0:0:0:0:0:0:0:0:36e39a5", "13125551001",
         "13125551002", "2015-07-09 15:10:57", "2015-07-09 15:11:01", 4),
        (7, "a58ebaae40d08d6757d8424fb09c4c54@0:0:0:0:0:0:0:0:3111f3c9", "13125551001",
         "13125551002", "2015-07-09 15:11:30", "2015-07-09 15:11:32", 2),
    ]  # fmt: skip
    assert all(isinstance(item, ParsedRecord) for item in items)
    assert [
        (
            item.record_number,
            item.values["record_key"],
            item.values["served_msisdn"],
            item.values["other_party_number"],
            item.values["answered_at"],
            item.values["ended_at"],
            item.values["duration_seconds"],
        )
        for item in items
        if isinstance(item, ParsedRecord)
    ] == [
        (number, key, served, other, utc(start), utc(end), seconds)
        for number, key, served, other, start, end, seconds in expected
    ]
    for item in items:
        assert isinstance(item, ParsedRecord)
        assert item.values["started_at"] == item.values["answered_at"]
        assert item.values["is_answered"] is True
        assert item.values["release_cause"] == "normal"


@needs_samples
def test_missed_sample_gives_three_unanswered_calls_with_their_sip_codes() -> None:
    items = parse(with_numbers(MISSED.read_bytes()))

    assert [
        (
            item.record_number,
            item.values["release_cause"],
            item.values["started_at"],
            item.values["served_msisdn"],
            item.values["other_party_number"],
        )
        for item in items
        if isinstance(item, ParsedRecord)
    ] == [
        (1, "sip:487 Request Terminated", utc("2015-07-09 15:10:43"), "13125551001", "13125551002"),
        (2, "sip:404 Not Found", utc("2015-07-09 15:11:08"), "13125551001", "13125551002"),
        (3, "sip:486 Busy here", utc("2015-07-09 15:11:27"), "13125551002", "13125551001"),
    ]
    for item in items:
        assert isinstance(item, ParsedRecord)
        assert item.values["answered_at"] is None
        assert item.values["ended_at"] == item.values["started_at"]
        assert (item.values["duration_seconds"], item.values["is_answered"]) == (0, False)


@needs_samples
@pytest.mark.parametrize(("sample", "numbers"), [(SUCCESSFUL, [1, 3, 5, 7]), (MISSED, [1, 2, 3])])
def test_samples_as_written_reject_every_call_for_its_extension_numbers(
    sample: Path, numbers: list[int]
) -> None:
    items = parse(sample.read_bytes())

    # 1001 and 1002 are PBX extensions, not E.164 numbers: nothing can be billed, and each
    # rejected call keeps its INVITE and BYE lines.
    assert [(item.record_number, outcome(item)) for item in items] == [
        (number, RejectReason.INVALID_NUMBER) for number in numbers
    ]
    raw = [item.raw_text for item in items if isinstance(item, RejectedRecord)]
    assert "\n".join(raw) == sample.read_text().rstrip("\n")


def test_empty_and_blank_files_are_one_whole_file_reject() -> None:
    for data in (b"", b"\n\r\n  \n"):
        assert [(item.record_number, outcome(item)) for item in parse(data)] == [
            (0, RejectReason.EMPTY_FILE)
        ]


def test_bye_before_its_invite_in_the_file_still_pairs() -> None:
    # Per-process files concatenated: lines need not be in time order.
    items = parse(lines(line("BYE", time="1720000010"), line(time="1720000000")))
    assert [(item.record_number, outcome(item)) for item in items] == [(2, "parsed")]
    assert isinstance(items[0], ParsedRecord)
    assert items[0].values["duration_seconds"] == 10


def test_first_bye_ends_the_call_and_later_ones_join_it() -> None:
    items = parse(
        lines(
            line(time="1720000000"),
            line("BYE", ("t1", "f1"), time="1720000012"),
            line(
                "BYE", time="1720000011", code="481", reason="Call Leg/Transaction Does Not Exist"
            ),
        )
    )
    assert len(items) == 1 and isinstance(items[0], ParsedRecord)
    assert items[0].values["duration_seconds"] == 11
    assert items[0].values["release_cause"] == "bye:481 Call Leg/Transaction Does Not Exist"


def test_bye_of_an_unanswered_call_and_a_stray_early_media_line_are_rejected_alone() -> None:
    items = parse(
        lines(
            line(code="487", reason="Request Terminated"),
            line("BYE", time="1720000005"),
            line(code="183", reason="Session Progress", callid="c2@h"),
        )
    )
    assert [(item.record_number, outcome(item)) for item in items] == [
        (1, "parsed"),
        (2, RejectReason.UNPAIRED_BYE),
        (3, RejectReason.UNPAIRED_INVITE),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (line(method="CANCEL"), RejectReason.UNSUPPORTED_RECORD_TYPE),
        (line(code="2OO"), RejectReason.MALFORMED_ROW),
        (line(code="700"), RejectReason.MALFORMED_ROW),
        (line(time="-5"), RejectReason.INVALID_TIMESTAMP),
        (line(time="0"), RejectReason.INVALID_TIMESTAMP),
        (line(time="99999999999999999999"), RejectReason.INVALID_TIMESTAMP),
        (line(callid=""), RejectReason.MISSING_FIELD),
        (line(tags=("", "t1")), RejectReason.MISSING_FIELD),
        (line(code="404", destination=""), RejectReason.MISSING_FIELD),
        (line(code="404", caller="alice"), RejectReason.INVALID_NUMBER),
    ],
)
def test_bad_lines_and_calls_say_why(row: str, reason: RejectReason) -> None:
    items = parse(lines(row))
    assert [(item.record_number, outcome(item)) for item in items] == [(1, reason)]


def test_bye_time_before_the_answer_is_an_invalid_timestamp() -> None:
    items = parse(lines(line(time="1720000000"), line("BYE", time="1719999999")))
    assert [(item.record_number, outcome(item)) for item in items] == [
        (1, RejectReason.INVALID_TIMESTAMP)
    ]


def test_invalid_utf8_rejects_only_its_line() -> None:
    data = lines(line(code="404")) + b"INVITE|\xff|x\n"
    assert [(item.record_number, outcome(item)) for item in parse(data)] == [
        (1, "parsed"),
        (2, RejectReason.INVALID_ENCODING),
    ]


def test_inbound_calls_come_from_configured_peers_and_setup_time_starts_the_call() -> None:
    layout = FlatstoreLayout(
        extras=("caller", "callee", "source_ip", "setuptime"),
        caller="caller",
        destination="callee",
        setup_seconds="setuptime",
        peer="source_ip",
        inbound_peers=frozenset({"198.51.100.7"}),
    )
    parser = make_parser(layout)
    head = "INVITE|f{n}|t{n}|c{n}@h|200|OK|1720000000|"
    data = lines(
        head.format(n=1) + "anonymous|13125550101|198.51.100.7|7",
        "BYE|f1|t1|c1@h|200|OK|1720000060||||",
        head.format(n=2) + "13125550101|12125550199|10.0.0.9|3",
        "BYE|t2|f2|c2@h|200|OK|1720000030||||",
    )
    items = parse(data, parser)
    assert all(isinstance(item, ParsedRecord) for item in items)
    inbound, outbound = (item.values for item in items if isinstance(item, ParsedRecord))
    assert (inbound["direction"], inbound["record_type"]) == ("inbound", "voice_mt")
    assert (inbound["served_msisdn"], inbound["other_party_number"]) == ("13125550101", None)
    assert inbound["incoming_trunk_group"] == "198.51.100.7"
    assert inbound["started_at"] == utc("2024-07-03 09:46:33")  # 7 s before the answer
    assert inbound["duration_seconds"] == 60
    assert (outbound["direction"], outbound["served_msisdn"]) == ("outbound", "13125550101")
    assert outbound["started_at"] == utc("2024-07-03 09:46:37")
    assert outbound["incoming_trunk_group"] is None


@pytest.mark.parametrize(
    "layout",
    [
        FlatstoreLayout(caller="cgr_subject"),
        FlatstoreLayout(extras=("time", *CGRATES_EXTRAS)),
        FlatstoreLayout(inbound_peers=frozenset({"trunk-a"})),
        FlatstoreLayout(delimiter="||"),
    ],
)
def test_unusable_layouts_fail_at_construction(layout: FlatstoreLayout) -> None:
    with pytest.raises(LayoutError):
        make_parser(layout)


def _sample_lines() -> list[str]:
    if not SAMPLES.is_dir():
        return [line(), line("BYE", time="1720000009"), line(code="486", callid="c2@h")]
    return [row for path in (SUCCESSFUL, MISSED) for row in path.read_text().splitlines()]


def _mutate(row: str, position: int, text: str, cut: int) -> str:
    position %= len(row) + 1
    return row[:position] + text + row[position + cut :]


mutated_lines = st.builds(
    _mutate,
    st.sampled_from(_sample_lines()),
    st.integers(0, 200),
    st.text(alphabet="|0123456789ABYEINV\n \xe9", max_size=4),
    st.integers(0, 3),
)


def _check_items(data: bytes) -> None:
    items = parse(data)
    assert items and all(isinstance(item, ParsedRecord | RejectedRecord) for item in items)
    numbers = [item.record_number for item in items]
    assert len(numbers) == len(set(numbers))
    if numbers != [0]:
        line_count = len(data.split(b"\n"))
        assert all(1 <= number <= line_count for number in numbers)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check_items(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(mutated_lines, max_size=12), st.booleans())
def test_mutated_sample_lines_never_raise(rows: list[str], crlf: bool) -> None:
    _check_items(("\r\n" if crlf else "\n").join(rows).encode())
